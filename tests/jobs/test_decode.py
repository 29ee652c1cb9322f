"""jobs/decode.py: probing, sampled decoding with both backends, defences, chunk planning.

Tests marked by `media(...)` read the real videos in ../shared/media and skip without them; the
self-made-video tests write their own files with PyAV from scikit-image's photos.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest

from jobs.decode import (
    DEFAULT_BACKEND,
    FrameBatch,
    VideoDecodeError,
    VideoInfo,
    iter_sampled_frames,
    plan_chunks,
    probe,
)
from tests.conftest import media as shared_media

SHARED_MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media"
BACKENDS = ["pyav", "decord"]


def media(relative: str) -> Path:
    return shared_media(relative)  # skips outside CI, fails in it


def sample_all(path, *, backend: str = "pyav", sample_fps: float = 2.0, start: int = 0,
               end: int | None = None, batch_size: int = 8, max_side: int | None = None):
    end = probe(path).duration_millis if end is None else end
    stamps: list[int] = []
    frames: list[np.ndarray] = []
    for batch in iter_sampled_frames(path, start_millis=start, end_millis=end, sample_fps=sample_fps,
                                     batch_size=batch_size, backend=backend, max_side=max_side):
        assert isinstance(batch, FrameBatch)
        assert batch.frames.dtype == np.uint8
        assert batch.frames.ndim == 4 and batch.frames.shape[3] == 3
        assert batch.frames.shape[0] == len(batch.timestamps_millis) <= batch_size
        stamps.extend(batch.timestamps_millis)
        frames.extend(batch.frames)
    return stamps, frames


# --- self-made videos (no shared media needed) -------------------------------------------------

SIZE = 128  # astronaut and coffee, both shrunk to 128x128 so every codec accepts them


def _photo(name: str) -> np.ndarray:
    from skimage import data
    from skimage.transform import resize

    image = getattr(data, name)()
    side = min(image.shape[:2])
    image = image[:side, :side]  # square crop, then shrink
    return (resize(image, (SIZE, SIZE), anti_aliasing=True) * 255).round().astype(np.uint8)


def _write(path: Path, scenes: list[tuple[np.ndarray, int]], *, fps: int = 10, codec: str = "libx264",
           pts_millis: list[int] | None = None) -> Path:
    """Write (photo, frame count) scenes; pts_millis gives explicit (variable) frame times."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        if pts_millis is not None:
            stream.time_base = Fraction(1, 1000)
            stream.codec_context.time_base = Fraction(1, 1000)
        index = 0
        for image, count in scenes:
            for _ in range(count):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                if pts_millis is not None:
                    frame.pts = pts_millis[index]
                    frame.time_base = Fraction(1, 1000)
                else:
                    frame.pts = index
                    frame.time_base = Fraction(1, fps)
                container.mux(stream.encode(frame))
                index += 1
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {"astronaut": _photo("astronaut"), "coffee": _photo("coffee")}


@pytest.fixture(scope="module")
def photo_video(tmp_path_factory, photos) -> Path:
    """4 s at 10 fps, H.264: the astronaut for 2 s, then the coffee cup for 2 s."""
    path = tmp_path_factory.mktemp("decode") / "astronaut_coffee.mp4"
    return _write(path, [(photos["astronaut"], 20), (photos["coffee"], 20)])


def _closest(frame: np.ndarray, photos: dict[str, np.ndarray]) -> str:
    return min(photos, key=lambda name: np.abs(frame.astype(int) - photos[name].astype(int)).mean())


def test_probe_self_made_video(photo_video):
    info = probe(photo_video)
    assert isinstance(info, VideoInfo)
    assert info.codec == "h264"
    assert info.format_name == "QuickTime / MOV"
    assert (info.width, info.height) == (SIZE, SIZE)
    assert info.frame_rate == pytest.approx(10.0)
    assert info.duration_millis == pytest.approx(4000, abs=100)
    assert info.size_bytes == photo_video.stat().st_size
    assert info.frame_count_hint in (None, 40)


@pytest.mark.parametrize("backend", BACKENDS)
def test_self_made_video_timestamps_and_content(photo_video, photos, backend):
    stamps, frames = sample_all(photo_video, backend=backend, batch_size=3)
    assert stamps == [0, 500, 1000, 1500, 2000, 2500, 3000, 3500]
    assert [_closest(f, photos) for f in frames] == ["astronaut"] * 4 + ["coffee"] * 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_span_bounds_are_half_open(photo_video, backend):
    stamps, _ = sample_all(photo_video, backend=backend, start=1000, end=3000)
    assert stamps == [1000, 1500, 2000, 2500]
    # a mid-GOP start seeks back to a keyframe and discards the frames before the start
    stamps, _ = sample_all(photo_video, backend=backend, sample_fps=10, start=1250, end=1700)
    assert stamps == [1300, 1400, 1500, 1600]


def test_chunked_decoding_matches_whole_file(photo_video):
    whole, _ = sample_all(photo_video)
    chunked: list[int] = []
    for start, end in plan_chunks(probe(photo_video).duration_millis, 1500):
        chunked += sample_all(photo_video, start=start, end=end)[0]
    assert chunked == whole


def test_max_side_downscales_keeping_aspect(tmp_path, photos):
    wide = np.concatenate([photos["astronaut"], photos["coffee"]], axis=1)  # 128x256
    path = tmp_path / "wide.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 2 * SIZE, SIZE, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(wide, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    for backend in BACKENDS:
        _, frames = sample_all(path, backend=backend, max_side=64)
        assert frames[0].shape == (32, 64, 3)
        _, frames = sample_all(path, backend=backend, max_side=1000)  # never upscales
        assert frames[0].shape == (SIZE, 2 * SIZE, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_variable_frame_rate_uses_real_frame_times(tmp_path, photos, backend):
    times = [0, 100, 150, 400, 1000, 1050, 1700, 2300, 2350, 2900]
    path = _write(tmp_path / "vfr.mp4", [(photos["astronaut"], 5), (photos["coffee"], 5)],
                  pts_millis=times)
    stamps, frames = sample_all(path, backend=backend)
    # instants 0, 500, 1000, ... take the first frame at or after each; 1700 also covers 1500
    assert stamps == [0, 1000, 1700, 2300, 2900]
    assert [_closest(f, photos) for f in frames] == ["astronaut", "astronaut", "coffee", "coffee", "coffee"]


def test_text_file_renamed_mp4_is_rejected(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("This is a shopping list, not a video.\n" * 100)
    with pytest.raises(VideoDecodeError, match="not a video PyAV/FFmpeg can read"):
        probe(path)
    with pytest.raises(VideoDecodeError):
        sample_all(path, end=10_000)


def test_empty_file_is_rejected(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoDecodeError, match="empty"):
        probe(path)


def test_truncated_self_made_video_is_rejected(tmp_path, photo_video):
    data = photo_video.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError):
        probe(path)


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "tone.m4a"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        samples = (np.sin(np.arange(16000) / 10) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        container.mux(stream.encode(None))
    with pytest.raises(VideoDecodeError, match="no video stream"):
        probe(path)


def test_missing_file_is_not_a_decode_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "absent.mp4")


def test_bad_arguments(photo_video):
    with pytest.raises(ValueError, match="backend"):
        list(iter_sampled_frames(photo_video, start_millis=0, end_millis=1000, sample_fps=2, batch_size=4,
                                 backend="opencv"))
    with pytest.raises(ValueError):
        list(iter_sampled_frames(photo_video, start_millis=0, end_millis=1000, sample_fps=0, batch_size=4))
    assert list(iter_sampled_frames(photo_video, start_millis=1000, end_millis=1000, sample_fps=2,
                                    batch_size=4)) == []
    assert DEFAULT_BACKEND == "pyav"


# --- chunk planning -------------------------------------------------------------------------------


def test_plan_chunks():
    assert plan_chunks(30_160, 10_000) == [(0, 10_000), (10_000, 20_000), (20_000, 30_000), (30_000, 30_160)]
    assert plan_chunks(20_000, 10_000) == [(0, 10_000), (10_000, 20_000)]
    assert plan_chunks(999, 120_000) == [(0, 999)]
    assert plan_chunks(1, 1) == [(0, 1)]
    assert plan_chunks(0, 5_000) == [(0, 5_000)]
    assert plan_chunks(-1, 5_000) == [(0, 5_000)]
    with pytest.raises(ValueError):
        plan_chunks(10_000, 0)


@pytest.mark.parametrize("duration,chunk", [(30_160, 7_000), (1, 120_000), (120_000, 120_000), (7_201, 3)])
def test_plan_chunks_covers_contiguously(duration, chunk):
    spans = plan_chunks(duration, chunk)
    assert spans[0][0] == 0 and spans[-1][1] == duration
    assert all(a[1] == b[0] for a, b in pairwise(spans))
    assert all(0 < end - start <= chunk for start, end in spans)


# --- real media ---------------------------------------------------------------------------------


def test_probe_car_detection():
    path = media("traffic/intel_car-detection.mp4")
    info = probe(path)
    assert info.codec == "h264"
    assert (info.width, info.height) == (768, 432)
    assert info.frame_rate == pytest.approx(12.5)
    assert info.duration_millis == pytest.approx(30_000, abs=300)
    assert info.size_bytes == path.stat().st_size
    assert info.format_name == "QuickTime / MOV"
    assert info.color_range == "LIMITED"


def test_color_range_of_full_range_mjpeg():
    assert probe(media("containers/derived_dog_mjpeg.avi")).color_range == "FULL"


def test_two_fps_sampling_of_car_detection():
    path = media("traffic/intel_car-detection.mp4")
    stamps, frames = sample_all(path)
    assert 58 <= len(stamps) <= 62
    gaps = np.diff(stamps)
    assert (gaps > 0).all()
    assert np.abs(gaps - 500).max() <= 80  # one frame at 12.5 fps
    # each sample is the first frame at or after its instant: within one frame after it
    for k, stamp in enumerate(stamps):
        assert 500 * k <= stamp < 500 * k + 80
    assert frames[0].shape == (432, 768, 3)


def test_backends_agree_on_car_detection():
    path = media("traffic/intel_car-detection.mp4")
    pyav, pyav_frames = sample_all(path, backend="pyav", max_side=256)
    dec, dec_frames = sample_all(path, backend="decord", max_side=256)
    assert len(pyav) == len(dec)
    assert max(abs(a - b) for a, b in zip(pyav, dec)) <= 80  # within one frame
    assert pyav_frames[0].shape == dec_frames[0].shape == (144, 256, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vfr_file_gives_real_frame_times(backend):
    path = media("containers/derived_dog_vfr_h264.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        real = [round(float(p.pts * stream.time_base) * 1000) for p in container.demux(stream) if p.pts is not None]
    stamps, _ = sample_all(path, backend=backend)
    assert set(stamps) <= set(real)  # every timestamp is some frame's real presentation time
    nominal_fps = probe(path).frame_rate
    index_times = {round(i * 1000 / nominal_fps) for i in range(len(real))}
    assert not set(stamps) <= index_times  # index x nominal fps would not give these
    assert all(0 <= s - 500 * k < 130 for k, s in enumerate(stamps))  # gaps are at most 120 ms


@pytest.mark.parametrize("name,codec", [
    ("derived_dog_hevc_libx265.mp4", "hevc"),
    ("derived_dog_vp9.webm", "vp9"),
    ("derived_dog_mjpeg.avi", "mjpeg"),
    ("derived_dog_mpeg4_xvid.avi", "mpeg4"),
    ("intel_asl_thanks.mkv", "h264"),
])
def test_other_codecs_and_containers(name, codec):
    path = media(f"containers/{name}")
    info = probe(path)
    assert info.codec == codec
    assert info.duration_millis > 1000 and info.width > 0 and info.height > 0
    for backend in BACKENDS:
        stamps, frames = sample_all(path, backend=backend)
        assert len(stamps) == pytest.approx(info.duration_millis / 500, abs=1)
        assert frames[0].shape == (info.height, info.width, 3)
        assert frames[0].std() > 5  # a real picture, not a blank frame


def test_multistream_file_picks_default_stream():
    path = media("containers/torchcodec_nasa_13013_multistream_subs.mp4")
    info = probe(path)
    assert (info.width, info.height) == (480, 270)
    assert info.frame_rate == pytest.approx(29.97, abs=0.01)
    for backend in BACKENDS:
        stamps, frames = sample_all(path, backend=backend, end=3000)
        assert frames[0].shape == (270, 480, 3)
        assert len(stamps) == 6


def test_stream_start_offset_counts_from_first_frame():
    path = media("faces/short_hamilton_clip.mp4")  # video starts 0.85 s into the container
    pyav, _ = sample_all(path, backend="pyav")
    dec, _ = sample_all(path, backend="decord")
    assert pyav[0] == 0 and len(pyav) == len(dec)
    assert max(abs(a - b) for a, b in zip(pyav, dec)) <= 34


def test_truncated_real_video_is_rejected(tmp_path):
    data = media("traffic/intel_car-detection.mp4").read_bytes()
    for fraction in (0.5, 0.9):
        path = tmp_path / f"cut_{fraction}.mp4"
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(VideoDecodeError, match="truncated"):
            probe(path)


def test_truncated_avi_is_rejected(tmp_path):
    data = media("containers/derived_dog_mpeg4_xvid.avi").read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match="truncated"):
        probe(path)


def test_raw_elementary_stream_without_seeking_or_timestamps(tmp_path, photos):
    """A raw .h264 stream has no container timestamps and cannot seek; spans still decode."""
    path = tmp_path / "raw.h264"
    with av.open(str(path), mode="w", format="h264") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(photos["astronaut" if i < 20 else "coffee"], format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe(path)
    assert info.duration_millis > 0 and info.frame_count_hint is None
    whole, _ = sample_all(path, end=info.duration_millis)
    assert whole[0] == 0 and all(b > a for a, b in pairwise(whole))
    middle, _ = sample_all(path, start=500, end=1200)
    assert middle == [t for t in whole if 500 <= t < 1200] and middle

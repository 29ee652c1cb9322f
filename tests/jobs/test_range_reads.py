"""Videos read in place from S3 (moto's server, in this process) by range requests: probing
reads the headers and the tail, a chunk its span, and both see what a local copy shows."""
from __future__ import annotations

import av
import boto3
import numpy as np
import pytest

from jobs import storage
from jobs.decode import VideoDecodeError, iter_frames, probe
from tests.conftest import clear_caches


@pytest.fixture(scope="module")
def big_video(tmp_path_factory):
    """90 s of noise at 5 fps in Matroska: 5.8 MB that does not compress, 450 distinct frames."""
    path = tmp_path_factory.mktemp("range") / "noise.mkv"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuvj420p"
        for _ in range(450):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def s3(framewise_env, monkeypatch, big_video):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    url = f"http://127.0.0.1:{server._server.server_port}"
    monkeypatch.delenv("FRAMEWISE_BUCKET_ROOT")
    monkeypatch.setenv("FRAMEWISE_S3_ENDPOINT_URL", url)
    monkeypatch.setenv("FRAMEWISE_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("FRAMEWISE_S3_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(storage.RangeReader, "BLOCK", 64 * 1024)  # the video is about 90 blocks
    clear_caches()
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket="videos")
    client.upload_file(str(big_video), "videos", "noise.mkv")
    yield client
    server.stop()
    monkeypatch.undo()
    clear_caches()


class Counting(storage.RemoteVideo):
    """A RemoteVideo that keeps its readers, to count what they fetched."""

    readers: list

    def open(self):
        reader = super().open()
        self.readers.append(reader)
        return reader


def _remote(tmp_path) -> Counting:
    with storage.open_video(storage.VideoRef("videos", "noise.mkv"), tmp_path / "cache", ranged=True) as video:
        counting = Counting(video.ref, video.size, video.etag)
    counting.readers = []
    return counting


def _fetched(video: Counting) -> int:
    return sum(r.requests for r in video.readers) * storage.RangeReader.BLOCK


def test_probing_reads_only_the_headers_and_the_tail(s3, big_video, tmp_path):
    video = _remote(tmp_path)
    assert probe(video) == probe(big_video)
    assert _fetched(video) < 0.15 * video.size, f"{_fetched(video)} of {video.size} bytes"
    assert not (tmp_path / "cache" / "video").exists(), "no copy downloaded"


def test_a_span_decodes_in_place_as_it_does_from_a_copy(s3, big_video, tmp_path):
    video = _remote(tmp_path)

    def frames(source):
        batches = iter_frames(source, start_millis=60_000, end_millis=64_000, rates={"a": 2.0}, batch_size=4,
                              backend="pyav", max_side=None)
        return [(b.timestamps_millis, b.frames) for b in batches]

    remote, local = frames(video), frames(big_video)
    assert [t for t, _ in remote] == [t for t, _ in local]
    assert sum(len(t) for t, _ in local) == 8, "2 fps over 4 s"
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(remote, local, strict=True))
    assert _fetched(video) < 0.2 * video.size, f"the span and the index, not {_fetched(video)} of {video.size}"


def test_an_object_overwritten_mid_job_is_refused_not_mixed(s3, tmp_path):
    video = _remote(tmp_path)
    s3.put_object(Bucket="videos", Key="noise.mkv", Body=b"something else entirely")
    with pytest.raises((storage.InvalidS3Object, VideoDecodeError)):
        probe(video)

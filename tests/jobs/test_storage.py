"""The local bucket root never lets a name reach outside <root>/<Bucket>."""
from __future__ import annotations

import os

import pytest

from jobs import storage
from jobs.errors import InvalidS3Object
from jobs.settings import Settings


@pytest.fixture()
def bucket_root(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "videos" / "sub").mkdir(parents=True)
    (root / "videos" / "sub" / "clip.mp4").write_bytes(b"x" * 10)
    (root / "other").mkdir()
    (root / "other" / "secret.mp4").write_bytes(b"s")
    (tmp_path / "outside.mp4").write_bytes(b"o")
    os.symlink(tmp_path / "outside.mp4", root / "videos" / "link.mp4")
    monkeypatch.setattr(storage, "get_settings", lambda: Settings(bucket_root=root))
    return root


def test_reads_inside_the_bucket(bucket_root, tmp_path):
    ref = storage.VideoRef("videos", "sub/clip.mp4")
    assert storage.head(ref).size_bytes == 10
    with storage.open_local(ref, tmp_path / "cache") as path:
        assert path == (bucket_root / "videos" / "sub" / "clip.mp4").resolve()


@pytest.mark.parametrize("name", ["../other/secret.mp4", "sub/../../other/secret.mp4", "/etc/passwd",
                                  "link.mp4", "sub//clip.mp4", "./sub/clip.mp4", "sub\\clip.mp4"])
def test_refuses_names_that_leave_the_bucket(bucket_root, name):
    with pytest.raises(InvalidS3Object):
        storage.head(storage.VideoRef("videos", name))


def test_missing_object(bucket_root):
    with pytest.raises(InvalidS3Object):
        storage.head(storage.VideoRef("videos", "nope.mp4"))


@pytest.mark.parametrize("bucket", ["..", ".", "videos/.."])
def test_refuses_buckets_outside_the_root(bucket_root, bucket):
    with pytest.raises(InvalidS3Object):
        storage.head(storage.VideoRef(bucket, "videos/sub/clip.mp4"))

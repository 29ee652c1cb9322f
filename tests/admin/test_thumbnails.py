"""Frames for the filmstrip: one decoded frame at a time, cached on disk, pruned when unused."""
from __future__ import annotations

import io
import secrets
import shutil
import time

from PIL import Image

from jobs.records import Job
from tests.conftest import media
from web.admin import thumbnails


def test_a_frame_is_decoded_once_then_served_from_the_cache(framewise_env):
    bucket = framewise_env.bucket_root / "unit"
    shutil.copy(media("objects/pexels_dog_eating_854132.mp4"), bucket / "thumb-dog.mp4")
    job = Job(id=secrets.token_hex(32), video_bucket="unit", video_name="thumb-dog.mp4", video_version=None)

    data = thumbnails.frame_jpeg(job, 2000, 320)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (320, 180)
    cached = framewise_env.video_cache_dir / "admin" / job.id / "2000_320.jpg"
    assert cached.read_bytes() == data
    (bucket / "thumb-dog.mp4").unlink()  # served from the cache now, without the video
    assert thumbnails.frame_jpeg(job, 2000, 320) == data
    assert Image.open(io.BytesIO(thumbnails.frame_jpeg(job, 2000, 320))).size == (320, 180)

    assert thumbnails.prune(now=time.time()) == []
    assert thumbnails.prune(now=time.time() + thumbnails.KEEP_SECONDS + 60) == [job.id]
    assert not cached.exists()


def test_no_frame_after_the_end(framewise_env):
    bucket = framewise_env.bucket_root / "unit"
    shutil.copy(media("objects/pexels_dog_eating_854132.mp4"), bucket / "thumb-end.mp4")
    job = Job(id=secrets.token_hex(32), video_bucket="unit", video_name="thumb-end.mp4", video_version=None)
    assert thumbnails.frame_jpeg(job, 60_000, 320) is None

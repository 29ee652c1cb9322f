"""One frame of a job's video at a timestamp, as a JPEG: decoded from storage with the engine's
own PyAV decoder (jobs.decode), never through a model. Frames are cached on disk by
(job, millisecond, width); a video in S3 is read in place by range requests (or, with
FRAMEWISE_CHUNK_RANGE_READS=false, fetched once per job into the same folder).
A job's folder is removed a day after its frames were last asked for."""
from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from jobs.decode import iter_frames
from jobs.records import Job
from jobs.settings import get_settings
from jobs.storage import VideoRef, open_video

KEEP_SECONDS = 24 * 3600  # a job's cached frames (and video copy) after their last use
PRUNE_EVERY_SECONDS = 3600
WIDTHS = (320, 640, 1280)  # the sizes asked for; a fixed set keeps the cache bounded
SEARCH_MILLIS = 1000  # the first frame at or after t, within this window


# One decode at a time per job in this process: a filmstrip asks for two dozen frames at once, and
# the first of them fetches the video; the others wait for that copy rather than fetch their own.
_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


_last_prune = 0.0


def _root() -> Path:
    return get_settings().video_cache_dir / "admin"


def _cache_dir(job: Job) -> Path:
    return _root() / job.id


def prune(now: float | None = None) -> list[str]:
    """Remove the folders of jobs whose frames nobody asked for in KEEP_SECONDS; their names."""
    now = now or time.time()
    removed = []
    if _root().is_dir():
        for folder in _root().iterdir():
            if folder.is_dir() and now - folder.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
    return removed


def _prune_now_and_then() -> None:
    global _last_prune
    if time.monotonic() - _last_prune > PRUNE_EVERY_SECONDS:
        _last_prune = time.monotonic()
        prune()


def frame_jpeg(job: Job, millis: int, width: int) -> bytes | None:
    """The JPEG of the first frame at or after `millis`, or None when the video has none there."""
    _prune_now_and_then()
    cached = _cache_dir(job) / f"{millis}_{width}.jpg"
    if cached.is_file():
        os.utime(cached.parent)  # in use: not pruned for another day
        return cached.read_bytes()
    ref = VideoRef(job.video_bucket, job.video_name, job.video_version)
    # From S3, read by range requests: a thumbnail costs its frames' bytes, not the whole video.
    with _locks[job.id], open_video(ref, _cache_dir(job), ranged=get_settings().chunk_range_reads) as path:
        batches = iter_frames(path, start_millis=millis, end_millis=millis + SEARCH_MILLIS, rates={"": None},
                              batch_size=1, backend="pyav", max_side=width)
        try:
            batch = next(batches, None)
        finally:
            batches.close()  # closes the container now, not when the generator is collected
    if batch is None or not len(batch):
        return None
    image = Image.fromarray(batch.frames[0])
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    data = out.getvalue()
    # Written whole then renamed: a concurrent reader sees all or nothing.
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=cached.parent, prefix=".partial-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, cached)
    return data

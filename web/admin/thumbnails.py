"""One frame of a job's video at a timestamp, as a JPEG: decoded from storage with the engine's
own PyAV decoder (jobs.decode), never through a model. Frames are cached on disk by
(job, millisecond, width); the video itself is fetched once per job into the video cache."""
from __future__ import annotations

import io
import os
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

from PIL import Image

from jobs.decode import iter_frames
from jobs.records import Job
from jobs.settings import get_settings
from jobs.storage import VideoRef, open_local

WIDTHS = (320, 640, 1280)  # the sizes asked for; a fixed set keeps the cache bounded
SEARCH_MILLIS = 1000  # the first frame at or after t, within this window


# One decode at a time per job in this process: a filmstrip asks for two dozen frames at once, and
# the first of them fetches the video; the others wait for that copy rather than fetch their own.
_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def _cache_dir(job: Job) -> Path:
    return get_settings().video_cache_dir / "admin" / job.id


def frame_jpeg(job: Job, millis: int, width: int) -> bytes | None:
    """The JPEG of the first frame at or after `millis`, or None when the video has none there."""
    cached = _cache_dir(job) / f"{millis}_{width}.jpg"
    if cached.is_file():
        return cached.read_bytes()
    ref = VideoRef(job.video_bucket, job.video_name, job.video_version)
    with _locks[job.id], open_local(ref, _cache_dir(job)) as path:
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

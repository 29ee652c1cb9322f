"""Where videos come from: an S3 API (any S3-compatible endpoint) read with the service's own
credentials, or, in embedded mode, a local bucket root laid out as <root>/<Bucket>/<Name>."""
from __future__ import annotations

import collections
import contextlib
import functools
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

from jobs.errors import InvalidS3Object
from jobs.settings import get_settings
from jobs.transient import StorageUnavailable, is_transient_s3


@dataclass(frozen=True)
class VideoRef:
    bucket: str
    name: str
    version: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    size_bytes: int


def _local_path(ref: VideoRef) -> Path:
    """The file for a reference under the bucket root, refusing anything that leaves it."""
    root = get_settings().bucket_root.resolve()
    if ref.version:
        raise InvalidS3Object("Object versions are not supported by the local bucket root.")
    name = ref.name
    if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidS3Object("Request has invalid S3 object.")
    try:
        bucket = (root / ref.bucket).resolve()
        candidate = (bucket / name).resolve()  # follows symlinks, then checks
        candidate.stat()  # a name this file system cannot hold (too long) fails here, not later
    except FileNotFoundError:
        pass  # absent: the callers say so
    except (OSError, ValueError) as error:  # ENAMETOOLONG, ELOOP, an embedded NUL
        raise InvalidS3Object("Request has invalid S3 object.") from error
    if bucket.parent != root or not candidate.is_relative_to(bucket):
        raise InvalidS3Object("Request has invalid S3 object.")
    return candidate


@functools.cache
def _s3_client():
    settings = get_settings()
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 4},
                                      connect_timeout=10, read_timeout=60),
    )


def _version_args(ref: VideoRef) -> dict:
    return {"VersionId": ref.version} if ref.version else {}


def head(ref: VideoRef) -> ObjectInfo:
    """The object's size, or InvalidS3Object when it does not exist or cannot be read."""
    if get_settings().bucket_root is not None:
        path = _local_path(ref)
        if not path.is_file() or not os.access(path, os.R_OK):
            raise InvalidS3Object()
        return ObjectInfo(size_bytes=path.stat().st_size)
    with _s3_errors():
        response = _s3_client().head_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))
    return ObjectInfo(size_bytes=int(response["ContentLength"]))


@contextlib.contextmanager
def _s3_errors():
    """S3's answers as ours: the object's fault is InvalidS3Object, the store's (5xx, throttling,
    unreachable) is StorageUnavailable, which callers retry."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        if is_transient_s3(error):
            raise StorageUnavailable(f"storage answered {error.response.get('Error', {}).get('Code')}") from error
        raise InvalidS3Object() from error
    except botocore.exceptions.ParamValidationError as error:
        raise InvalidS3Object() from error
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as error:
        raise StorageUnavailable(f"storage is unreachable: {type(error).__name__}") from error


def read_object(ref: VideoRef, *, max_bytes: int) -> bytes:
    """A small object's bytes (an image), or InvalidS3Object / ImageTooLarge."""
    from jobs.errors import ImageTooLarge

    size = head(ref).size_bytes
    if size > max_bytes:
        raise ImageTooLarge(f"The image is {size} bytes; the limit for S3 images is {max_bytes} bytes.")
    if get_settings().bucket_root is not None:
        return _local_path(ref).read_bytes()
    with _s3_errors():
        body = _s3_client().get_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))["Body"]
        return body.read(max_bytes + 1)


def write_object(ref: VideoRef, data: bytes) -> None:
    """Store a small object (a trained model's files, an evaluation summary) at `ref`."""
    if get_settings().bucket_root is not None:
        path = _local_path(ref)
        if not path.parent.is_relative_to(get_settings().bucket_root.resolve() / ref.bucket):
            raise InvalidS3Object("Request has invalid S3 object.")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)  # readers see the old file or the new one, never half
        return
    with _s3_errors():
        _s3_client().put_object(Bucket=ref.bucket, Key=ref.name, Body=data)


@contextlib.contextmanager
def open_local(ref: VideoRef, cache_dir: Path):
    """Yield a local file path for the video: the file itself under a bucket root, otherwise a
    copy downloaded once into cache_dir (kept for the job's other chunks on this machine)."""
    if get_settings().bucket_root is not None:
        path = _local_path(ref)
        if not path.is_file():
            raise InvalidS3Object()
        yield path
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / "video"
    if target.exists():
        os.utime(cache_dir)  # recently used: evicted last
    else:
        with _s3_errors():
            size = _s3_client().head_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))["ContentLength"]
        make_room(cache_dir.parent, int(size), keep=cache_dir)
        fd, partial = tempfile.mkstemp(dir=cache_dir, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out, _s3_errors():
                body = _s3_client().get_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))["Body"]
                shutil.copyfileobj(body, out, length=1024 * 1024)
            os.replace(partial, target)  # atomic: a concurrent chunk sees all or nothing
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
    yield target


@contextlib.contextmanager
def open_video(ref: VideoRef, cache_dir: Path, *, ranged: bool):
    """Yield what the decoder opens: a local path (bucket root, or a downloaded copy), or, with
    `ranged` and an S3 store, a RemoteVideo read by HTTP range requests, so that probing reads
    only the headers and the tail, and a chunk only its span (plus the index), of a 10 GB video."""
    if not ranged or get_settings().bucket_root is not None or (cache_dir / "video").exists():
        with open_local(ref, cache_dir) as path:
            yield path
        return
    with _s3_errors():
        head = _s3_client().head_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))
    yield RemoteVideo(ref, int(head["ContentLength"]), head.get("ETag"))


@dataclass(frozen=True)
class RemoteVideo:
    """An S3 object the decoder reads in place (jobs.decode opens anything with .open()). Its
    readers share the last blocks fetched: probing opens the file twice, and reads its start twice."""

    ref: VideoRef
    size: int
    etag: str | None = None
    blocks: collections.OrderedDict = field(default_factory=collections.OrderedDict, compare=False, repr=False)

    def open(self) -> RangeReader:
        return RangeReader(self)


class RangeReader(io.RawIOBase):
    """A seekable file over an S3 object: whole blocks are fetched by range request and the
    last few kept, so FFmpeg's small reads and seeks cost a request per block, not per read."""

    BLOCK = 1024 * 1024
    KEEP = 16

    def __init__(self, video: RemoteVideo):
        super().__init__()
        self.video, self.pos = video, 0
        self.blocks: collections.OrderedDict[int, bytes] = video.blocks
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.video.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _block(self, index: int) -> bytes:
        if index in self.blocks:
            self.blocks.move_to_end(index)
            return self.blocks[index]
        start = index * self.BLOCK
        end = min(self.video.size, start + self.BLOCK) - 1
        ref = self.video.ref
        # Pinned to what was probed: an object overwritten mid-job fails (412), never mixes.
        pin = {"VersionId": ref.version} if ref.version else ({"IfMatch": self.video.etag} if self.video.etag else {})
        with _s3_errors():
            data = _s3_client().get_object(Bucket=ref.bucket, Key=ref.name, Range=f"bytes={start}-{end}",
                                           **pin)["Body"].read()
        self.requests += 1
        self.blocks[index] = data
        if len(self.blocks) > self.KEEP:
            self.blocks.popitem(last=False)
        return data

    def readinto(self, buffer) -> int:
        if self.pos >= self.video.size:
            return 0
        block = self._block(self.pos // self.BLOCK)
        offset = self.pos % self.BLOCK
        n = min(len(buffer), len(block) - offset)
        buffer[:n] = block[offset:offset + n]
        self.pos += n
        return n


def drop_cache(cache_dir: Path) -> None:
    shutil.rmtree(cache_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The video cache: <data dir>/videos/<job id>/video on every host that analysed one of the job's
# chunks. Bounded in size, and swept on every host (a job's last chunk runs on one host only).


def _entries(root: Path) -> list[tuple[float, int, Path]]:
    """(last use, bytes, folder) for each cached job, least recently used first."""
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
            found.append((folder.stat().st_mtime, size, folder))
        except OSError:
            continue  # dropped meanwhile
    return sorted(found)


def make_room(root: Path, incoming: int, keep: Path | None = None) -> None:
    """Evict least recently used videos until `incoming` more bytes fit under the bound."""
    bound = get_settings().video_cache_max_bytes
    entries = _entries(root)
    total = sum(size for _, size, _ in entries)
    for _, size, folder in entries:
        if total + incoming <= bound:
            break
        if folder != keep:
            drop_cache(folder)
            total -= size


_last_sweep = 0.0
SWEEP_EVERY_SECONDS = 60.0


def sweep_cache(force: bool = False) -> int:
    """Drop this host's copies of videos whose job has ended or is gone (and any over the
    bound); run by every worker process beside its heartbeat. Returns folders dropped."""
    import time

    from sqlalchemy import select

    from jobs.database import session_scope
    from jobs.records import Job, Phase

    global _last_sweep
    if not force and time.monotonic() - _last_sweep < SWEEP_EVERY_SECONDS:
        return 0
    _last_sweep = time.monotonic()
    root = get_settings().video_cache_dir
    entries = _entries(root)
    if not entries:
        return 0
    names = [folder.name for _, _, folder in entries]
    with session_scope() as session:
        open_jobs = set(session.scalars(select(Job.id).where(
            Job.id.in_(names), Job.phase.in_([p.value for p in Phase if not p.finished]))))
    recent = time.time() - 60  # a folder made a moment ago may belong to a job not yet visible
    dropped = 0
    for used, _, folder in entries:
        if folder.name not in open_jobs and used < recent:
            drop_cache(folder)
            dropped += 1
    make_room(root, 0)
    return dropped

"""Where videos come from: an S3 API (any S3-compatible endpoint) read with the service's own
credentials, or, in embedded mode, a local bucket root laid out as <root>/<Bucket>/<Name>."""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

from jobs.errors import InvalidS3Object
from jobs.settings import get_settings


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
    bucket = (root / ref.bucket).resolve()
    candidate = (bucket / name).resolve()  # follows symlinks, then checks
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
    try:
        response = _s3_client().head_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))
    except (botocore.exceptions.ClientError, botocore.exceptions.ParamValidationError) as error:
        raise InvalidS3Object() from error
    except botocore.exceptions.BotoCoreError as error:  # endpoint unreachable: not the caller's fault
        raise ConnectionError(f"S3 is unreachable: {error}") from error
    return ObjectInfo(size_bytes=int(response["ContentLength"]))


def read_object(ref: VideoRef, *, max_bytes: int) -> bytes:
    """A small object's bytes (an image), or InvalidS3Object / ImageTooLarge."""
    from jobs.errors import ImageTooLarge

    size = head(ref).size_bytes
    if size > max_bytes:
        raise ImageTooLarge(f"The image is {size} bytes; the limit for S3 images is {max_bytes} bytes.")
    if get_settings().bucket_root is not None:
        return _local_path(ref).read_bytes()
    try:
        body = _s3_client().get_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))["Body"]
        return body.read(max_bytes + 1)
    except botocore.exceptions.ClientError as error:
        raise InvalidS3Object() from error


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
    if not target.exists():
        fd, partial = tempfile.mkstemp(dir=cache_dir, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                body = _s3_client().get_object(Bucket=ref.bucket, Key=ref.name, **_version_args(ref))["Body"]
                shutil.copyfileobj(body, out, length=1024 * 1024)
            os.replace(partial, target)  # atomic: a concurrent chunk sees all or nothing
        except botocore.exceptions.ClientError as error:
            raise InvalidS3Object() from error
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
    yield target


def drop_cache(cache_dir: Path) -> None:
    shutil.rmtree(cache_dir, ignore_errors=True)

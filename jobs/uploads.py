"""Videos sent through the REST API: streamed to a temporary file in bounded chunks (the size
limit is enforced while reading, never after), sniffed from their first bytes, then put where
jobs read videos from (the local bucket root, or the S3 endpoint) under the tenant's prefix."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

import filetype

from jobs.errors import InvalidParameter, VideoTooLarge
from jobs.settings import get_settings

# Containers the decoder reads (Rekognition takes MP4 and MOV; AVI, Matroska and WebM decode too).
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/x-msvideo", "video/x-matroska", "video/webm",
               "video/x-m4v", "video/mpeg"}
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    bucket: str
    name: str
    size_bytes: int
    content_type: str


def _too_large(limit: int) -> VideoTooLarge:
    return VideoTooLarge(f"The upload is more than the maximum limit of: {limit} bytes.")


def store(account: str, stream: BinaryIO, *, declared_length: int | None) -> Stored:
    settings = get_settings()
    limit = settings.max_video_bytes
    if declared_length is not None and declared_length > limit:
        raise _too_large(limit)  # refuse before reading a byte
    settings.video_cache_dir.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=settings.video_cache_dir, prefix=".upload-")
    try:
        size = 0
        head = b""
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                if len(head) < 8192:
                    head += chunk[:8192 - len(head)]
                out.write(chunk)
        kind = filetype.guess(head)
        if size == 0 or kind is None or kind.mime not in VIDEO_TYPES:
            raise InvalidParameter("The upload is not a video container Framewise reads (MP4, MOV, AVI, MKV, WebM).")
        name = f"{account}/{secrets.token_hex(16)}.{kind.extension}"
        _put(partial, settings.upload_bucket, name)
        return Stored(settings.upload_bucket, name, size, kind.mime)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _put(path: str, bucket: str, name: str) -> None:
    settings = get_settings()
    if settings.bucket_root is not None:
        target = settings.bucket_root / bucket / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        return
    import boto3.exceptions
    import botocore.exceptions

    from jobs.storage import _s3_client

    try:
        _s3_client().upload_file(path, bucket, name)
    except (boto3.exceptions.S3UploadFailedError, botocore.exceptions.ClientError) as error:
        if "NoSuchBucket" not in str(error):
            raise
        _s3_client().create_bucket(Bucket=bucket)  # the first upload makes the uploads bucket
        _s3_client().upload_file(path, bucket, name)

"""Rekognition's synchronous image calls (DetectLabels, DetectFaces, …), run on the workers.

The web tier never loads a model (it does not import torch): it checks the image (≤ 5 MB of
bytes, JPEG or PNG by its magic bytes), sends one Celery task to the image queue, served by its
own worker so a call never waits behind a video chunk, and waits for the reply on the result
backend (Redis: the operator's or the embedded one). The worker decodes the image, runs the
operation's function with the same Inference the video engine uses, and replies with the
response body or a Rekognition error.

An image operation is declared once, where its analysis lives:

    @image_operation("DetectLabels")
    def detect_labels(image: np.ndarray, params: dict, infer) -> dict: ...
"""
from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable

import numpy as np
from sqlalchemy.orm import Session

from jobs import errors
from jobs.operations import operation
from jobs.settings import get_settings

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Image.Bytes, decoded (the model's ImageBlob max)
MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024  # Image.S3Object
MAX_PIXELS = 64_000_000  # refuse decompression bombs before decoding them

# name -> function run on the worker: (RGB uint8 image (H, W, 3), params, infer) -> response body
_FUNCTIONS: dict[str, Callable] = {}


def worker_function(name: str):
    """Register `function` to run on the image worker under `name` without making it an operation:
    the worker half of an operation whose web half also needs the database (IndexFaces computes
    vectors here, then stores them on the web side)."""

    def register(function: Callable) -> Callable:
        _FUNCTIONS[name] = function
        return function

    return register


def image_operation(name: str):
    """Register `function` to run on the image worker, and the operation `name` on the web tier."""

    def register(function: Callable) -> Callable:
        _FUNCTIONS[name] = function
        operation(name)(lambda session, account, params: call(session, account, name, params))
        return function

    return register


# ---------------------------------------------------------------------------------------------
# web side


def sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def image_input(params: dict, key: str = "Image") -> dict:
    """The request's image as a task argument: {"bytes": base64} or {"s3": {...}}, checked."""
    image = params.get(key) or {}
    if ("Bytes" in image) == ("S3Object" in image):
        raise errors.InvalidParameter(f"{key} must have exactly one of Bytes or S3Object.")
    if "S3Object" in image:
        s3 = image["S3Object"]
        if not s3.get("Bucket") or not s3.get("Name"):
            raise errors.InvalidParameter(f"{key}.S3Object must name a Bucket and a Name.")
        return {"s3": {"Bucket": s3["Bucket"], "Name": s3["Name"], "Version": s3.get("Version")}}
    encoded = image["Bytes"]
    if not isinstance(encoded, str):
        raise errors.InvalidParameter(f"{key}.Bytes must be base64 text.")
    if len(encoded) > (MAX_IMAGE_BYTES + 2) // 3 * 4 + 4:
        raise errors.ImageTooLarge()
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidImageFormat("Image.Bytes is not valid base64.") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise errors.ImageTooLarge()
    if not data:
        raise errors.InvalidParameter(f"{key}.Bytes is empty.")
    if sniff_format(data) is None:
        raise errors.InvalidImageFormat()
    return {"bytes": encoded}


def call(session: Session, account: str, name: str, params: dict) -> dict:
    """Run image operation `name` on an image worker and return its response (or raise its error)."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    from jobs.tasks import run_image

    session.close()  # never hold a database connection while a worker runs a model
    inputs = {key: image_input(params, key) for key in ("Image", "SourceImage", "TargetImage") if key in params}
    rest = {k: v for k, v in params.items() if k not in inputs}
    pending = run_image.apply_async(args=[name, rest, inputs], expires=get_settings().image_timeout_seconds)
    try:
        reply = pending.get(timeout=get_settings().image_timeout_seconds, disable_sync_subtasks=False)
    except CeleryTimeout:
        pending.forget()
        raise errors.ServiceUnavailable("No image worker answered in time; try again.") from None
    finally:
        pending.forget()
    if "error" in reply:
        error_class = errors.by_code(reply["error"]["code"])
        raise error_class(reply["error"]["message"])
    return reply["body"]


# ---------------------------------------------------------------------------------------------
# worker side


def decode_image(data: bytes) -> np.ndarray:
    """JPEG/PNG bytes -> RGB uint8 (H, W, 3), or InvalidImageFormat."""
    from PIL import Image, UnidentifiedImageError

    if sniff_format(data) is None:
        raise errors.InvalidImageFormat()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise errors.InvalidImageFormat(f"The image is {image.width}x{image.height}: too many pixels.")
            if min(image.width, image.height) < 1:
                raise errors.InvalidImageFormat()
            return np.ascontiguousarray(np.asarray(image.convert("RGB")))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise errors.InvalidImageFormat(f"The image could not be decoded: {error}") from error


def _image_bytes(source: dict) -> bytes:
    from jobs.storage import VideoRef, read_object

    if "bytes" in source:
        return base64.b64decode(source["bytes"])
    s3 = source["s3"]
    return read_object(VideoRef(s3["Bucket"], s3["Name"], s3.get("Version")), max_bytes=MAX_S3_IMAGE_BYTES)


def run(name: str, params: dict, inputs: dict, inference) -> dict:
    """The worker's half: decode each image, run the operation. Returns {"body"} or {"error"}."""
    from jobs import analyses  # registers every analysis's image operations

    analyses.registry()
    function = _FUNCTIONS.get(name)
    try:
        if function is None:
            raise errors.InvalidParameter(f"{name} is not an image operation this worker knows.")
        images = {key: decode_image(_image_bytes(source)) for key, source in inputs.items()}
        inference.new_batch()
        return {"body": function(images, params, inference)}
    except errors.ServiceError as error:
        return {"error": {"code": error.code, "message": error.message}}

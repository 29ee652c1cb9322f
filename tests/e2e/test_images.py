"""Synchronous image calls over HTTP from unmodified boto3, answered by the image worker."""
from __future__ import annotations

import io
import time

import pytest

from tests.e2e.conftest import BUCKET

pytestmark = pytest.mark.e2e


def _png(array) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_detect_labels_from_bytes_and_from_s3(stack):
    from skimage import data

    client = stack.client()
    answer = client.detect_labels(Image={"Bytes": _png(data.astronaut())})
    assert answer["Labels"][0]["Name"] == "Person" and answer["Labels"][0]["Confidence"] > 90
    assert answer["LabelModelVersion"]
    answer = client.detect_labels(Image={"Bytes": _png(data.chelsea())})
    names = {label["Name"] for label in answer["Labels"]}
    assert "Cat" in names and "Dog" not in names
    stack.s3().put_object(Bucket=BUCKET, Key="images/motorcycle.png", Body=_png(data.stereo_motorcycle()[0]))
    answer = client.detect_labels(Image={"S3Object": {"Bucket": BUCKET, "Name": "images/motorcycle.png"}},
                                  Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"])
    assert "Motorcycle" in {label["Name"] for label in answer["Labels"]}
    assert 0 < answer["ImageProperties"]["Quality"]["Brightness"] < 100


def test_image_errors_in_rekognition_shape(stack):
    client = stack.client()
    with pytest.raises(client.exceptions.InvalidImageFormatException):
        client.detect_labels(Image={"Bytes": b"GIF89a this is not a JPEG or a PNG"})
    with pytest.raises(client.exceptions.ImageTooLargeException):
        client.detect_labels(Image={"Bytes": b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)})
    with pytest.raises(client.exceptions.InvalidS3ObjectException):
        client.detect_labels(Image={"S3Object": {"Bucket": BUCKET, "Name": "images/none.png"}})
    with pytest.raises(client.exceptions.InvalidImageFormatException):  # a PNG header on garbage
        client.detect_labels(Image={"Bytes": b"\x89PNG\r\n\x1a\n" + b"garbage" * 100})


def test_image_calls_do_not_wait_behind_video_chunks(stack, photo_video):
    """The image worker is its own process: a DetectLabels call answers while a video job runs."""
    from skimage import data

    client = stack.client()
    job_id = client.start_label_detection(Video=stack.upload(photo_video, "images/busy.mp4"))["JobId"]
    started = time.monotonic()
    client.detect_labels(Image={"Bytes": _png(data.coffee())})
    assert time.monotonic() - started < 20
    stack.wait_for_job(client, job_id)

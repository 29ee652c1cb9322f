"""Text detection on a real clip and on photos, with the real PP-OCRv6 model."""
from __future__ import annotations

import numpy as np

from jobs import images
from jobs.engine import Inference
from tests.jobs.vision_jobs import get, run_job

SIGN = "cuts_text/vfe_text_lightbox_sign.mp4"  # a lightbox reading "#BLACK LIVES MATTER"


def _words(items: list[dict]) -> set[str]:
    return {i["TextDetection"]["DetectedText"].upper().strip("#") for i in items
            if i["TextDetection"]["Type"] == "WORD"}


def test_the_sign_is_read_with_lines_words_and_geometry(framewise_env):
    job_id = run_job(framewise_env, SIGN, {"text": {}}, SampleFps=0.25)
    answer = get("text", job_id)
    assert answer["JobStatus"] == "SUCCEEDED", answer.get("StatusMessage")
    assert answer["TextModelVersion"] == "rapidocr-3.10.0-ppocrv6-small"
    items = answer["TextDetections"]
    assert {"BLACK", "LIVES", "MATTER"} <= _words(items)
    timestamps = [i["Timestamp"] for i in items]
    assert timestamps == sorted(timestamps)
    for timestamp in set(timestamps):
        frame = [i["TextDetection"] for i in items if i["Timestamp"] == timestamp]
        lines = {d["Id"] for d in frame if d["Type"] == "LINE"}
        assert [d["Id"] for d in frame] == list(range(len(frame))), "Ids restart per frame: lines, then words"
        assert all(d["ParentId"] in lines for d in frame if d["Type"] == "WORD")
        assert all("ParentId" not in d for d in frame if d["Type"] == "LINE")
        for d in frame:
            box = d["Geometry"]["BoundingBox"]
            assert 0 <= box["Left"] <= 1 and 0 < box["Width"] <= 1 and len(d["Geometry"]["Polygon"]) == 4
            assert d["Confidence"] >= 80, "WordFilter.MinConfidence defaults to 80"


def test_filters_region_of_interest_and_word_size(framewise_env):
    everything = get("text", run_job(framewise_env, SIGN, {"text": {}}, SampleFps=0.1))["TextDetections"]
    words = [i["TextDetection"] for i in everything if i["TextDetection"]["Type"] == "WORD"]
    tallest = max(w["Geometry"]["BoundingBox"]["Height"] for w in words)
    # Only the top of the frame (the sign's three lines fill its height): lower words are dropped.
    top = {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 1.0, "Height": 0.45}}
    kept = get("text", run_job(framewise_env, SIGN, {"text": {"Filters": {"RegionsOfInterest": [top]}}},
                               SampleFps=0.1))["TextDetections"]
    kept_words = [i["TextDetection"]["Geometry"]["BoundingBox"] for i in kept if i["TextDetection"]["Type"] == "WORD"]
    assert kept_words and len(kept) < len(everything)
    assert all(box["Top"] + box["Height"] / 2 < 0.45 for box in kept_words), "more than half of each word inside"
    big = {"WordFilter": {"MinBoundingBoxHeight": tallest + 0.01}}
    assert get("text", run_job(framewise_env, SIGN, {"text": {"Filters": big}}, SampleFps=0.1))["TextDetections"] == []


def test_detect_text_on_a_frame_of_the_sign(models_dir):
    import base64
    import io

    import av
    from PIL import Image

    from tests.conftest import media

    with av.open(str(media(SIGN))) as container:
        frame = next(f for k, f in enumerate(container.decode(video=0)) if k == 250).to_ndarray(format="rgb24")
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG")
    body = images.run("DetectText", {}, {"Image": {"bytes": base64.b64encode(buffer.getvalue()).decode()}},
                      Inference(models_dir, "cpu"))["body"]
    words = {d["DetectedText"].upper().strip("#") for d in body["TextDetections"] if d["Type"] == "WORD"}
    assert {"BLACK", "LIVES", "MATTER"} <= words
    assert body["TextModelVersion"] == "rapidocr-3.10.0-ppocrv6-small"
    blank = np.full((200, 300, 3), 255, np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blank).save(buffer, format="PNG")
    body = images.run("DetectText", {}, {"Image": {"bytes": base64.b64encode(buffer.getvalue()).decode()}},
                      Inference(models_dir, "cpu"))["body"]
    assert body["TextDetections"] == []

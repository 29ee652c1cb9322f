"""Idempotency, limits, authentication and errors, seen through boto3's own exception classes."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from tests.e2e.conftest import MAX_CONCURRENT_JOBS, MAX_VIDEO_BYTES, TENANT_A, TENANT_B

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def photo_ref(stack, photo_video):
    return stack.upload(photo_video, "contract/photos.mp4")


def test_same_token_same_params_returns_the_same_job(stack, photo_ref):
    client = stack.client()
    token = "idem-" + secrets.token_hex(6)
    first = client.start_label_detection(Video=photo_ref, ClientRequestToken=token, JobTag="a")["JobId"]
    again = client.start_label_detection(Video=photo_ref, ClientRequestToken=token, JobTag="a")["JobId"]
    assert first == again
    with stack.engine().connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM jobs WHERE client_token = %s", (token,)).scalar()
    assert count == 1
    with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
        client.start_label_detection(Video=photo_ref, ClientRequestToken=token, JobTag="b")
    # The same token is another tenant's own business.
    other = stack.client(TENANT_B).start_label_detection(Video=photo_ref, ClientRequestToken=token, JobTag="a")
    assert other["JobId"] != first
    stack.wait_for_job(client, first)
    stack.wait_for_job(stack.client(TENANT_B), other["JobId"])


def test_concurrent_job_limit(stack, photo_ref):
    client = stack.client(TENANT_B, retries={"mode": "standard", "max_attempts": 1})
    started = []
    with pytest.raises(client.exceptions.LimitExceededException) as caught:
        for _ in range(MAX_CONCURRENT_JOBS + 1):
            started.append(client.start_label_detection(Video=photo_ref)["JobId"])
    assert len(started) <= MAX_CONCURRENT_JOBS
    assert f"Maximum limit: {MAX_CONCURRENT_JOBS}" in caught.value.response["Error"]["Message"]
    for job_id in started:
        assert stack.wait_for_job(client, job_id)["JobStatus"] == "SUCCEEDED"


def test_parallel_starts_never_overshoot_the_limit(stack, photo_ref):
    from concurrent.futures import ThreadPoolExecutor

    client = stack.client(TENANT_B, retries={"mode": "standard", "max_attempts": 1})

    def start(_):
        try:
            return client.start_label_detection(Video=photo_ref)["JobId"]
        except client.exceptions.LimitExceededException:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(start, range(8)))
    started = [job_id for job_id in outcomes if job_id]
    assert len(started) == MAX_CONCURRENT_JOBS, outcomes
    for job_id in started:
        assert stack.wait_for_job(client, job_id)["JobStatus"] == "SUCCEEDED"


def test_missing_object_is_an_invalid_s3_object(stack):
    client = stack.client()
    with pytest.raises(client.exceptions.InvalidS3ObjectException):
        client.start_label_detection(Video={"S3Object": {"Bucket": "framewise-e2e", "Name": "no/such.mp4"}})
    with pytest.raises(client.exceptions.InvalidS3ObjectException):
        client.start_label_detection(Video={"S3Object": {"Bucket": "no-such-bucket", "Name": "x.mp4"}})


def test_too_large_video(stack, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (MAX_VIDEO_BYTES + 1))
    client = stack.client()
    with pytest.raises(client.exceptions.VideoTooLargeException) as caught:
        client.start_label_detection(Video=stack.upload(big, "contract/big.mp4"))
    assert str(MAX_VIDEO_BYTES) in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize("params", [
    {"JobTag": "spaces are not allowed"},
    {"MinConfidence": 101},
    {"Features": ["NOT_A_FEATURE"]},
    {"NotificationChannel": {"SNSTopicArn": "not-an-arn", "RoleArn": "arn:aws:iam::123456789012:role/x"}},
])
def test_invalid_parameters(stack, photo_ref, params):
    client = stack.client()
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.start_label_detection(Video=photo_ref, **params)


def test_get_errors(stack, photo_ref):
    client = stack.client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_label_detection(JobId="0" * 64)
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.get_label_detection(JobId="not valid!")
    job_id = client.start_label_detection(Video=photo_ref)["JobId"]
    # Another tenant cannot see it at all.
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        stack.client(TENANT_B).get_label_detection(JobId=job_id)
    stack.wait_for_job(client, job_id)
    with pytest.raises(client.exceptions.InvalidPaginationTokenException):
        client.get_label_detection(JobId=job_id, NextToken="forged-token")
    first = client.get_label_detection(JobId=job_id, MaxResults=1)
    assert "NextToken" in first
    with pytest.raises(client.exceptions.InvalidPaginationTokenException):  # bound to its sort order
        client.get_label_detection(JobId=job_id, NextToken=first["NextToken"], SortBy="NAME")


def test_unsigned_or_wrongly_signed_requests_are_refused(stack):
    bad = stack.client((TENANT_A[0], "not-the-secret"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        bad.get_label_detection(JobId="0" * 64)
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    stranger = stack.client(("AKIDUNKNOWN000000000", "whatever"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        stranger.get_label_detection(JobId="0" * 64)
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    request = urllib.request.Request(stack.url + "/", data=b"{}", method="POST", headers={
        "X-Amz-Target": "RekognitionService.GetLabelDetection", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request)
    body = json.loads(http_error.value.read())
    assert body["__type"] == "MissingAuthenticationTokenException"


def test_unknown_and_unbuilt_operations_answer_in_the_error_shape(stack):
    client = stack.client()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_stream_processors()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "ListStreamProcessors" in caught.value.response["Error"]["Message"]
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(stack.url + "/no/such/page")
    assert json.loads(http_error.value.read())["__type"] == "UnknownOperationException"


@pytest.mark.parametrize("content, reason", [
    (b"this is a text file, not a video\n" * 20, "not a video"),
    ("truncated", "truncated"),
])
def test_unreadable_videos_fail_with_a_reason(stack, tmp_path, photo_video, content, reason):
    path = tmp_path / f"{reason.replace(' ', '_')}.mp4"
    path.write_bytes(photo_video.read_bytes()[:4000] if content == "truncated" else content)
    client = stack.client()
    job_id = client.start_label_detection(Video=stack.upload(path, f"contract/{path.name}"))["JobId"]
    final = stack.wait_for_job(client, job_id)
    assert final["JobStatus"] == "FAILED"
    assert final["StatusMessage"]
    assert "Labels" not in final


def test_aws_cli_works_unmodified(stack, photo_ref):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": TENANT_A[0], "AWS_SECRET_ACCESS_KEY": TENANT_A[1],
           "AWS_DEFAULT_REGION": "us-east-1"}
    aws = [sys.executable, "-m", "awscli", "rekognition", "--endpoint-url", stack.url, "--output", "json"]
    started = subprocess.run([*aws, "start-label-detection", "--video",
                              json.dumps(photo_ref), "--job-tag", "from-cli"],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["JobId"]
    deadline = time.monotonic() + 300
    while True:
        got = subprocess.run([*aws, "get-label-detection", "--job-id", job_id, "--max-results", "5"],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
        assert got.returncode == 0, got.stderr
        result = json.loads(got.stdout)
        if result["JobStatus"] != "IN_PROGRESS" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert result["JobStatus"] == "SUCCEEDED"
    assert result["JobTag"] == "from-cli"
    assert result["Labels"]
    missing = subprocess.run([*aws, "get-label-detection", "--job-id", "0" * 64], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr

"""The endpoint under hostile requests, in this process against a real PostgreSQL and Redis:
every user-reachable 500 is a 400 in Rekognition's shape, the body's hash and size are checked
before it can do harm, and /healthz answers in milliseconds from worker heartbeats."""
from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY = ("AKIDUNIT000000000001", "unit-secret")


@pytest.fixture(scope="module")
def client(framewise_env):
    from web import create_app

    return create_app().test_client()


def signed(operation: str, payload: bytes, key=KEY, extra: dict | None = None) -> dict:
    request = AWSRequest(method="POST", url="http://localhost/", data=payload, headers={
        "X-Amz-Target": f"RekognitionService.{operation}", "Content-Type": "application/x-amz-json-1.1",
        **(extra or {})})
    SigV4Auth(Credentials(*key), "rekognition", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def raw(client, operation: str, payload: bytes, **kwargs):
    response = client.post("/", data=payload, headers=signed(operation, payload, **kwargs))
    return response.status_code, json.loads(response.data)


def start(name: str) -> bytes:
    return json.dumps({"Video": {"S3Object": {"Bucket": "unit", "Name": name}}}).encode()


@pytest.fixture
def name(framewise_env, photo_video) -> str:
    name = f"hostile-{secrets.token_hex(3)}.mp4"
    shutil.copyfile(photo_video, framewise_env.bucket_root / "unit" / name)
    return name


@pytest.mark.parametrize("payload, code", [
    (start("a\u0000b.mp4"), "InvalidS3ObjectException"),
    (b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "a\\ud800.mp4"}}}', "InvalidS3ObjectException"),
    (start("n" * 300 + ".mp4"), "InvalidS3ObjectException"),  # a valid S3 key, too long for a file name
    (start("x/" * 200 + "v.mp4"), "InvalidS3ObjectException"),
    (b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "v.mp4"}}, "JobTag": "a\\u0000"}',
     "InvalidParameterException"),
    (b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "v.mp4"}}, "MinConfidence": NaN}', "SerializationException"),
    (b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "v.mp4"}}, "MinConfidence": Infinity}',
     "SerializationException"),
    (b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "v.mp4"}}, "MinConfidence": true}',
     "InvalidParameterException"),
    (b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "v.mp4"}}, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     "SerializationException"),
    ((b'{"Video": {"S3Object": {"Bucket": "unit", "Name": "v.mp4"}}, "NotificationChannel": {"SNSTopicArn": '
      b'"arn:aws:sns:us-east-1:123456789012:t\\u0000", "RoleArn": "arn:aws:iam::123456789012:role/r"}}'),
     "InvalidParameterException"),
])
def test_user_reachable_500s_are_400s_in_rekognitions_shape(client, payload, code):
    status, body = raw(client, "StartLabelDetection", payload)
    assert (status, body["__type"]) == (400, code), body
    assert body["Message"] == body["message"]


def test_a_notification_channel_without_an_sns_endpoint_is_refused(client, name):
    payload = json.dumps({"Video": {"S3Object": {"Bucket": "unit", "Name": name}}, "NotificationChannel": {
        "SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:done", "RoleArn": "arn:aws:iam::123456789012:role/r"}})
    status, body = raw(client, "StartLabelDetection", payload.encode())
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert "FRAMEWISE_SNS_ENDPOINT_URL" in body["Message"]


def test_the_body_must_match_its_signed_hash(client, name):
    good = start(name)
    evil = json.dumps({"JobId": "0" * 64}).encode()
    for stated in ("UNSIGNED-PAYLOAD", hashlib.sha256(b"{}").hexdigest()):
        headers = signed("StartLabelDetection", good, extra={"X-Amz-Content-SHA256": stated})
        response = client.post("/", data=evil, headers=headers)
        body = json.loads(response.data)
        assert (response.status_code, body["__type"]) == (400, "InvalidSignatureException"), body
    headers = signed("StartLabelDetection", good, extra={"X-Amz-Content-SHA256": hashlib.sha256(good).hexdigest()})
    assert client.post("/", data=good, headers=headers).status_code == 200, "a true hash is fine"


class Watched:
    """A request body stream of `size` spaces that counts what is read from it."""

    def __init__(self, size: int):
        self.size, self.pos, self.read_bytes = size, 0, 0

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = self.size + offset if whence == 2 else offset
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        self.pos += n
        self.read_bytes += n
        return b" " * n

    def readline(self, *_):
        return self.read(1)


@pytest.mark.parametrize("signed_by", [None, KEY])
def test_a_huge_body_is_refused_before_it_is_read(client, signed_by, framewise_env):
    size = 300 * 1024**2
    headers = signed("GetLabelDetection", b"{}") if signed_by else {
        "X-Amz-Target": "RekognitionService.GetLabelDetection"}
    headers["Content-Length"] = str(size)
    stream = Watched(size)
    response = client.post("/", input_stream=stream, headers=headers)
    body = json.loads(response.data)
    expected = (413, "SerializationException") if signed_by else (403, "MissingAuthenticationTokenException")
    assert (response.status_code, body["__type"]) == expected
    assert stream.read_bytes <= framewise_env.max_request_bytes // 8, "not buffered"


def test_healthz_answers_from_heartbeats_in_milliseconds(client, framewise_env):
    from jobs import heartbeat

    heartbeat._redis().delete(heartbeat.KEY)
    started = time.perf_counter()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["checks"] == {"database": True, "worker": False}
    heartbeat.beat("some-host:1234")
    response = client.get("/healthz")
    took = time.perf_counter() - started
    assert response.status_code == 200 and response.json["checks"]["worker"] is True
    assert took < 0.5, f"two probes took {took:.3f} s"
    heartbeat.beat("some-host:1234", now=time.time() - 600)
    assert client.get("/healthz").status_code == 503, "a worker silent for minutes is gone"
    assert client.get("/livez").status_code == 200


def test_a_body_over_the_cap_for_an_image_call_is_an_image_too_large(client, framewise_env):
    # boto3 users of DetectFaces/IndexFaces/… catch ImageTooLargeException, not a 413
    size = framewise_env.max_request_bytes + 1
    headers = signed("DetectFaces", b"{}")
    headers["Content-Length"] = str(size)
    stream = Watched(size)
    response = client.post("/", input_stream=stream, headers=headers)
    assert (response.status_code, json.loads(response.data)["__type"]) == (400, "ImageTooLargeException")
    assert stream.read_bytes <= framewise_env.max_request_bytes // 8, "not buffered"

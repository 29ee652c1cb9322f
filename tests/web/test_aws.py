"""The AWS JSON endpoint in this process (Flask's test client, requests signed by botocore) against
a real PostgreSQL: the handler table comes from the registry; errors keep Rekognition's shape."""
from __future__ import annotations

import base64
import json
import secrets
import shutil

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from jobs import analyses
from jobs.operations import handlers

KEY = ("AKIDUNIT000000000001", "unit-secret")


@pytest.fixture(scope="module")
def client(framewise_env):
    from web import create_app

    return create_app().test_client()


def call(client, operation: str, body: dict, key=KEY):
    payload = json.dumps(body).encode()
    request = AWSRequest(method="POST", url="http://localhost/", data=payload, headers={
        "X-Amz-Target": f"RekognitionService.{operation}", "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(*key), "rekognition", "us-east-1").add_auth(request)
    response = client.post("/", data=payload, headers=dict(request.headers.items()))
    return response.status_code, json.loads(response.data)


def test_every_registered_analysis_has_its_start_and_get():
    table = handlers()
    for analysis in analyses.registry().values():
        assert analysis.start_op in table and analysis.get_op in table
    assert "DetectLabels" in table


def test_start_then_get_in_progress(client, framewise_env, photo_video):
    name = f"aws-{secrets.token_hex(3)}.mp4"
    shutil.copyfile(photo_video, framewise_env.bucket_root / "unit" / name)
    status, body = call(client, "StartLabelDetection", {"Video": {"S3Object": {"Bucket": "unit", "Name": name}}})
    assert status == 200 and len(body["JobId"]) == 64
    status, body = call(client, "GetLabelDetection", {"JobId": body["JobId"]})
    assert status == 200 and body["JobStatus"] == "IN_PROGRESS" and "Labels" not in body


@pytest.mark.parametrize("operation, body, status, code", [
    ("GetLabelDetection", {"JobId": "0" * 64}, 400, "ResourceNotFoundException"),
    ("GetLabelDetection", {"JobId": "bad id!"}, 400, "InvalidParameterException"),
    ("GetLabelDetection", {"JobId": "0" * 64, "SortBy": "BOGUS"}, 400, "InvalidParameterException"),
    ("StartLabelDetection", {"Video": {"S3Object": {"Bucket": "unit", "Name": "none.mp4"}}}, 400,
     "InvalidS3ObjectException"),
    ("DetectLabels", {"Image": {"Bytes": base64.b64encode(b"GIF89a...").decode()}}, 400,
     "InvalidImageFormatException"),
    ("DetectLabels", {"Image": {"Bytes": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(5 * 2**20)).decode()}},
     400, "ImageTooLargeException"),
    ("ListStreamProcessors", {}, 400, "UnknownOperationException"),
    ("DescribeCollection", {"CollectionId": "no-such-collection"}, 400, "ResourceNotFoundException"),
])
def test_errors_keep_rekognitions_shape(client, operation, body, status, code):
    got_status, got = call(client, operation, body)
    assert (got_status, got["__type"]) == (status, code), got
    assert got["Message"] == got["message"]


def test_bad_signatures_are_refused(client):
    status, body = call(client, "GetLabelDetection", {"JobId": "0" * 64}, key=(KEY[0], "wrong"))
    assert (status, body["__type"]) == (400, "InvalidSignatureException")
    status, body = call(client, "GetLabelDetection", {"JobId": "0" * 64}, key=("AKIDNOBODY0000000000", "x"))
    assert (status, body["__type"]) == (400, "UnrecognizedClientException")

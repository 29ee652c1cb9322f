from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from web.sigv4 import SignatureError, verify

URL = "http://127.0.0.1:8000/"
BODY = b'{"JobId": "abc"}'


def _signed(secret="s3cret", akid="AKIDEXAMPLE", service="rekognition"):
    request = AWSRequest(method="POST", url=URL, data=BODY, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "RekognitionService.GetLabelDetection"})
    SigV4Auth(Credentials(akid, secret), service, "eu-west-1").add_auth(request)
    return {**dict(request.headers.items()), "Host": "127.0.0.1:8000"}  # as it arrives on the wire


def test_botocore_signature_verifies():
    assert verify(method="POST", url=URL, headers=_signed(), body=BODY, secrets={"AKIDEXAMPLE": "s3cret"}) \
        == "AKIDEXAMPLE"


@pytest.mark.parametrize("headers, body, code", [
    (lambda: _signed(secret="wrong"), BODY, "InvalidSignatureException"),
    (lambda: _signed(akid="AKIDOTHER"), BODY, "UnrecognizedClientException"),
    (lambda: _signed(), b'{"JobId": "abd"}', "InvalidSignatureException"),
    (lambda: _signed(service="s3"), BODY, "InvalidSignatureException"),
    (dict, BODY, "MissingAuthenticationTokenException"),
])
def test_refusals(headers, body, code):
    with pytest.raises(SignatureError) as caught:
        verify(method="POST", url=URL, headers=headers(), body=body, secrets={"AKIDEXAMPLE": "s3cret"})
    assert caught.value.code == code

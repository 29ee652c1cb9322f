"""Checking AWS Signature Version 4 on incoming requests, with botocore's own signer.

We rebuild the request from exactly the headers the client says it signed, sign it again with
the secret we hold for its access key id, and compare. The access key id names the tenant.
"""
from __future__ import annotations

import datetime as dt
import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$")
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)


class SignatureError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def verify(*, method: str, url: str, headers: dict[str, str], body: bytes,
           secrets: dict[str, str], service: str = "rekognition") -> str:
    """Return the caller's access key id, or raise SignatureError."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        raise SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTH.match(authorization.strip())
    if not match:
        raise SignatureError("IncompleteSignatureException", "The Authorization header is not a valid SigV4 header.")
    akid = match["akid"]
    secret = secrets.get(akid)
    if secret is None:
        raise SignatureError("UnrecognizedClientException", "The security token included in the request is invalid.")
    if match["service"] != service:
        raise SignatureError("InvalidSignatureException", f"Credential should be scoped to service '{service}'.")
    amz_date = lowered.get("x-amz-date", "")
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SignatureError("IncompleteSignatureException", "X-Amz-Date is missing or malformed.") from None
    if abs(dt.datetime.now(dt.UTC) - signed_at) > MAX_CLOCK_SKEW or not amz_date.startswith(match["date"]):
        raise SignatureError("InvalidSignatureException", "Signature expired or not yet valid: check your clock.")

    signed_names = match["signed"].split(";")
    if "host" not in signed_names:
        raise SignatureError("InvalidSignatureException", "The Host header must be signed.")
    missing = [name for name in signed_names if name not in lowered]
    if missing:
        raise SignatureError("InvalidSignatureException", f"Signed header(s) missing: {', '.join(missing)}")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={name: lowered[name] for name in signed_names})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, secret, lowered.get("x-amz-security-token")), service, match["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("InvalidSignatureException",
                             "The request signature we calculated does not match the signature you provided.")
    return akid

"""Checking AWS Signature Version 4 on incoming requests, with botocore's own signer.

We rebuild the request from exactly the headers the client says it signed, sign it again with
the secret we hold for its access key id, and compare. The access key id names the tenant.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Claimed:
    """What the Authorization header claims, checked as far as it can be without the body."""

    akid: str
    secret: str
    region: str
    amz_date: str
    signed_names: list[str]
    signature: str
    headers: dict[str, str]  # lower-cased


def check_headers(headers: dict[str, str], secrets: dict[str, str], service: str = "rekognition") -> Claimed:
    """Everything SigV4 checks before the body is read: a caller without a known key, a fresh
    date and a well-formed header never gets its body read (nor its size buffered)."""
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
    return Claimed(akid, secret, match["region"], amz_date, signed_names, match["signature"], lowered)


def check_body(claimed: Claimed, *, method: str, url: str, body: bytes, service: str = "rekognition") -> str:
    """Check the signature over the body; return the caller's access key id."""
    # The signature covers x-amz-content-sha256 when the client sends it, not the body itself:
    # an UNSIGNED-PAYLOAD or stale hash would let any body ride on a valid signature.
    stated = claimed.headers.get("x-amz-content-sha256")
    if stated is not None and not hmac.compare_digest(stated.lower(), hashlib.sha256(body).hexdigest()):
        raise SignatureError("InvalidSignatureException",
                             "The x-amz-content-sha256 header does not match the SHA-256 of the request body.")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={name: claimed.headers[name] for name in claimed.signed_names})
    request.context["timestamp"] = claimed.amz_date
    signer = SigV4Auth(Credentials(claimed.akid, claimed.secret, claimed.headers.get("x-amz-security-token")),
                       service, claimed.region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, claimed.signature):
        raise SignatureError("InvalidSignatureException",
                             "The request signature we calculated does not match the signature you provided.")
    return claimed.akid


def verify(*, method: str, url: str, headers: dict[str, str], body: bytes,
           secrets: dict[str, str], service: str = "rekognition") -> str:
    """Return the caller's access key id, or raise SignatureError."""
    return check_body(check_headers(headers, secrets, service), method=method, url=url, body=body, service=service)

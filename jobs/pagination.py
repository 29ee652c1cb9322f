"""NextToken: an opaque, tamper-proof keyset cursor.

The token binds the job, the sort and aggregation it was made for, the last row's sort key
and its issue time, signed with HMAC-SHA256. It stays well under Rekognition's 255 characters.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from jobs.errors import InvalidPaginationToken

_SIGNATURE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(secret: str, *, job_id: str, view: str, key: list, now: float | None = None) -> str:
    body = json.dumps({"j": job_id, "v": view, "k": key, "t": int(now or time.time())},
                      separators=(",", ":")).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return _b64(mac + body)


def decode(secret: str, token: str, *, job_id: str, view: str, ttl_seconds: float,
           now: float | None = None) -> list:
    """The key a token carries, or InvalidPaginationToken if it is forged, foreign or expired."""
    try:
        raw = _unb64(token)
        mac, body = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        if not hmac.compare_digest(mac, expected):
            raise ValueError("bad signature")
        data = json.loads(body)
    except (ValueError, TypeError) as error:
        raise InvalidPaginationToken() from error
    if data.get("j") != job_id or data.get("v") != view:
        raise InvalidPaginationToken("Invalid Token: it belongs to another job or sort order.")
    if (now or time.time()) - data["t"] > ttl_seconds:
        raise InvalidPaginationToken("Invalid Token: it has expired.")
    return data["k"]

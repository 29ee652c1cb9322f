from __future__ import annotations

import pytest

from jobs import pagination
from jobs.errors import InvalidPaginationToken


def test_round_trip_and_length():
    token = pagination.encode("k", job_id="a" * 64, view="labels/NAME/TIMESTAMPS", key=["Transportation", 99.5, 123456])
    assert len(token) <= 255
    assert pagination.decode("k", token, job_id="a" * 64, view="labels/NAME/TIMESTAMPS", ttl_seconds=60) == \
        ["Transportation", 99.5, 123456]


@pytest.mark.parametrize("change", ["secret", "job", "view", "tamper", "expired", "garbage"])
def test_rejects(change):
    token = pagination.encode("k", job_id="j", view="v", key=[1, 2], now=1000)
    kwargs = {"job_id": "j", "view": "v", "ttl_seconds": 60, "now": 1010}
    secret = "k"
    if change == "secret":
        secret = "other"
    elif change == "job":
        kwargs["job_id"] = "other"
    elif change == "view":
        kwargs["view"] = "other"
    elif change == "tamper":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    elif change == "expired":
        kwargs["now"] = 1061
    else:
        token = "!!not base64!!"
    with pytest.raises(InvalidPaginationToken):
        pagination.decode(secret, token, **kwargs)

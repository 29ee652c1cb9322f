"""Which failures are outages worth another try, and which are the video's or the request's.

A PostgreSQL restart, a deadlock, a dropped S3 connection, a 503 from storage or a Redis
failover all clear on their own: the work is retried and the job goes on. Everything else is a
fault of the input (reported to the user as such) or a bug (logged, never shown raw).
"""
from __future__ import annotations

import botocore.exceptions
import sqlalchemy.exc
from celery.exceptions import SoftTimeLimitExceeded


class StorageUnavailable(ConnectionError):
    """Storage answered 5xx or throttled, or could not be reached: retry later."""


# Timed out, not broken: SoftTimeLimitExceeded is transient too, but spends an attempt (a video
# that always times out must end), see jobs.lifecycle.
def _classes() -> tuple[type[BaseException], ...]:
    import kombu.exceptions
    import redis.exceptions

    return (
        ConnectionError, TimeoutError, OSError, SoftTimeLimitExceeded,
        # The database went away or aborted us (restart, failover, deadlock, serialization).
        sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError,
        # S3 unreachable, or the connection dropped mid-body.
        botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
        botocore.exceptions.ResponseStreamingError, botocore.exceptions.IncompleteReadError,
        # The broker or the notice Redis is down or failing over.
        redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError,
        kombu.exceptions.OperationalError,
    )


TRANSIENT: tuple[type[BaseException], ...] = _classes()

_RETRYABLE_S3_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "ServiceUnavailable",
                       "InternalError", "RequestLimitExceeded"}


def is_transient_s3(error: botocore.exceptions.ClientError) -> bool:
    """A 5xx or a throttle from S3: the object may well be there, the store is just unwell."""
    response = error.response or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    return status >= 500 or (response.get("Error") or {}).get("Code") in _RETRYABLE_S3_CODES


def is_transient(error: BaseException) -> bool:
    if isinstance(error, botocore.exceptions.ClientError):
        return is_transient_s3(error)
    return isinstance(error, TRANSIENT)

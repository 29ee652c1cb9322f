"""Completion notices: written to the outbox with the status change, delivered at least once.

Channels: "redis" (PUBLISH on a channel + XADD to a stream, so a consumer that was not
listening still finds the notice), "sns:<topic arn>" when an SNS endpoint is configured, and
"webhook:<endpoint id>" for each of the tenant's webhook endpoints (jobs/webhooks.py), which also
hear of a job's start and progress milestones.
Each message carries an event id consumers can dedupe on; the Redis stream itself never holds
a notice twice, because a marker key set in the same Lua script guards the XADD.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobs.database import session_scope
from jobs.records import Job, OutboxEvent, utcnow
from jobs.settings import get_settings

log = logging.getLogger(__name__)

_DELIVER_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'event_id', ARGV[2], 'message', ARGV[1])
  redis.call('PUBLISH', KEYS[3], ARGV[1])
  return 1
end
return 0
"""
_MARKER_TTL_SECONDS = 8 * 24 * 3600
EVENTS_CHANNEL = "redis:events"  # job events on their own stream; "redis" keeps Rekognition's SNS message
_MAX_BACKOFF_SECONDS = 600


def completion_message(job: Job) -> dict:
    """Rekognition's SNS message, key order as AWS sends it; JobTag only when given."""
    message = {"JobId": job.id, "Status": job.phase_enum.job_status, "API": job.operation}
    if job.job_tag:
        message["JobTag"] = job.job_tag
    finished = job.finished_at or utcnow()
    message["Timestamp"] = int(finished.timestamp() * 1000)
    message["Video"] = {"S3ObjectName": job.video_name, "S3Bucket": job.video_bucket}
    return message


def job_event(job: Job, kind: str, progress: dict | None = None) -> dict:
    """A webhook payload (Standard Webhooks' type/timestamp/data envelope)."""
    data = {"job_id": job.id, "status": job.phase, "job_status": job.phase_enum.job_status,
            "analyses": [a.analysis for a in job.analyses], "job_tag": job.job_tag,
            "status_message": job.status_message}
    if progress is not None:
        data["progress"] = progress
    return {"type": kind, "timestamp": utcnow().isoformat().replace("+00:00", "Z"), "data": data}


def record_event(session: Session, job: Job, kind: str, progress: dict | None = None) -> None:
    """Add a job event for the tenant's webhook endpoints to the outbox, in the caller's transaction."""
    from jobs import webhooks

    event_id = f"msg_{uuid.uuid4().hex}"
    payload = {"id": event_id, **job_event(job, kind, progress), "account": job.account}
    channels = [webhooks.CHANNEL + endpoint.id for endpoint in webhooks.subscribers(session, job.account, job.id)]
    if get_settings().resolved_redis_url:
        channels.append(EVENTS_CHANNEL)
    for channel in channels:
        session.add(OutboxEvent(event_id=event_id, job_id=job.id, channel=channel, payload=payload))


def record_completion(session: Session, job: Job) -> None:
    """Add the job's completion notice to the outbox, in the caller's transaction."""
    record_event(session, job, f"job.{job.phase}")
    settings = get_settings()
    event_id = str(uuid.uuid4())
    payload = completion_message(job)
    channels = []
    if settings.resolved_redis_url:
        channels.append("redis")
    topic = ((job.params or {}).get("NotificationChannel") or {}).get("SNSTopicArn")
    if topic and settings.sns_endpoint_url:
        channels.append(f"sns:{topic}")
    for channel in channels:
        session.add(OutboxEvent(event_id=event_id, job_id=job.id, channel=channel, payload=payload))


@functools.cache
def _redis():
    import redis

    return redis.Redis.from_url(get_settings().resolved_redis_url, socket_timeout=10)


@functools.cache
def _sns():
    import boto3

    settings = get_settings()
    # Its own credentials: the storage key need not (and should not) be allowed to publish.
    return boto3.client("sns", endpoint_url=settings.sns_endpoint_url, region_name=settings.sns_region or settings.region,
                        aws_access_key_id=settings.sns_access_key_id,
                        aws_secret_access_key=settings.sns_secret_access_key)


def _send(event: OutboxEvent) -> None:
    from jobs import webhooks

    if event.channel.startswith(webhooks.CHANNEL):
        # A session only for the delivery log's row (the outbox row itself is claimed by _take),
        # kept whether the POST worked or not.
        with session_scope() as session:
            try:
                webhooks.send(session, event)
            except webhooks.DeliveryFailed:
                session.commit()
                raise
        return
    settings = get_settings()
    text = json.dumps(event.payload, separators=(",", ":"))
    if event.channel in ("redis", EVENTS_CHANNEL):
        stream, channel = ((settings.notify_stream, settings.notify_channel) if event.channel == "redis"
                           else (settings.events_stream, settings.events_channel))
        _redis().eval(_DELIVER_ONCE, 3, f"framewise:delivered:{event.event_id}", stream, channel, text,
                      event.event_id, settings.notify_stream_maxlen, _MARKER_TTL_SECONDS)
    elif event.channel.startswith("sns:"):
        _sns().publish(TopicArn=event.channel[4:], Message=text,
                       MessageAttributes={"EventId": {"DataType": "String", "StringValue": event.event_id}})
    else:
        raise ValueError(f"unknown notification channel {event.channel!r}")


_SEND_LEASE_SECONDS = 120


def _take(event_id: int) -> OutboxEvent | None:
    """Claim one due row for a send: its next attempt moves past the send's lease, committed
    before the send, so no transaction stays open across a network call and no other dispatcher
    takes the row meanwhile."""
    with session_scope() as session:
        event = session.scalar(select(OutboxEvent).where(
            OutboxEvent.id == event_id, OutboxEvent.delivered_at.is_(None),
            OutboxEvent.next_attempt_at <= utcnow()).with_for_update(skip_locked=True))
        if event is None:
            return None
        event.attempts += 1
        event.next_attempt_at = utcnow() + dt.timedelta(seconds=_SEND_LEASE_SECONDS)
        session.flush()
        session.expunge(event)
        return event


def deliver_pending(limit: int = 100) -> int:
    """Deliver due outbox rows; a failure is retried later with exponential backoff."""
    from jobs import webhooks

    now = utcnow()
    with session_scope() as session:
        query = (select(OutboxEvent.id)
                 .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.failed_at.is_(None),
                        OutboxEvent.next_attempt_at <= now)
                 .order_by(OutboxEvent.id).limit(limit))
        ids = list(session.scalars(query))
    delivered = 0
    for row_id in ids:
        event = _take(row_id)
        if event is None:
            continue
        try:
            _send(event)
        except Exception as error:  # noqa: BLE001 - any failure means "try again later"
            values = {"last_error": f"{type(error).__name__}: {error}"[:2000]}
            if event.channel.startswith(webhooks.CHANNEL):
                backoff = webhooks.next_delay(event.attempts)
                if webhooks.gives_up(event, utcnow()):
                    values["failed_at"] = utcnow()
            else:
                backoff = min(_MAX_BACKOFF_SECONDS, 2 ** event.attempts)
            log.warning("notification %s on %s failed: %s", event.event_id, event.channel, error)
            with session_scope() as session:
                session.execute(update(OutboxEvent).where(OutboxEvent.id == row_id).values(
                    next_attempt_at=utcnow() + dt.timedelta(seconds=backoff), **values))
            continue
        # Sent: a crash before this commit sends it again after the lease (at least once; the
        # Redis stream dedupes on the event id, SNS consumers on its EventId attribute).
        with session_scope() as session:
            session.execute(update(OutboxEvent).where(OutboxEvent.id == row_id).values(delivered_at=utcnow()))
        delivered += 1
    return delivered

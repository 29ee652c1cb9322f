"""Webhook endpoints and their deliveries, following the Standard Webhooks convention.

An event for a tenant's job becomes one outbox row per matching endpoint (channel
"webhook:<endpoint id>"), written in the transaction that changed the job; the dispatcher POSTs
it, signed with the endpoint's secret (webhook-id, webhook-timestamp, webhook-signature), and
retries failures with exponential backoff and full jitter for `webhook_retry_hours`. Every try is
kept in webhook_attempts: the delivery log.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import time

import urllib3
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from jobs import netguard
from jobs.errors import ResourceNotFound
from jobs.records import OutboxEvent, WebhookAttempt, WebhookEndpoint, utcnow
from jobs.settings import get_settings

CHANNEL = "webhook:"


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached)."""


def new_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def register(session: Session, account: str, *, url: str, job_id: str | None = None,
             description: str | None = None) -> WebhookEndpoint:
    netguard.resolve(url)  # refuse unsafe targets now; delivery checks again
    endpoint = WebhookEndpoint(id=f"wh_{secrets.token_hex(8)}", account=account, url=url, secret=new_secret(),
                               job_id=job_id, description=description)
    session.add(endpoint)
    session.flush()
    return endpoint


def endpoints(session: Session, account: str) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.account == account)
                                .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))


def find(session: Session, account: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.account != account:
        raise ResourceNotFound(f"The webhook endpoint {endpoint_id} was not found.")
    return endpoint


def delete(session: Session, account: str, endpoint_id: str) -> None:
    session.delete(find(session, account, endpoint_id))


def subscribers(session: Session, account: str, job_id: str) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.account == account,
        or_(WebhookEndpoint.job_id.is_(None), WebhookEndpoint.job_id == job_id))))


def deliveries(session: Session, endpoint: WebhookEndpoint, *, after: int | None, limit: int) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.channel == CHANNEL + endpoint.id)
    if after is not None:
        query = query.where(OutboxEvent.id < after)
    return list(session.scalars(query.order_by(OutboxEvent.id.desc()).limit(limit)))


def find_delivery(session: Session, endpoint: WebhookEndpoint, delivery_id: int) -> OutboxEvent:
    event = session.get(OutboxEvent, delivery_id)
    if event is None or event.channel != CHANNEL + endpoint.id:
        raise ResourceNotFound(f"The delivery {delivery_id} was not found.")
    return event


def attempts(session: Session, event: OutboxEvent) -> list[WebhookAttempt]:
    return list(session.scalars(select(WebhookAttempt).where(WebhookAttempt.outbox_id == event.id)
                                .order_by(WebhookAttempt.id)))


def redeliver(session: Session, event: OutboxEvent) -> None:
    """Send it again now, whatever happened before (same webhook-id: receivers dedupe on it)."""
    event.delivered_at = None
    event.failed_at = None
    event.created_at = utcnow()  # the retry window starts again
    event.next_attempt_at = utcnow()


def next_delay(attempt: int) -> float:
    """Seconds before try `attempt + 1`: exponential, capped, with full jitter."""
    settings = get_settings()
    ceiling = min(settings.webhook_backoff_max_seconds, settings.webhook_backoff_seconds * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def gives_up(event: OutboxEvent, now: dt.datetime) -> bool:
    return now - event.created_at > dt.timedelta(hours=get_settings().webhook_retry_hours)


def _post(target: netguard.Target, headers: dict, body: bytes) -> int:
    timeout = urllib3.Timeout(total=get_settings().webhook_timeout_seconds)
    common = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        # Connect to the checked address; verify the certificate against the URL's host name.
        pool = urllib3.HTTPSConnectionPool(target.address, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED", **common)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, **common)
    host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    try:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": host},
                                redirect=False, preload_content=False)
        response.read(64 * 1024)
        response.release_conn()
        return response.status
    finally:
        pool.close()


def send(session: Session, event: OutboxEvent) -> None:
    """POST one event to its endpoint and log the try; DeliveryFailed unless it answered 2xx."""
    endpoint = session.get(WebhookEndpoint, event.channel[len(CHANNEL):])
    if endpoint is None:
        raise DeliveryFailed("the endpoint was deleted")
    body = json.dumps(event.payload, separators=(",", ":"))
    sent_at = dt.datetime.now(dt.UTC)
    signature = Webhook(endpoint.secret).sign(event.event_id, sent_at, body)
    headers = {"content-type": "application/json", "user-agent": "Framewise-Webhooks/1",
               "webhook-id": event.event_id, "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": signature}
    attempt = WebhookAttempt(outbox_id=event.id, attempted_at=sent_at)
    session.add(attempt)
    started = time.monotonic()
    try:
        target = netguard.resolve(endpoint.url)  # again: the name may resolve elsewhere now
        attempt.status_code = _post(target, headers, body.encode())
    except (netguard.UnsafeTarget, urllib3.exceptions.HTTPError, OSError) as error:
        attempt.error = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        raise DeliveryFailed(attempt.error) from error
    finally:
        attempt.latency_millis = int((time.monotonic() - started) * 1000)
    if not 200 <= attempt.status_code < 300:
        attempt.error = f"HTTP {attempt.status_code}"
        raise DeliveryFailed(attempt.error)

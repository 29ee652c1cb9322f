"""Webhooks against a real HTTP receiver on this host: Standard Webhooks signatures verified with
the README's recipe, retries with backoff until the receiver takes it, the delivery log over REST,
redelivery, and the SSRF guard at registration and again at delivery."""
from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from jobs import notify, webhooks
from jobs.settings import get_settings
from tests.jobs import brightness_analysis  # noqa: F401 - registers the test-only analysis


@pytest.fixture
def operator(monkeypatch):
    """Change operator settings for one test (the settings object is read once, so re-read it)."""
    def configure(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"FRAMEWISE_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()


class Receiver:
    """An HTTP server that answers 500 to the first `failures` POSTs, then 204."""

    def __init__(self, failures: int):
        self.failures = failures
        self.requests: list[tuple[dict, bytes, int]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.failures else 204
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks?src=framewise"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver(failures=3)
    yield server
    server.close()


def _deliver_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notify.deliver_pending()
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError("the outbox did not deliver in time")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
    "http://[::1]/hook", "http://0x7f.1/hook", "http://localhost:8080/hook", "http://2130706433/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/hook", "http://0.0.0.0/hook",
])
def test_non_public_targets_are_refused_at_registration(api, url):
    answer = api.post("/v1/webhooks", json={"url": url})
    assert answer.status_code == 400, answer.json
    assert answer.json["code"] == "InvalidParameterException"
    assert "not a public address" in answer.json["message"]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@example.com/", "not a url", "http://[::1"])
def test_malformed_targets_are_refused(api, url):
    assert api.post("/v1/webhooks", json={"url": url}).status_code == 400


def test_a_failing_receiver_gets_the_event_on_the_fourth_try(api, video, receiver, operator):
    operator(webhook_allow_networks="127.0.0.0/8", webhook_backoff_seconds=0.2, webhook_backoff_max_seconds=1)
    job_id = api.post("/v1/jobs", json={"video": video, "analyses": {"brightness": {}}}).json["id"]
    endpoint = api.post("/v1/webhooks", json={"url": receiver.url, "job_id": job_id, "description": "t"})
    assert endpoint.status_code == 201, endpoint.json
    endpoint = endpoint.json
    assert endpoint["secret"].startswith("whsec_")
    assert api.post(f"/v1/jobs/{job_id}/cancel").status_code == 202  # a queued job ends at once: job.cancelled

    _deliver_until(lambda: any(status == 204 for _, _, status in receiver.requests))
    assert [status for _, _, status in receiver.requests] == [500, 500, 500, 204]
    headers, body, _ = receiver.requests[-1]
    # The README's recipe, verbatim: the library raises unless signature and timestamp check out.
    payload = Webhook(endpoint["secret"]).verify(body, headers)
    assert payload["type"] == "job.cancelled" and payload["data"]["job_id"] == job_id
    assert payload["data"]["status"] == "cancelled" and payload["data"]["job_status"] == "FAILED"
    assert {h["webhook-id"] for h, _, _ in receiver.requests} == {headers["webhook-id"]}, "one id for all tries"
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(body.replace(b"cancelled", b"succeeded"), headers)

    log = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json
    (delivery,) = log["deliveries"]
    assert delivery["attempts"] == 4 and delivery["delivered_at"] and delivery["type"] == "job.cancelled"
    assert [a["status_code"] for a in delivery["log"]] == [500, 500, 500, 204]
    assert [a["error"] for a in delivery["log"]] == ["HTTP 500"] * 3 + [None]
    assert all(a["latency_millis"] >= 0 for a in delivery["log"])

    again = api.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202 and again.json["delivered_at"] is None
    _deliver_until(lambda: len(receiver.requests) == 5)
    assert json.loads(receiver.requests[-1][1]) == payload

    # DNS rebinding's effect: the target is checked again at delivery, and refused there too.
    operator(webhook_allow_networks="")
    api.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver")
    notify.deliver_pending()
    refused = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["deliveries"][0]
    assert len(receiver.requests) == 5
    assert refused["delivered_at"] is None and "not a public address" in refused["log"][-1]["error"]
    assert api.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204


def test_retries_back_off_with_jitter_for_more_than_a_day(framewise_env):
    import datetime as dt

    from jobs.records import OutboxEvent, utcnow

    delays = [webhooks.next_delay(n) for n in range(1, 40)]
    assert delays[0] <= framewise_env.webhook_backoff_seconds
    assert max(delays) <= framewise_env.webhook_backoff_max_seconds
    assert len({round(d, 6) for d in delays}) == len(delays), "jittered"
    event = OutboxEvent(created_at=utcnow() - dt.timedelta(hours=24))
    assert not webhooks.gives_up(event, utcnow()), "still retrying after 24 h"
    event.created_at = utcnow() - dt.timedelta(hours=framewise_env.webhook_retry_hours + 1)
    assert webhooks.gives_up(event, utcnow())


def test_endpoints_belong_to_their_tenant(api, other, operator):
    operator(webhook_allow_networks="127.0.0.0/8")
    mine = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}).json
    assert other.get(f"/v1/webhooks/{mine['id']}").status_code == 404
    assert other.get(f"/v1/webhooks/{mine['id']}/deliveries").status_code == 404
    assert other.delete(f"/v1/webhooks/{mine['id']}").status_code == 404
    assert mine["id"] not in {e["id"] for e in other.get("/v1/webhooks").json["endpoints"]}
    assert api.delete(f"/v1/webhooks/{mine['id']}").status_code == 204


def test_a_jobs_life_arrives_as_events_in_order(api, video, operator):
    from jobs import lifecycle

    operator(webhook_allow_networks="127.0.0.0/8")
    server = Receiver(failures=0)
    try:
        job_id = api.post("/v1/jobs", json={"video": video, "analyses": {"brightness": {}}}).json["id"]
        endpoint = api.post("/v1/webhooks", json={"url": server.url, "job_id": job_id}).json
        plan = lifecycle.plan(job_id)
        for index in plan.chunk_indexes:  # 3 chunks of 4 s: 33 %, 66 %, 100 %
            lifecycle.analyze(job_id, index)
        assert lifecycle.finalize(job_id)
        _deliver_until(lambda: len(server.requests) == 5)
        events = [Webhook(endpoint["secret"]).verify(body, headers) for headers, body, _ in server.requests]
    finally:
        server.close()
    events.sort(key=lambda e: (e["timestamp"], e["data"].get("progress", {}).get("milestone", 0)))
    assert [e["type"] for e in events] == ["job.started", "job.progress", "job.progress", "job.progress",
                                           "job.succeeded"]
    assert [e["data"]["progress"]["milestone"] for e in events[1:4]] == [25, 50, 75]
    assert events[0]["data"]["progress"]["frames_total"] == 9
    assert events[-1]["data"]["job_status"] == "SUCCEEDED"

    # The same events, once each, on the Redis events stream (and its channel).
    import redis

    settings = get_settings()
    entries = redis.Redis.from_url(settings.resolved_redis_url).xrange(settings.events_stream)
    mine = [json.loads(fields[b"message"]) for _, fields in entries
            if json.loads(fields[b"message"])["data"]["job_id"] == job_id]
    assert sorted(m["id"] for m in mine if m["type"] != "job.queued") == sorted(e["id"] for e in events)
    assert [m["type"] for m in mine].count("job.queued") == 1, "queued before the per-job endpoint existed"

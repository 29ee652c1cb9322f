"""The Redis stream under a dispatcher that is SIGKILLed mid-delivery: after a restart every
event arrives, none twice; and the README's consumer-group recipe reads them back, deduped."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import redis
from sqlalchemy import func, select

from jobs import services
from jobs.database import session_scope
from jobs.records import OutboxEvent
from tests.conftest import REPO

ACCOUNT = "AKIDREDISEVENTS00001"  # its own tenant: these jobs stay queued
EVENTS = 300


def _outbox_events(video) -> tuple[str, list[str]]:
    with session_scope() as session:
        job_id = services.start_analysis_job(session, ACCOUNT, {"Video": video}, analysis="labels")["JobId"]
        ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
        session.add_all(OutboxEvent(event_id=event_id, job_id=job_id, channel="redis",
                                    payload={"JobId": job_id, "Status": "SUCCEEDED", "n": n})
                        for n, event_id in enumerate(ids))
    return job_id, ids


def _undelivered(job_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.job_id == job_id, OutboxEvent.delivered_at.is_(None)))


def _dispatcher(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", "dispatcher", *args], cwd=REPO, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkilled_dispatcher_loses_nothing_and_duplicates_nothing(video, framewise_env):
    job_id, ids = _outbox_events(video)
    first = _dispatcher("--interval", "0.05")
    deadline = time.monotonic() + 60
    while _undelivered(job_id) == EVENTS and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)  # mid-batch: some sent, some marked, some neither
    first.wait()
    left = _undelivered(job_id)
    restarted = _dispatcher("--interval", "0.05")
    try:
        deadline = time.monotonic() + 120
        while _undelivered(job_id) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    assert _undelivered(job_id) == 0

    client = redis.Redis.from_url(framewise_env.resolved_redis_url)
    entries = client.xrange(framewise_env.notify_stream)
    mine = [fields[b"event_id"].decode() for _, fields in entries if fields[b"event_id"].decode() in set(ids)]
    assert sorted(mine) == sorted(ids), f"{left} were left when the first dispatcher died"
    assert len(mine) == len(set(mine)), "no event twice on the stream"


def test_the_readme_consumer_group_recipe(video, framewise_env):
    """The README's recipe, run as written, with its endless loop bounded and a shorter block."""
    readme = (REPO / "README.md").read_text()
    recipe = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "xreadgroup" in block)
    recipe = recipe.replace("while True:", "for _pass in range(30):").replace("block=5000", "block=20")
    job_id, ids = _outbox_events(video)
    from jobs import notify

    notify.deliver_pending(limit=EVENTS * 10)
    client = redis.Redis.from_url(framewise_env.resolved_redis_url)
    # An entry seen twice (as a producer retrying past the stream's guard would leave it): deduped.
    duplicate = {"JobId": job_id, "Status": "SUCCEEDED", "n": 0}
    client.xadd(framewise_env.notify_stream, {"event_id": ids[0], "message": json.dumps(duplicate)})
    handled: list[dict] = []
    group = f"readme-{uuid.uuid4().hex[:6]}"
    exec(recipe.replace('"my-app"', repr(group)),  # noqa: S102 - the README's own code
         {"REDIS_URL": framewise_env.resolved_redis_url, "handle": handled.append})
    mine = [m for m in handled if m.get("JobId") == job_id]
    assert sorted(m["n"] for m in mine) == list(range(EVENTS)), "each event handled once"
    assert client.xpending(framewise_env.notify_stream, group)["pending"] == 0, "every entry acknowledged"


def test_the_stream_is_bounded(video, framewise_env, monkeypatch):
    from jobs import notify
    from jobs.settings import get_settings

    stream = f"framewise:test:{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("FRAMEWISE_NOTIFY_STREAM", stream)
    monkeypatch.setenv("FRAMEWISE_NOTIFY_STREAM_MAXLEN", "20")
    get_settings.cache_clear()
    try:
        _outbox_events(video)
        while notify.deliver_pending(limit=EVENTS):
            pass
        client = redis.Redis.from_url(framewise_env.resolved_redis_url)
        # MAXLEN ~ trims whole macro nodes (100 entries by default): near the bound, never all 300.
        assert client.xlen(stream) <= 20 + 100
        client.delete(stream)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

"""Workers and queues: who is working on what, what waits, what is still to be announced.

"Alive" is the heartbeat each worker process writes to Redis every few seconds (jobs/heartbeat.py,
the same beats /healthz reads, with the same freshness rule), with the device and queues each said
of itself; what each runs comes from the chunks it has claimed (`claimed_by` = the same host:pid).
Then the broker's queue lengths and unacknowledged deliveries, and the outbox: its backlog and the
webhook deliveries that gave up, each with a redeliver button (jobs/webhooks.redeliver, as the
REST API's redeliver calls it).
"""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from flask import render_template, url_for
from sqlalchemy import func, select

from jobs import heartbeat, webhooks
from jobs.celery_app import GPU_QUEUE, IMAGE_QUEUE, IO_QUEUE
from jobs.database import session_scope
from jobs.records import Chunk, Job, OutboxEvent, Phase, utcnow
from web.admin import bp
from web.admin.job_actions import answer

QUEUES = (GPU_QUEUE, IO_QUEUE, IMAGE_QUEUE)
THROUGHPUT_BUCKET = dt.timedelta(minutes=5)
THROUGHPUT_WINDOW = dt.timedelta(hours=1)


def queue_depths() -> tuple[dict[str, int | None], int | None]:
    """Messages waiting per queue (every priority level), and deliveries not yet acknowledged
    (running or prefetched), straight from the broker through Celery's own connection."""
    from jobs.celery_app import app

    depths: dict[str, int | None] = dict.fromkeys(QUEUES)
    unacked = None
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            client = channel.client
            for queue in QUEUES:
                depths[queue] = sum(client.llen(channel._q_for_pri(queue, pri)) for pri in channel.priority_steps)
            unacked = client.hlen(channel.unacked_key)
    except Exception:  # noqa: BLE001, S110 - a broker that does not answer shows as unknown, not a 500
        pass
    return depths, unacked


def processes(claims: list[dict]) -> list[dict]:
    """Every worker process that beat in the last hour, alive or not, with what it runs now."""
    try:
        beats, infos = heartbeat.seen(), heartbeat.descriptions()
    except Exception:  # noqa: BLE001 - Redis away: the page says so rather than failing
        return []
    now = time.time()
    by_name = {c["name"]: c for c in claims}
    out = []
    for identity, last in sorted(beats.items(), key=lambda kv: kv[0]):
        info = infos.get(identity, {})
        claim = by_name.get(identity, {})
        out.append({"name": identity, "alive": heartbeat.alive(beats, identity, now), "age": max(0, int(now - last)),
                    "device": info.get("device"), "queues": info.get("queues") or [],
                    "running": claim.get("running", []), "done": claim.get("done", 0)})
    return out


def _claims(db) -> list[dict]:
    """Per worker process (host:pid): the chunks it is running and when it last touched one."""
    since = utcnow() - THROUGHPUT_WINDOW
    rows = db.execute(select(Chunk.claimed_by, Chunk.job_id, Chunk.index, Chunk.state, Chunk.updated_at,
                             Chunk.start_millis, Chunk.end_millis)
                      .where(Chunk.claimed_by.is_not(None),
                             (Chunk.state == "running") | (Chunk.updated_at >= since))
                      .order_by(Chunk.updated_at.desc()).limit(1000)).all()
    workers: dict[str, dict] = defaultdict(lambda: {"running": [], "last_seen": None, "done": 0})
    for row in rows:
        worker = workers[row.claimed_by]
        worker["last_seen"] = max(filter(None, [worker["last_seen"], row.updated_at]))
        if row.state == "running":
            worker["running"].append({"job": row.job_id, "chunk": row.index,
                                      "span": f"{row.start_millis / 1000:.0f}–{row.end_millis / 1000:.0f} s"})
        elif row.state == "done":
            worker["done"] += 1
    return [{"name": name, **info} for name, info in sorted(workers.items(), key=lambda kv: kv[1]["last_seen"],
                                                             reverse=True)]


def _outbox(db) -> dict:
    pending = OutboxEvent.delivered_at.is_(None)
    retrying = pending & OutboxEvent.failed_at.is_(None)
    count, oldest = db.execute(select(func.count(), func.min(OutboxEvent.created_at)).where(retrying)).one()
    failing = db.scalars(select(OutboxEvent).where(retrying, OutboxEvent.last_error.is_not(None))
                         .order_by(OutboxEvent.id.desc()).limit(10)).all()
    # Webhook deliveries whose retries ran out (failed_at): only a redeliver sends them again.
    gave_up = db.scalars(select(OutboxEvent).where(OutboxEvent.failed_at.is_not(None),
                                                   OutboxEvent.channel.startswith(webhooks.CHANNEL))
                         .order_by(OutboxEvent.failed_at.desc()).limit(20)).all()

    def view(e: OutboxEvent) -> dict:
        return {"id": e.id, "job": e.job_id, "channel": e.channel, "attempts": e.attempts, "error": e.last_error,
                "event": (e.payload or {}).get("type"), "failed_at": e.failed_at}
    return {"pending": count, "oldest": oldest, "failing": [view(e) for e in failing],
            "gave_up": [view(e) for e in gave_up]}


def _throughput(db, now: dt.datetime) -> list[dict]:
    """Video-seconds analysed per wall-second, in 5-minute buckets over the last hour, from the jobs
    that succeeded in each bucket."""
    start = now - THROUGHPUT_WINDOW
    rows = db.execute(select(Job.finished_at, Job.video_metadata["DurationMillis"].as_float())
                      .where(Job.phase == Phase.SUCCEEDED.value, Job.finished_at >= start)).all()
    buckets = int(THROUGHPUT_WINDOW / THROUGHPUT_BUCKET)
    video_millis = [0.0] * buckets
    for finished, millis in rows:
        index = min(buckets - 1, int((finished - start) / THROUGHPUT_BUCKET))
        video_millis[index] += millis or 0.0
    seconds = THROUGHPUT_BUCKET.total_seconds()
    return [{"start": (start + k * THROUGHPUT_BUCKET).strftime("%H:%M"), "rate": round(v / 1000 / seconds, 3)}
            for k, v in enumerate(video_millis)]


def _context() -> dict:
    now = utcnow()
    depths, unacked = queue_depths()
    with session_scope() as db:
        claims = _claims(db)
        outbox = _outbox(db)
        throughput = _throughput(db, now)
        active = db.scalar(select(func.count()).select_from(Job).where(
            Job.phase.in_([p.value for p in Phase if not p.finished])))
    peak = max([b["rate"] for b in throughput] + [0.001])
    return {"depths": depths, "unacked": unacked, "processes": processes(claims), "claims": claims,
            "outbox": outbox, "fresh_seconds": int(heartbeat.FRESH_SECONDS),
            "throughput": throughput, "peak": peak, "active_jobs": active,
            "updated": now.strftime("%H:%M:%S UTC"), "now": now}


@bp.get("/workers")
def workers():
    return render_template("admin/workers.html", **_context())


@bp.get("/workers/live")
def workers_live():
    return render_template("admin/_workers.html", **_context())


@bp.post("/outbox/<int:event_id>/redeliver")
def outbox_redeliver(event_id: int):
    """Send a webhook delivery again now, as POST /v1/webhooks/…/redeliver does."""
    from jobs.tasks import dispatch_notifications, enqueue_after_commit

    with session_scope() as db:
        event = db.get(OutboxEvent, event_id)
        if event is None or not event.channel.startswith(webhooks.CHANNEL):
            return answer("No such webhook delivery.", ok=False, to=url_for("admin.workers"))
        webhooks.redeliver(db, event)
        enqueue_after_commit(db, dispatch_notifications)
    return answer(f"Delivery {event_id} queued to be sent again.", ok=True, to=url_for("admin.workers"))

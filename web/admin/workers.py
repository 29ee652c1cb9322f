"""Workers and queues: who is working on what, what waits, what is still to be announced.

Until workers send heartbeats, "alive" is read from what they leave behind: a Celery ping (one
broadcast with a short timeout), the chunks they have claimed (`claimed_by` = host:pid), the
broker's queue lengths and its unacknowledged deliveries, and the outbox backlog. Heartbeats
(the failures branch) replace the ping here when they land.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask import render_template
from sqlalchemy import func, select

from jobs.celery_app import GPU_QUEUE, IMAGE_QUEUE, IO_QUEUE
from jobs.database import session_scope
from jobs.records import Chunk, Job, OutboxEvent, Phase, utcnow
from web.admin import bp

QUEUES = (GPU_QUEUE, IO_QUEUE, IMAGE_QUEUE)
PING_SECONDS = 0.5
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


def pinged() -> list[str]:
    from jobs.celery_app import app

    try:
        return sorted(name for reply in app.control.ping(timeout=PING_SECONDS) for name in reply)
    except Exception:  # noqa: BLE001
        return []


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
    count, oldest = db.execute(select(func.count(), func.min(OutboxEvent.created_at)).where(pending)).one()
    failing = db.scalars(select(OutboxEvent).where(pending, OutboxEvent.last_error.is_not(None))
                         .order_by(OutboxEvent.id.desc()).limit(10)).all()
    return {"pending": count, "oldest": oldest,
            "failing": [{"id": e.id, "job": e.job_id, "channel": e.channel, "attempts": e.attempts,
                         "error": e.last_error} for e in failing]}


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
    return {"depths": depths, "unacked": unacked, "pinged": pinged(), "claims": claims, "outbox": outbox,
            "throughput": throughput, "peak": peak, "active_jobs": active,
            "updated": now.strftime("%H:%M:%S UTC"), "now": now}


@bp.get("/workers")
def workers():
    return render_template("admin/workers.html", **_context())


@bp.get("/workers/live")
def workers_live():
    return render_template("admin/_workers.html", **_context())

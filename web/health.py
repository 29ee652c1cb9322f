"""Readiness: the database answers, the schema is migrated, and a worker beat recently.

Milliseconds a probe: one indexed read in PostgreSQL and one HGETALL in Redis (the heartbeats
workers write, jobs/heartbeat.py), never a round trip to the workers themselves.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from jobs import heartbeat
from jobs.database import get_engine
from jobs.settings import get_settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        with get_engine().connect() as connection:
            checks["database"] = connection.execute(text("SELECT version_num FROM alembic_version")).scalar() is not None
    except Exception:  # noqa: BLE001
        checks["database"] = False
    try:
        checks["worker"] = heartbeat.any_alive(heartbeat.seen())
    except Exception:  # noqa: BLE001 - Redis down: no worker can get work either
        checks["worker"] = False
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if get_settings().instance:
        body["instance"] = get_settings().instance  # lets a supervisor know it reached its own web
    return jsonify(body), 200 if ready else 503


@bp.get("/livez")
def livez():
    """Liveness: this web process answers (restart it if not); dependencies are readiness's."""
    return jsonify(status="ok")

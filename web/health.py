"""Readiness: the database answers, the schema is migrated, and (when asked) a worker is up."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from jobs.database import get_engine

bp = Blueprint("health", __name__)


def _worker_ready() -> bool:
    from jobs.celery_app import app

    try:
        return bool(app.control.ping(timeout=1.0))
    except Exception:  # noqa: BLE001 - a broker that does not answer means "not ready"
        return False


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        with get_engine().connect() as connection:
            checks["database"] = connection.execute(text("SELECT version_num FROM alembic_version")).scalar() is not None
    except Exception:  # noqa: BLE001
        checks["database"] = False
    checks["worker"] = _worker_ready()
    ready = all(checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503

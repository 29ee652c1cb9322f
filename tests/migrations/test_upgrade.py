"""`alembic upgrade head` from the schema before the analysis registry keeps every label job readable."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import migrations
from tests.conftest import clear_caches

ACCOUNT = "AKIDUNIT000000000001"


@pytest.fixture
def old_database(postgres, framewise_env, monkeypatch):
    url = postgres.database("framewise_migration")
    monkeypatch.setenv("FRAMEWISE_DATABASE_URL", url)
    clear_caches()
    yield url
    from jobs.database import get_engine

    get_engine().dispose()
    monkeypatch.undo()
    clear_caches()
    postgres.drop(url)


def _alembic(revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    command.upgrade(config, revision)


def _label(name: str, confidence: float) -> dict:
    return {"Name": name, "Confidence": confidence, "Parents": [], "Aliases": [], "Categories": [],
            "Instances": [{"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.1, "Top": 0.1},
                           "Confidence": confidence}]}


def test_label_jobs_survive_the_upgrade(old_database):
    _alembic("0001")
    engine = sa.create_engine(old_database)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO jobs (id, account, operation, phase, params_hash, params, video_bucket, video_name, "
            "model_version, chunks_total, chunks_done, frames_total, frames_done, cancel_requested, created_at, "
            "updated_at, expires_at, video_metadata) VALUES (%s, %s, 'StartLabelDetection', 'succeeded', 'h', %s, "
            "'b', 'v.mp4', 'human-3.3.6-centernet', 1, 1, 4, 4, false, %s, %s, %s, %s)",
            ("a" * 64, ACCOUNT, json.dumps({"Video": {}, "MinConfidence": 40}), now, now,
             now + dt.timedelta(days=7), json.dumps({"Codec": "h264", "DurationMillis": 2000})))
        connection.exec_driver_sql("INSERT INTO chunks (job_id, index, start_millis, end_millis, state, attempts, "
                                   "frames, updated_at) VALUES (%s, 0, 0, 2000, 'done', 1, 4, %s)", ("a" * 64, now))
        for ts, name, confidence in [(0, "Car", 60.0), (500, "Car", 80.0), (500, "Person", 45.0),
                                     (1000, "Car", 70.0), (3000, "Car", 55.0)]:
            connection.exec_driver_sql(
                "INSERT INTO label_detections (job_id, chunk_index, timestamp_millis, name, confidence, label) "
                "VALUES (%s, 0, %s, %s, %s, %s)", ("a" * 64, ts, name, confidence, json.dumps(_label(name, confidence))))
    engine.dispose()

    _alembic("head")
    from jobs import services
    from jobs.database import session_scope

    with session_scope() as session:
        by_time = services.get_results(session, ACCOUNT, "labels", "a" * 64)
        by_name = services.get_results(session, ACCOUNT, "labels", "a" * 64, sort_by="NAME")
        segments = services.get_results(session, ACCOUNT, "labels", "a" * 64, aggregate_by="SEGMENTS")
    assert by_time["LabelModelVersion"] == "human-3.3.6-centernet"
    assert [(i["Timestamp"], i["Label"]["Name"]) for i in by_time["Labels"]] == [
        (0, "Car"), (500, "Car"), (500, "Person"), (1000, "Car"), (3000, "Car")]
    assert [(i["Label"]["Name"], i["Label"]["Confidence"]) for i in by_name["Labels"]] == [
        ("Car", 80.0), ("Car", 70.0), ("Car", 60.0), ("Car", 55.0), ("Person", 45.0)]
    assert [(s["Label"]["Name"], s["StartTimestampMillis"], s["EndTimestampMillis"], s["Label"]["Confidence"])
            for s in segments["Labels"]] == [("Car", 0, 1000, 80.0), ("Person", 500, 500, 45.0),
                                             ("Car", 3000, 3000, 55.0)]
    assert all("Instances" not in s["Label"] for s in segments["Labels"])
    with session_scope() as session:
        (record,) = session.execute(sa.text("SELECT options, sample_fps, model_versions FROM job_analyses")).all()
    assert record == ({"MinConfidence": 40.0}, 2.0, {"centernet-coco": "human-3.3.6-centernet"})


def test_the_migrations_build_exactly_the_models_schema(old_database):
    """One head, and autogenerate finds nothing to add: the merged branches' migrations, chained,
    build what jobs/records.py declares (alembic check raises on any difference)."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
    command.upgrade(config, "head")
    command.check(config)

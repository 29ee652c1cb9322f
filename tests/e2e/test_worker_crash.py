"""A worker process killed with SIGKILL in the middle of a chunk loses nothing and duplicates nothing."""
from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import media
from tests.e2e.conftest import TENANT_A

pytestmark = pytest.mark.e2e


def _running_chunk(engine, job_id: str):
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT index, claimed_by, frames FROM chunks WHERE job_id = %s AND state = 'running' "
            "AND frames > 0 ORDER BY index LIMIT 1", (job_id,)).first()


def test_sigkill_mid_chunk_still_succeeds_without_duplicates(stack):
    client = stack.client()
    job_id = client.start_label_detection(
        Video=stack.upload(media("traffic/intel_car-detection.mp4"), "crash/cars.mp4"))["JobId"]
    engine = stack.engine()

    deadline = time.monotonic() + 240
    killed = None
    while killed is None and time.monotonic() < deadline:
        row = _running_chunk(engine, job_id)
        if row is not None:
            _host, pid = row.claimed_by.rsplit(":", 1)
            os.kill(int(pid), signal.SIGKILL)  # the pool process analysing the chunk, mid-way
            killed = row
        time.sleep(0.02)
    assert killed is not None, "never caught a chunk mid-way"

    final = stack.wait_for_job(client, job_id)
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    with engine.connect() as connection:
        attempts = connection.exec_driver_sql(
            "SELECT attempts FROM chunks WHERE job_id = %s AND index = %s", (job_id, killed.index)).scalar()
        duplicates = connection.exec_driver_sql(
            "SELECT count(*) FROM (SELECT timestamp_millis, group_key FROM results WHERE job_id = %s "
            "AND aggregate = 'TIMESTAMPS' GROUP BY timestamp_millis, group_key HAVING count(*) > 1) d",
            (job_id,)).scalar()
        chunk_frames = connection.exec_driver_sql(
            "SELECT sum(frames) FROM chunks WHERE job_id = %s", (job_id,)).scalar()
        done, total = connection.exec_driver_sql(
            "SELECT chunks_done, chunks_total FROM jobs WHERE id = %s", (job_id,)).one()
    assert attempts >= 2, "the killed chunk ran again"
    assert duplicates == 0
    assert done == total == 4, "30.16 s in 10 s chunks"
    assert 55 <= chunk_frames <= 65, "2 fps over 30 s, each sampled frame counted once"
    cars = [item for item in client.get_label_detection(JobId=job_id)["Labels"] if item["Label"]["Name"] == "Car"]
    assert cars


def test_a_job_whose_enqueue_was_lost_is_recovered(stack, photo_video):
    """A job row committed but never queued (the broker was down at that instant): the
    dispatcher's sweep finds it and the job still ends, instead of staying IN_PROGRESS."""
    import datetime as dt
    import secrets

    client = stack.client()
    video = stack.upload(photo_video, "crash/lost.mp4")
    job_id = secrets.token_hex(32)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with stack.engine().begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO jobs (id, account, operation, phase, params_hash, params, video_bucket, video_name, "
            "chunks_total, chunks_done, frames_total, frames_done, cancel_requested, created_at, updated_at, "
            "expires_at) VALUES (%s, %s, 'StartLabelDetection', 'queued', 'x', %s, %s, %s, 0, 0, 0, 0, false, "
            "%s, %s, %s)",
            (job_id, TENANT_A[0], '{"Video": {}}', video["S3Object"]["Bucket"],
             video["S3Object"]["Name"], long_ago, long_ago, long_ago + dt.timedelta(days=7)))
        connection.exec_driver_sql(
            "INSERT INTO job_analyses (job_id, analysis, options, sample_fps, model_versions) "
            "VALUES (%s, 'labels', %s, 2.0, '{}')", (job_id, '{"SampleFps": 2.0, "MinConfidence": 50.0}'))
    final = stack.wait_for_job(client, job_id, timeout=120)
    assert final["JobStatus"] == "SUCCEEDED"
    assert client.get_label_detection(JobId=job_id)["Labels"]

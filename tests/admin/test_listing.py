"""services.list_jobs: the operator's view of every tenant's jobs, filtered and paged by keyset."""
from __future__ import annotations

import datetime as dt
import secrets

import pytest

from jobs import services
from jobs.errors import InvalidParameter
from jobs.records import Job, JobAnalysis, Phase

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _job(account: str, phase: Phase, minute: int, analyses=("labels",)) -> Job:
    created = START + dt.timedelta(minutes=minute)
    return Job(id=secrets.token_hex(32), account=account, operation="StartLabelDetection", phase=phase.value,
               params_hash="x", params={}, video_bucket="b", video_name="v.mp4", created_at=created,
               updated_at=created, expires_at=created + dt.timedelta(days=7),
               analyses=[JobAnalysis(analysis=a, options={}, sample_fps=2.0, model_versions={}) for a in analyses])


@pytest.fixture
def jobs(session):
    made = [_job("TENANT-A", Phase.SUCCEEDED, 0), _job("TENANT-A", Phase.ANALYZING, 1),
            _job("TENANT-B", Phase.CANCELLED, 2), _job("TENANT-B", Phase.QUEUED, 3),
            _job("TENANT-A", Phase.FAILED, 4), _job("TENANT-B", Phase.SUCCEEDED, 5, analyses=())]
    session.add_all(made)
    session.flush()
    return made


def _window(**filters) -> services.JobFilter:
    """Only this test's jobs: other tests' jobs in the same database were made now, not in January."""
    return services.JobFilter(**{"since": START, "until": START + dt.timedelta(hours=1), **filters})


def _ids(session, **filters) -> list[str]:
    rows, _ = services.list_all_jobs(session, _window(**filters), limit=100)
    return [job.id for job in rows]


def test_filters(session, jobs):
    a_ok, a_run, b_cancel, b_queued, a_fail, b_ok = (job.id for job in jobs)
    assert _ids(session) == [b_ok, a_fail, b_queued, b_cancel, a_run, a_ok]  # newest first
    assert _ids(session, account="TENANT-A") == [a_fail, a_run, a_ok]
    assert _ids(session, status="IN_PROGRESS") == [b_queued, a_run]
    assert _ids(session, status="FAILED") == [a_fail, b_cancel]  # a cancelled job is FAILED to Rekognition
    assert _ids(session, analysis="labels", status="SUCCEEDED") == [a_ok]
    assert _ids(session, until=START + dt.timedelta(minutes=2)) == [a_run, a_ok]
    with pytest.raises(InvalidParameter):
        _ids(session, status="DONE")
    with pytest.raises(KeyError):
        _ids(session, analysis="no-such-analysis")


def test_keyset_pages_walk_every_job_once(session, jobs):
    seen, after = [], None
    while True:
        rows, after = services.list_all_jobs(session, _window(), after=after, limit=4)
        seen += [job.id for job in rows]
        if after is None:
            break
    assert seen == [job.id for job in reversed(jobs)]

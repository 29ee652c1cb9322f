"""Failure paths in this process against real PostgreSQL and Redis: a failed chunk gives its claim
back, outages are retryable and never shown raw, a poison video's planning ends, the sweep
re-sends what a dead worker held at once and nothing under a backlog, the outbox sends outside
its transaction, the video cache is bounded and swept."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import secrets
import signal
import socket
import threading
import time

import botocore.exceptions
import kombu.exceptions
import pytest
import redis.exceptions
import sqlalchemy.exc
from sqlalchemy import select, text, update

from jobs import errors, lifecycle, notify, services, storage, tasks
from jobs.celery_app import GPU_QUEUE, IO_QUEUE
from jobs.database import session_scope
from jobs.records import Chunk, Job, OutboxEvent, Phase, utcnow
from jobs.transient import StorageUnavailable, is_transient
from tests.conftest import clear_caches, free_port

ACCOUNT = "AKIDFAILUREPATHS0001"  # its own tenant: its unfinished jobs count against no one else's limit


def _start(video: dict, **extra) -> str:
    with session_scope() as session:
        return services.start_analysis_job(session, ACCOUNT, {"Video": video, **extra}, analysis="labels")["JobId"]


def _chunk(job_id: str, index: int = 0) -> Chunk:
    with session_scope() as session:
        return session.scalar(select(Chunk).where(Chunk.job_id == job_id, Chunk.index == index))


def _job(job_id: str) -> Job:
    with session_scope() as session:
        return session.get(Job, job_id)


@pytest.fixture
def storage_at(monkeypatch, framewise_env):
    """Switch this process from the local bucket root to an S3 endpoint at `url`."""
    def use(url: str) -> None:
        monkeypatch.delenv("FRAMEWISE_BUCKET_ROOT")
        monkeypatch.setenv("FRAMEWISE_S3_ENDPOINT_URL", url)
        monkeypatch.setenv("FRAMEWISE_S3_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("FRAMEWISE_S3_SECRET_ACCESS_KEY", "testing")
        clear_caches()

    yield use
    monkeypatch.undo()
    clear_caches()


def test_outages_are_transient_and_the_videos_faults_are_not():
    s3 = lambda status, code: botocore.exceptions.ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")
    transient = [
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://s3"),
        botocore.exceptions.ResponseStreamingError(error=Exception("reset")),
        redis.exceptions.ConnectionError("down"), kombu.exceptions.OperationalError("broker down"),
        s3(503, "ServiceUnavailable"), s3(500, "InternalError"), s3(503, "SlowDown"), StorageUnavailable("x"),
    ]
    permanent = [s3(404, "NoSuchKey"), s3(403, "AccessDenied"), errors.InvalidS3Object(), ValueError("bug"),
                 sqlalchemy.exc.DataError("INSERT", {}, Exception("invalid input syntax for type json"))]
    assert [is_transient(e) for e in transient] == [True] * len(transient)
    assert [is_transient(e) for e in permanent] == [False] * len(permanent)


def test_a_transient_failure_gives_the_claim_and_the_attempt_back(video, storage_at):
    job_id = _start(video)
    lifecycle.plan(job_id)  # from the local bucket root
    storage_at(f"http://127.0.0.1:{free_port()}")  # then storage goes away: nothing listens there
    for _ in range(5):  # more tries than max_chunk_attempts: none of them is a lost worker
        with pytest.raises(StorageUnavailable):
            lifecycle.analyze(job_id, 0)
        chunk = _chunk(job_id)
        assert (chunk.state, chunk.claimed_by, chunk.attempts) == ("pending", None, 0)
    assert _job(job_id).phase == Phase.ANALYZING.value


def test_storage_5xx_is_unavailable_not_an_invalid_object(storage_at):
    """A store that answers 503 is retried; only a 4xx means the object is the problem."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Unwell(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unwell)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        storage_at(f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(StorageUnavailable):
            storage.head(storage.VideoRef("b", "v.mp4"))
    finally:
        server.shutdown()


def test_a_failed_job_never_shows_raw_exception_text(video, framewise_env):
    job_id = _start(video)
    tasks._give_up(job_id, sqlalchemy.exc.OperationalError(
        "SELECT 1", {}, Exception('connection to server at "10.0.0.7", port 5432 failed')))
    message = _job(job_id).status_message
    assert "unavailable" in message and "10.0.0.7" not in message and "OperationalError" not in message
    other = _start(video)
    tasks._give_up(other, KeyError("/srv/framewise/secret"))
    assert "/srv" not in _job(other).status_message and "KeyError" not in _job(other).status_message


def _hung_storage() -> socket.socket:
    """A port that accepts connections and never answers: a read from it hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _plan_in_child(job_id: str, url: str) -> multiprocessing.Process:
    def run() -> None:
        os.environ.pop("FRAMEWISE_BUCKET_ROOT", None)
        os.environ.update(FRAMEWISE_S3_ENDPOINT_URL=url, FRAMEWISE_S3_ACCESS_KEY_ID="t",
                          FRAMEWISE_S3_SECRET_ACCESS_KEY="t")
        clear_caches()
        lifecycle.plan(job_id)

    process = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    process.start()
    return process


def test_a_probe_that_keeps_dying_ends_the_job_after_the_attempt_bound(video, framewise_env):
    """The planner dies mid-probe (an FFmpeg crash, the OOM killer) each time: acks_late would
    redeliver it for ever; the job's plan attempts end it FAILED with a reason instead."""
    hung = _hung_storage()
    job_id = _start(video)
    from jobs.database import get_engine

    get_engine().dispose()  # the forked children open their own connections
    try:
        for attempt in range(1, framewise_env.max_chunk_attempts + 1):
            child = _plan_in_child(job_id, f"http://127.0.0.1:{hung.getsockname()[1]}")
            deadline = time.monotonic() + 30
            while _job(job_id).plan_attempts < attempt and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _job(job_id).phase == Phase.PROBING.value
            os.kill(child.pid, signal.SIGKILL)
            child.join()
        child = _plan_in_child(job_id, f"http://127.0.0.1:{hung.getsockname()[1]}")  # the next redelivery
        child.join(timeout=30)
        assert child.exitcode == 0, "the redelivery ends at the bound instead of probing again"
    finally:
        hung.close()
    job = _job(job_id)
    assert job.phase == Phase.FAILED.value
    assert "probing it crashed or timed out 3 times" in job.status_message


def _claim_in_dead_process(job_id: str, index: int) -> None:
    from jobs.database import get_engine

    get_engine().dispose()
    process = multiprocessing.get_context("fork").Process(target=lifecycle._claim, args=(job_id, index))
    process.start()
    process.join()


def test_the_sweep_resends_a_dead_workers_chunk_at_once(video, framewise_env):
    job_id = _start(video)
    lifecycle.plan(job_id)
    _claim_in_dead_process(job_id, 0)
    chunk = _chunk(job_id)
    assert chunk.state == "running" and chunk.attempts == 1
    stalled = lifecycle.find_stalled(liveness=lifecycle.Liveness(frozenset(), {}))
    assert (job_id, 0) in stalled.chunks, "not after task_time_limit + 120 s: now"
    chunk = _chunk(job_id)
    assert (chunk.state, chunk.claimed_by, chunk.attempts) == ("pending", None, 1), "free for any host; spent"
    # A claim from another host is judged by that process's heartbeat.
    _claim_in_dead_process(job_id, 1)
    with session_scope() as session:
        session.execute(update(Chunk).where(Chunk.job_id == job_id, Chunk.index == 1)
                        .values(claimed_by="gpu-host-7:4242"))
    now = utcnow()
    fresh = {"gpu-host-7:4242": now.timestamp(), "other:1": now.timestamp()}
    stale = {"gpu-host-7:4242": now.timestamp() - 120, "other:1": now.timestamp()}
    assert (job_id, 1) not in lifecycle.find_stalled(now, lifecycle.Liveness(frozenset(), fresh)).chunks
    assert (job_id, 1) in lifecycle.find_stalled(now, lifecycle.Liveness(frozenset(), stale)).chunks


def test_the_sweep_resends_waiting_work_only_when_its_queue_is_empty(video, framewise_env):
    queued = _start(video)
    planned = _start(video)
    lifecycle.plan(planned)
    later = utcnow() + dt.timedelta(seconds=framewise_env.resend_after_seconds + 1)
    backlog = lifecycle.find_stalled(later, lifecycle.Liveness(frozenset(), {}))
    assert queued not in backlog.plan and not [c for c in backlog.chunks if c[0] == planned], \
        "under a backlog their messages are still queued"
    idle = lifecycle.find_stalled(later, lifecycle.Liveness(frozenset({GPU_QUEUE, IO_QUEUE}), {}))
    assert queued in idle.plan, "a Start whose enqueue failed (broker down) is sent by the sweep"
    assert [c for c in idle.chunks if c[0] == planned] == [(planned, 0), (planned, 1), (planned, 2)]
    again = lifecycle.find_stalled(later, lifecycle.Liveness(frozenset({GPU_QUEUE, IO_QUEUE}), {}))
    assert queued not in again.plan and not [c for c in again.chunks if c[0] == planned], "once per wait"


def test_the_outbox_sends_with_no_transaction_open(video, framewise_env, redis_server):
    job_id = _start(video)
    notify.deliver_pending()  # earlier tests' notices first: ours is then the only one due
    lifecycle.finish(job_id, Phase.FAILED, "test")
    with session_scope() as session:
        row = session.scalar(select(OutboxEvent.id).where(OutboxEvent.job_id == job_id))
    import redis as redis_lib

    # Redis holds the send for a second; meanwhile the row must not be locked by the sender.
    redis_lib.Redis.from_url(f"{redis_server}/2").execute_command("CLIENT", "PAUSE", 1500, "WRITE")
    seen = {}

    def probe() -> None:
        time.sleep(0.5)
        with session_scope() as session:
            session.execute(text("SET LOCAL lock_timeout = '100ms'"))
            seen["row"] = session.execute(text(
                "SELECT attempts, next_attempt_at > now() FROM outbox WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": row}).one()

    thread = threading.Thread(target=probe)
    thread.start()
    notify.deliver_pending()
    thread.join()
    assert tuple(seen["row"]) == (1, True), "taken (leased) and committed before the send"
    with session_scope() as session:
        assert session.get(OutboxEvent, row).delivered_at is not None


def test_the_video_cache_is_bounded_and_swept(video, framewise_env, monkeypatch):
    root = framewise_env.video_cache_dir
    ended, running, gone = _start(video), _start(video), "gone" + secrets.token_hex(4)
    lifecycle.finish(ended, Phase.SUCCEEDED)
    for job_id in (ended, running, gone):
        (root / job_id).mkdir(parents=True, exist_ok=True)
        (root / job_id / "video").write_bytes(bytes(1024))
        os.utime(root / job_id, (time.time() - 300, time.time() - 300))
    storage.sweep_cache(force=True)
    left = {p.name for p in root.iterdir()}
    assert running in left and ended not in left and gone not in left, "another host's copies of ended jobs go too"
    monkeypatch.setenv("FRAMEWISE_VIDEO_CACHE_GB", str(1500 / 1024**3))
    clear_caches()
    try:
        storage.make_room(root, 1024, keep=root / "new")  # 1.5 kB bound
        assert not (root / running).exists(), "least recently used evicted past the bound"
    finally:
        monkeypatch.undo()
        clear_caches()


_SOFT_LIMIT_CHILD = """
import signal, sys
from celery.exceptions import SoftTimeLimitExceeded
from jobs import lifecycle
from jobs.database import get_engine

get_engine().connect().close()  # a pooled connection: the claim is quick, the limit lands after it

def soft_limit(_signum, _frame):
    raise SoftTimeLimitExceeded()

signal.signal(signal.SIGALRM, soft_limit)
signal.setitimer(signal.ITIMER_REAL, 0.3)  # a chunk takes seconds: this lands mid-analysis
try:
    lifecycle.analyze(sys.argv[1], 0)
except SoftTimeLimitExceeded:
    sys.exit(3)
"""


def test_a_timed_out_chunk_gives_its_claim_back_but_keeps_the_attempt(video, framewise_env):
    """Celery's soft time limit arrives as a signal whose handler raises SoftTimeLimitExceeded
    wherever the task is (loading models, decoding, inferring). The chunk is free again at once,
    and the attempt stays spent, so a chunk that always times out still ends the job. In a
    process of its own, as a worker's: an exception through model code may leave it unusable."""
    import subprocess
    import sys

    from tests.conftest import REPO

    job_id = _start(video)
    lifecycle.plan(job_id)
    result = subprocess.run([sys.executable, "-c", _SOFT_LIMIT_CHILD, job_id], cwd=REPO, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 3, result.stderr[-2000:]
    chunk = _chunk(job_id)
    assert (chunk.state, chunk.claimed_by, chunk.attempts) == ("pending", None, 1)

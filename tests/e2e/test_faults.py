"""Fault injection against a stack with its own servers, so they can be killed: a private
PostgreSQL (the embedded one, in a folder of its own), a private redis-server, moto's S3 behind a
proxy that can fail or stall reads, and real web, worker and dispatcher processes.

Each test breaks one thing mid-job (Redis SIGKILLed, PostgreSQL stopped for 20 s, web SIGKILLed
during a burst of Starts, a planner that keeps dying, storage answering 503) and checks the
promise: the job ends as it should, nothing is duplicated, errors keep Rekognition's shape.
"""
from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore.config
import botocore.exceptions
import pytest

from tests.conftest import REPO, free_port, media, server_dir, stack_environ, start_redis, stop_processes
from tests.e2e.conftest import BUCKET, TENANT_A, Stack, _wait_http

pytestmark = pytest.mark.e2e


class FlakyStorage:
    """An HTTP proxy in front of moto's S3: GETs of chosen keys fail with 503 a number of
    times, or stall until released. Everything else passes through."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.failures: dict[str, int] = {}  # key -> 503s still to give
        self.stalled: set[str] = set()
        self.release = threading.Event()
        self.gets: dict[str, int] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                key = self.path.split("?", 1)[0].split("/", 2)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "GET":
                    proxy.gets[key] = proxy.gets.get(key, 0) + 1
                    if key in proxy.stalled:
                        proxy.release.wait(300)  # a read that never comes back (until teardown)
                    if proxy.failures.get(key, 0) > 0:
                        proxy.failures[key] -= 1
                        error = b"<Error><Code>ServiceUnavailable</Code><Message>unwell</Message></Error>"
                        self.send_response(503)
                        self.send_header("Content-Length", str(len(error)))
                        self.end_headers()
                        self.wfile.write(error)
                        return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                # A HEAD has no body, but states the object's length.
                length = response.getheader("Content-Length", "0") if self.command == "HEAD" else len(data)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


class FaultStack(Stack):
    """The e2e Stack with handles to stop and start its own servers."""

    pg = None
    redis_process: subprocess.Popen | None = None
    redis_port: int = 0
    storage: FlakyStorage | None = None

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self.procs[name]

    def start_web(self) -> None:
        self.spawn("web", [sys.executable, "-m", "jobs.cli", "web", "--port", self.url.rsplit(":", 1)[1]])
        _wait_http(f"{self.url}/livez", [self.procs["web"]], timeout=60)

    def kill_redis(self) -> None:
        self.redis_process.send_signal(signal.SIGKILL)
        self.redis_process.wait()

    def start_redis(self) -> None:
        self.redis_process = start_redis(self.logs, self.redis_port)

    def stop_postgres(self) -> None:
        self.pg.stop()

    def start_postgres(self) -> None:
        with self.pg._lock:
            self.pg.ensure_postgres_running()

    def worker_child(self) -> int:
        """The video worker's one pool process (concurrency 1)."""
        main = self.procs["worker"].pid
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        raise TimeoutError("the worker has no pool process")

    def query(self, sql: str, *args):
        with self.engine().connect() as connection:
            return connection.exec_driver_sql(sql, args).all()

    def job_state(self, job_id: str):
        return self.query("SELECT phase, chunks_done, chunks_total, plan_attempts FROM jobs WHERE id = %s", job_id)[0]

    def wait_phase(self, job_id: str, ready, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.job_state(job_id)):
                return
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} never got there: {self.job_state(job_id)}; see {self.logs}")


@pytest.fixture(scope="module")
def faults(tmp_path_factory, models_dir) -> FaultStack:
    from jobs import embedded

    work = tmp_path_factory.mktemp("faults")
    logs = work / "logs"
    logs.mkdir()
    pg_folder = server_dir("faults-pg")
    servers = embedded.start(pg_folder, broker=False)
    redis_port, s3_port, web_port = free_port(), free_port(), free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    storage = FlakyStorage(s3_port)
    env = {
        **stack_environ(),
        "FRAMEWISE_DATA_DIR": str(work / "data"),
        "FRAMEWISE_DATABASE_URL": servers.database_url,
        "FRAMEWISE_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FRAMEWISE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FRAMEWISE_MODELS_DIR": str(models_dir),
        "FRAMEWISE_S3_ENDPOINT_URL": storage.url,
        "FRAMEWISE_S3_ACCESS_KEY_ID": "testing",
        "FRAMEWISE_S3_SECRET_ACCESS_KEY": "testing",
        "FRAMEWISE_CREDENTIALS": f"{TENANT_A[0]}:{TENANT_A[1]}",
        "FRAMEWISE_SECRET_KEY": secrets.token_hex(32),
        "FRAMEWISE_CHUNK_SECONDS": "5",
        "FRAMEWISE_MAX_CONCURRENT_JOBS": "50",
        "FRAMEWISE_RESEND_AFTER_SECONDS": "3",  # 30 in production; short so lost messages are re-sent fast
        "FRAMEWISE_TASK_SOFT_TIME_LIMIT": "240",
        "FRAMEWISE_TASK_TIME_LIMIT": "300",
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_REKOGNITION", "AWS_PROFILE"):
        env.pop(key, None)
    stack = FaultStack(url=f"http://127.0.0.1:{web_port}", s3_url=s3_url, env=env, db_url=servers.database_url,
                       redis_url=env["FRAMEWISE_REDIS_URL"], logs=logs)
    stack.pg, stack.redis_port, stack.storage = servers.pg_server, redis_port, storage
    try:
        stack.start_redis()
        stack.spawn("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)])
        _wait_http(f"{s3_url}/moto-api/", [stack.procs["s3"]])
        stack.s3().create_bucket(Bucket=BUCKET)
        subprocess.run([sys.executable, "-m", "jobs.cli", "migrate"], cwd=REPO, env=env, check=True)
        stack.start_web()
        stack.start_worker()
        stack.spawn("dispatcher", [sys.executable, "-m", "jobs.cli", "dispatcher", "--interval", "1"])
        _wait_http(f"{stack.url}/healthz", list(stack.procs.values()), timeout=180)
        yield stack
    finally:
        storage.close()
        stop_processes(stack.procs.values())
        if stack.redis_process and stack.redis_process.poll() is None:
            stack.redis_process.kill()
        servers.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)


def _client(stack: Stack, attempts: int = 1):
    return stack.client(retries={"mode": "standard", "max_attempts": attempts}, read_timeout=30)


def _duplicates(stack: FaultStack, job_id: str) -> int:
    return stack.query(
        "SELECT count(*) FROM (SELECT timestamp_millis, group_key FROM results WHERE job_id = %s "
        "AND aggregate = 'TIMESTAMPS' GROUP BY timestamp_millis, group_key, item::text HAVING count(*) > 1) d",
        job_id)[0][0]


def _notices(stack: FaultStack, job_id: str) -> int:
    entries = stack.redis().xrange(stack.env.get("FRAMEWISE_NOTIFY_STREAM", "framewise:jobs:stream"))
    return sum(1 for _id, fields in entries if job_id.encode() in fields[b"message"])


def _wait_notice(stack: FaultStack, job_id: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _notices(stack, job_id):
        time.sleep(0.5)
    time.sleep(3)  # a duplicate would come from the next sweeps
    return _notices(stack, job_id)


@pytest.fixture(scope="module")
def cars(faults) -> dict:
    return faults.upload(media("traffic/intel_car-detection.mp4"), "faults/cars.mp4")


def test_redis_sigkilled_mid_job(faults, cars):
    """Redis dies without its data (no persistence here): queued chunk messages are gone. The
    dispatcher re-sends the waiting chunks once the queue is back and empty."""
    client = _client(faults)
    job_id = client.start_label_detection(Video=cars)["JobId"]
    faults.wait_phase(job_id, lambda s: s.chunks_done >= 1)
    assert faults.job_state(job_id).chunks_done < faults.job_state(job_id).chunks_total, "mid-job"
    faults.kill_redis()
    time.sleep(2)
    faults.start_redis()
    final = faults.wait_for_job(_client(faults, 3), job_id, timeout=240)
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    assert _duplicates(faults, job_id) == 0
    assert faults.job_state(job_id).chunks_done == 7, "30.16 s in 5 s chunks, each counted once"
    assert _wait_notice(faults, job_id) == 1, "the completion notice is on the stream exactly once"


def test_broker_down_at_start_records_the_job_and_sends_it_later(faults, photo_video):
    video = faults.upload(photo_video, "faults/broker-down.mp4")
    tag = "brokerdown" + secrets.token_hex(3)
    faults.kill_redis()
    try:
        started = time.monotonic()
        response = _client(faults).start_label_detection(Video=video, JobTag=tag)
        took = time.monotonic() - started
    finally:
        faults.start_redis()
    assert took < 15, f"the Start waited {took:.1f} s on a dead broker"
    assert faults.query("SELECT count(*) FROM jobs WHERE job_tag = %s", tag)[0][0] == 1, "recorded once"
    final = faults.wait_for_job(_client(faults, 3), response["JobId"], timeout=180)
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")


def test_postgres_stopped_for_20_seconds_mid_job(faults, cars):
    client = _client(faults)
    job_id = client.start_label_detection(Video=cars)["JobId"]
    faults.wait_phase(job_id, lambda s: s.chunks_done >= 1)
    faults.stop_postgres()
    try:
        outage_answers = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                client.get_label_detection(JobId=job_id)
                outage_answers.append("ok?")
            except botocore.exceptions.ClientError as error:
                outage_answers.append((error.response["ResponseMetadata"]["HTTPStatusCode"],
                                       error.response["Error"]["Code"]))
            time.sleep(2)
    finally:
        faults.start_postgres()
    assert set(outage_answers) == {(503, "ServiceUnavailableException")}, outage_answers
    final = faults.wait_for_job(_client(faults, 3), job_id, timeout=300)
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    assert _duplicates(faults, job_id) == 0
    assert faults.job_state(job_id).chunks_done == 7


def test_web_sigkilled_during_a_burst_of_starts(faults, tmp_path):
    """Every Start that got a JobId has a job that finishes. A Start that got an error retried
    with its ClientRequestToken (as boto3 users do) gets one job: the same one if it had been
    recorded, a new one if not; never two."""
    from jobs.samples import write_photo_video

    video = faults.upload(write_photo_video(tmp_path / "short.mp4", seconds_each=0.5), "faults/short.mp4")
    tokens = [f"burst-{i}-{secrets.token_hex(4)}" for i in range(16)]
    client = _client(faults)

    def start(token: str):
        time.sleep(0.05 * tokens.index(token))
        try:
            return token, client.start_label_detection(Video=video, ClientRequestToken=token, JobTag=token)["JobId"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            return token, error

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(start, token) for token in tokens]
        time.sleep(0.3)
        faults.procs["web"].send_signal(signal.SIGKILL)
        results = dict(future.result() for future in futures)
    faults.procs["web"].wait()
    faults.start_web()
    answered = {t: r for t, r in results.items() if isinstance(r, str)}
    failed = [t for t, r in results.items() if not isinstance(r, str)]
    assert answered and failed, f"the kill landed mid-burst: {results}"
    for token in failed:  # boto3's retry, with the same token
        answered[token] = _client(faults, 3).start_label_detection(
            Video=video, ClientRequestToken=token, JobTag=token)["JobId"]
    for token, job_id in answered.items():
        rows = faults.query("SELECT id FROM jobs WHERE job_tag = %s", token)
        assert [r[0] for r in rows] == [job_id], f"{token}: one job, the one answered"
    for job_id in answered.values():
        final = faults.wait_for_job(_client(faults, 3), job_id, timeout=300)
        assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")


def test_a_planner_that_keeps_crashing_ends_failed_after_the_attempt_bound(faults, photo_video):
    """The probe of this video takes its worker process down each time (as an FFmpeg crash or
    the OOM killer would): the job ends FAILED with a reason, instead of being redelivered
    for ever."""
    video = faults.upload(photo_video, "faults/poison.mp4")
    faults.storage.stalled.add("faults/poison.mp4")  # its probe never finishes by itself
    client = _client(faults)
    job_id = client.start_label_detection(Video=video)["JobId"]
    for attempt in (1, 2, 3):
        faults.wait_phase(job_id, lambda s, a=attempt: s.plan_attempts == a and s.phase == "probing")
        time.sleep(0.5)  # inside the download
        os.kill(faults.worker_child(), signal.SIGKILL)
    final = faults.wait_for_job(_client(faults, 3), job_id, timeout=120)
    assert final["JobStatus"] == "FAILED"
    assert "probing it crashed or timed out 3 times" in final["StatusMessage"]
    assert "re-encode" in final["StatusMessage"], "a message the user can act on"
    assert faults.job_state(job_id).plan_attempts == 4


def test_storage_answering_503_for_the_first_reads_still_succeeds(faults, photo_video):
    video = faults.upload(photo_video, "faults/unwell.mp4")
    faults.storage.failures["faults/unwell.mp4"] = 6  # more than botocore's own 4 tries
    job_id = _client(faults).start_label_detection(Video=video)["JobId"]
    final = faults.wait_for_job(_client(faults, 3), job_id, timeout=180)
    assert final["JobStatus"] == "SUCCEEDED", final.get("StatusMessage")
    assert faults.storage.failures["faults/unwell.mp4"] == 0 and faults.storage.gets["faults/unwell.mp4"] >= 7
    assert faults.query("SELECT attempts FROM chunks WHERE job_id = %s ORDER BY index", job_id) == [(1,), (1,)], \
        "the outage spent no attempt"

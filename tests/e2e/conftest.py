"""The real stack for end-to-end tests: PostgreSQL, Redis, moto's S3 server, the web server,
Celery worker processes (video and image) and the dispatcher, each a real process talking over
real sockets.

PostgreSQL and Redis are the session's own real servers (tests/conftest.py); each test session
gets a fresh database and a Redis database flushed for it.
"""
from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.config
import pytest
import redis as redis_lib
import sqlalchemy as sa

from tests.conftest import REPO, free_port, stack_environ, stop_processes

BUCKET = "framewise-e2e"
TENANT_A = ("AKIDTENANTA000000001", "secret-a-" + secrets.token_hex(8))
TENANT_B = ("AKIDTENANTB000000002", "secret-b-" + secrets.token_hex(8))
MAX_CONCURRENT_JOBS = 3
MAX_VIDEO_BYTES = 20 * 1024 * 1024
# Settings a package adds to the stack it starts from this fixture (tests/admin's webhook window).
STACK_EXTRA_ENV: dict[str, str] = {}
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:AmazonRekognitionDone"  # moto's default account


def _wait_http(url: str, procs: list[subprocess.Popen], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


@dataclass
class Stack:
    url: str
    s3_url: str
    env: dict[str, str]
    db_url: str
    redis_url: str
    logs: Path
    sns_queue_url: str = ""
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def client(self, tenant=TENANT_A, **config):
        return boto3.client(
            "rekognition", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id=tenant[0], aws_secret_access_key=tenant[1],
            config=botocore.config.Config(**{"retries": {"mode": "standard", "max_attempts": 3}, **config}))

    def s3(self):
        return self.aws("s3")

    def aws(self, service: str):
        """A client for moto's server (S3, SNS, SQS), which stands in for AWS here."""
        return boto3.client(service, endpoint_url=self.s3_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def upload(self, path: Path, key: str | None = None) -> dict:
        key = key or path.name
        self.s3().upload_file(str(path), BUCKET, key)
        return {"S3Object": {"Bucket": BUCKET, "Name": key}}

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.db_url)

    def redis(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.redis_url)

    def start_worker(self, images: bool = False) -> subprocess.Popen:
        name = "image-worker" if images else "worker"
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "jobs", "worker", "-Q",
             "framewise.image" if images else "framewise.gpu,framewise.io",
             "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "-n", f"e2e-{name}-{secrets.token_hex(3)}@%h"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def wait_for_job(self, client, job_id: str, timeout: float = 300, getter: str = "get_label_detection") -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = getattr(client, getter)(JobId=job_id, MaxResults=1)
            if response["JobStatus"] != "IN_PROGRESS":
                return response
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} still IN_PROGRESS after {timeout} s; see {self.logs}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory, postgres, redis_server, models_dir) -> Stack:
    work = tmp_path_factory.mktemp("stack")
    logs = work / "logs"
    logs.mkdir()

    db_url = postgres.database("framewise_e2e")
    redis_url = f"{redis_server}/13"
    redis_lib.Redis.from_url(redis_url).flushdb()

    s3_port, web_port = free_port(), free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    env = {
        **stack_environ(),
        "FRAMEWISE_DATA_DIR": str(work / "data"),
        "FRAMEWISE_DATABASE_URL": db_url,
        "FRAMEWISE_BROKER_URL": redis_url,
        "FRAMEWISE_REDIS_URL": redis_url,
        "FRAMEWISE_MODELS_DIR": str(models_dir),
        "FRAMEWISE_S3_ENDPOINT_URL": s3_url,
        "FRAMEWISE_S3_ACCESS_KEY_ID": "testing",
        "FRAMEWISE_S3_SECRET_ACCESS_KEY": "testing",
        "FRAMEWISE_SNS_ENDPOINT_URL": s3_url,
        "FRAMEWISE_SNS_ACCESS_KEY_ID": "testing",
        "FRAMEWISE_SNS_SECRET_ACCESS_KEY": "testing",
        "FRAMEWISE_CREDENTIALS": f"{TENANT_A[0]}:{TENANT_A[1]},{TENANT_B[0]}:{TENANT_B[1]}",
        "FRAMEWISE_SECRET_KEY": secrets.token_hex(32),
        "FRAMEWISE_CHUNK_SECONDS": "10",
        "FRAMEWISE_MAX_CONCURRENT_JOBS": str(MAX_CONCURRENT_JOBS),
        "FRAMEWISE_MAX_VIDEO_BYTES": str(MAX_VIDEO_BYTES),
        "FRAMEWISE_TASK_SOFT_TIME_LIMIT": "240",
        "FRAMEWISE_TASK_TIME_LIMIT": "300",
        "PYTHONUNBUFFERED": "1",
        **STACK_EXTRA_ENV,
    }
    # FRAMEWISE_BUCKET_ROOT: left in this process by framewise_env when unit tests ran first; the
    # stack reads its videos from S3.
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_REKOGNITION", "AWS_PROFILE", "FRAMEWISE_BUCKET_ROOT"):
        env.pop(key, None)
    stack = Stack(url=f"http://127.0.0.1:{web_port}", s3_url=s3_url, env=env, db_url=db_url,
                  redis_url=redis_url, logs=logs)

    def spawn(name: str, args: list[str]) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        stack.procs[name] = proc
        return proc

    try:
        spawn("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)])
        _wait_http(f"{s3_url}/moto-api/", [stack.procs["s3"]])
        stack.s3().create_bucket(Bucket=BUCKET)
        # An SNS topic with an SQS queue subscribed, as a Rekognition user would wire it.
        topic = stack.aws("sns").create_topic(Name=SNS_TOPIC.rsplit(":", 1)[1])["TopicArn"]
        sqs = stack.aws("sqs")
        stack.sns_queue_url = sqs.create_queue(QueueName="rekognition-done")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=stack.sns_queue_url,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        subprocess.run([sys.executable, "-m", "jobs.cli", "migrate"], cwd=REPO, env=env, check=True)
        spawn("web", [sys.executable, "-m", "jobs.cli", "web", "--port", str(web_port)])
        stack.start_worker()
        stack.start_worker(images=True)
        spawn("dispatcher", [sys.executable, "-m", "jobs.cli", "dispatcher", "--interval", "2"])
        _wait_http(f"{stack.url}/healthz", list(stack.procs.values()), timeout=180)
        yield stack
    finally:
        stop_processes(stack.procs.values())
        postgres.drop(db_url)

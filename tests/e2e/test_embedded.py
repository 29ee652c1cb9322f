"""The embedded defaults: a PostgreSQL and a Redis started inside the data dir, no server to install."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.conftest import REPO, free_port, server_dir
from tests.e2e.conftest import _wait_http

pytestmark = pytest.mark.e2e


@pytest.fixture
def data_dir():
    folder = server_dir("embedded")  # the embedded PostgreSQL lives here; see server_dir
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


def _embedded_env(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWISE_") or k == "FRAMEWISE_MODELS_DIR"}
    env["FRAMEWISE_DATA_DIR"] = str(data_dir)
    return env


def test_demo_runs_one_job_end_to_end_on_embedded_defaults(data_dir):
    result = subprocess.run([sys.executable, "-m", "jobs.cli", "demo", "--port", str(free_port())],
                            cwd=REPO, env=_embedded_env(data_dir), capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCEEDED" in result.stdout
    found = result.stdout.split("Labels (continuous segments):", 1)[1]
    for name in ("Person", "Motorcycle", "Cup"):
        assert name in found, result.stdout
    assert (data_dir / "postgres" / "PG_VERSION").read_text().strip() == "18", "on the embedded PostgreSQL"
    assert (data_dir / "redis" / "appendonly.aof").exists(), "through the embedded Redis"


def _standalone(data_dir, port: int) -> tuple[subprocess.Popen, str]:
    """A running `framewise standalone` and the access key it printed once it said it serves."""
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "standalone", "--port", str(port)], cwd=REPO,
                            env=_embedded_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:  # ends (and fails below) if the process dies first
        seen.append(line)
        if "AWS_ACCESS_KEY_ID=" in line:
            # Keep draining its output, or its children block once the pipe fills.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            _wait_http(f"http://127.0.0.1:{port}/healthz", [proc], timeout=60)
            return proc, line
    raise AssertionError("standalone exited before serving:\n" + "".join(seen[-40:]))


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)


def test_standalone_serves_healthz_and_keeps_its_key_across_restarts(data_dir):
    import boto3
    from botocore.config import Config

    port = free_port()
    proc, first = _standalone(data_dir, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
            body = response.read().decode()
        assert '"worker":true' in body.replace(" ", "") and '"database":true' in body.replace(" ", "")
        # The admin login counts failures in the embedded Redis (a unix socket).
        import requests

        http = requests.Session()
        form = http.get(f"http://127.0.0.1:{port}/admin/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert http.post(f"http://127.0.0.1:{port}/admin/login",
                         data={"username": "nobody", "password": "wrong", "csrf_token": token}).status_code == 401
    finally:
        _stop(proc)
    key = re.search(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", first)
    assert key, first
    # A job started before a restart is still the same tenant's afterwards.
    bucket = data_dir / "buckets" / "restart"
    bucket.mkdir(parents=True)
    from jobs.samples import write_photo_video

    write_photo_video(bucket / "v.mp4", seconds_each=1.0)
    proc, second = _standalone(data_dir, port)
    try:
        client = boto3.client("rekognition", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id=key[1], aws_secret_access_key=key[2],
                              config=Config(retries={"mode": "standard", "max_attempts": 1}))
        job_id = client.start_label_detection(Video={"S3Object": {"Bucket": "restart", "Name": "v.mp4"}})["JobId"]
    finally:
        _stop(proc)
    assert key[0] in second, "the same key is printed again"
    proc, _ = _standalone(data_dir, port)
    try:
        answer = client.get_label_detection(JobId=job_id)
        assert answer["JobId"] == job_id
    finally:
        _stop(proc)

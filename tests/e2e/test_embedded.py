"""The embedded defaults: SQLite and Celery's filesystem transport, no server to install."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import REPO, free_port
from tests.e2e.conftest import _wait_http

pytestmark = pytest.mark.e2e


def _embedded_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWISE_") or k == "FRAMEWISE_MODELS_DIR"}
    env["FRAMEWISE_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_demo_runs_one_job_end_to_end_on_embedded_defaults(tmp_path):
    result = subprocess.run([sys.executable, "-m", "jobs.cli", "demo", "--port", str(free_port())],
                            cwd=REPO, env=_embedded_env(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCEEDED" in result.stdout
    found = result.stdout.split("Labels (continuous segments):", 1)[1]
    for name in ("Person", "Motorcycle", "Cup"):
        assert name in found, result.stdout
    assert (tmp_path / "data" / "framewise.db").exists(), "the job ran on SQLite"


def test_standalone_serves_healthz_on_the_given_port(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "standalone", "--port", str(port)], cwd=REPO,
                            env=_embedded_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", [proc], timeout=180)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
            body = response.read().decode()
        assert '"worker":true' in body.replace(" ", "") and '"database":true' in body.replace(" ", "")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

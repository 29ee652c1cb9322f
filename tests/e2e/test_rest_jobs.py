"""The REST API end to end on the real stack: an API key made with the CLI, a video uploaded to
S3 through /v1/uploads, a running job cancelled within one batch, and its resubmission run to
SUCCEEDED by the same (freed) worker."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
import sqlalchemy as sa

from benchmarks.bench_labels import loop_video
from tests.conftest import REPO, media
from tests.e2e.conftest import TENANT_A

pytestmark = pytest.mark.e2e
BATCH_SIZE = 8  # FRAMEWISE_BATCH_SIZE's default, which the stack runs with


class Rest(requests.Session):
    def __init__(self, base: str, key: str):
        super().__init__()
        self.base = base
        self.headers["Authorization"] = f"Bearer {key}"

    def request(self, method, path, **kwargs):
        return super().request(method, self.base + path, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def rest(stack) -> Rest:
    # The key shares tenant A's jobs, so the AWS client sees the REST jobs too.
    made = subprocess.run([sys.executable, "-m", "jobs.cli", "keys", "create", "--name", "e2e",
                           "--tenant", TENANT_A[0]], cwd=REPO, env=stack.env, check=True, capture_output=True,
                          text=True)
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("fwk_")
    listed = subprocess.run([sys.executable, "-m", "jobs.cli", "keys", "list"], cwd=REPO, env=stack.env,
                            check=True, capture_output=True, text=True).stdout
    assert key not in listed and key.split("_")[1] in listed
    return Rest(stack.url, key)


def _frames(stack, job_id: str) -> int:
    with stack.engine().connect() as connection:
        return connection.execute(sa.text("SELECT coalesce(sum(frames), 0) FROM chunks WHERE job_id = :j"),
                                  {"j": job_id}).scalar()


def _wait(rest: Rest, job_id: str, until, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = rest.get(f"/v1/jobs/{job_id}").json()
        if until(job):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} is still {job['status']} ({job['progress']})")


def test_cancel_a_running_job_within_a_batch_then_resubmit_it(stack, rest, tmp_path):
    long = loop_video(media("traffic/intel_car-detection.mp4"), tmp_path / "long.mp4", 2)  # 60 s, 6 chunks
    with open(long, "rb") as body:
        upload = rest.post("/v1/uploads", data=body, headers={"Content-Type": "application/octet-stream"})
    assert upload.status_code == 201, upload.text
    created = rest.post("/v1/jobs", json={"video": upload.json()["video"], "analyses": {"labels": {}}})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]

    running = _wait(rest, job_id, lambda j: j["progress"]["frames_done"] >= BATCH_SIZE, timeout=240)
    assert running["status"] == "analyzing" and running["job_status"] == "IN_PROGRESS"
    assert running["progress"]["frames_total"] == 120 and running["progress"]["eta_seconds"] is not None
    in_progress = stack.client().get_label_detection(JobId=job_id)
    assert in_progress["JobStatus"] == "IN_PROGRESS" and "sampled frames" in in_progress["StatusMessage"]

    before = _frames(stack, job_id)
    asked = time.monotonic()
    assert rest.post(f"/v1/jobs/{job_id}/cancel").status_code == 202
    ended = _wait(rest, job_id, lambda j: j["status"] == "cancelled", timeout=120)
    took = time.monotonic() - asked
    after = _frames(stack, job_id)
    assert after - before <= BATCH_SIZE, f"{after - before} frames were analysed after the cancel"
    assert ended["progress"]["frames_done"] < 120
    aws = stack.client().get_label_detection(JobId=job_id)
    assert aws["JobStatus"] == "FAILED" and aws["StatusMessage"] == "The job was cancelled."
    print(f"cancelled {took:.1f} s after the request, {after - before} frames later")

    again = rest.post(f"/v1/jobs/{job_id}/resubmit")
    assert again.status_code == 201, again.text
    done = _wait(rest, again.json()["id"], lambda j: j["job_status"] != "IN_PROGRESS", timeout=600)
    assert done["status"] == "succeeded" and done["resubmitted_from"] == job_id
    assert done["progress"]["frames_done"] >= 120 and done["progress"]["percent"] == 100.0
    page = rest.get(f"/v1/jobs/{done['id']}/results/labels", params={"sort": "NAME"}).json()
    assert any(item["Label"]["Name"] == "Car" for item in page["items"])

    key = rest.headers["Authorization"].removeprefix("Bearer ")
    watch = [sys.executable, "-m", "jobs.cli", "jobs", "watch", "--url", stack.url, "--interval", "0.2"]
    finished = subprocess.run([*watch, done["id"], "--key", key], check=False, cwd=REPO, env=stack.env,
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0 and "100%" in finished.stderr and "succeeded" in finished.stderr
    stopped = subprocess.run([*watch, job_id, "--key", key], check=False, cwd=REPO, env=stack.env,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 1 and "The job was cancelled." in stopped.stderr

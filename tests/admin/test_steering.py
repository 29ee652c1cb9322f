"""Steering a job from its page in a real Chromium: cancel a running job (a minute of looped
traffic video, as tests/e2e/test_rest_jobs.py does) and watch it turn CANCELLED without a reload,
resubmit it, delete the new job's results. Each button is a CSRF-protected form that calls the
REST API's own services."""
from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By

from benchmarks.bench_labels import loop_video
from tests.admin.conftest import axe_violations, ensure_logged_in, screenshot, session_for, wait_for_new_page
from tests.conftest import media

pytestmark = pytest.mark.e2e


def _status(browser) -> str | None:
    return browser.execute_script(
        "const e = document.querySelector('.job-state [data-status]'); return e && e.dataset.status;")


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


def test_cancel_a_running_job_from_its_page_then_resubmit_and_delete(stack, browser, admin_user, tmp_path):
    browser = ensure_logged_in(browser, stack.url, admin_user)
    long = loop_video(media("traffic/intel_car-detection.mp4"), tmp_path / "long.mp4", 2)  # 60 s, 6 chunks
    client = stack.client()
    job_id = client.start_label_detection(Video=stack.upload(long, "long.mp4"), JobTag="admin-cancel")["JobId"]
    browser.get(f"{stack.url}/admin/jobs/{job_id}")
    browser.execute_script("window.framewiseNoReload = true;")
    # Running: a worker holds a chunk and frames are being analysed.
    _wait(lambda: browser.execute_script(
        "const p = document.querySelector('.job-state progress'); return p && p.value > 0;"), 240,
        "the job never showed progress")
    screenshot(browser, "09-job-running-cancel")
    assert axe_violations(browser) == []

    browser.find_element(By.XPATH, "//button[normalize-space()='Cancel job']").click()
    _wait(lambda: _status(browser) == "CANCELLED", 120, f"still {_status(browser)}")
    assert browser.execute_script("return window.framewiseNoReload === true;"), "the page was reloaded"
    assert "cancel" in browser.find_element(By.CSS_SELECTOR, "[data-form-status]").text.lower()
    # The AWS API says what it always says of a cancelled job.
    aws = client.get_label_detection(JobId=job_id)
    assert aws["JobStatus"] == "FAILED" and aws["StatusMessage"] == "The job was cancelled."
    screenshot(browser, "10-job-cancelled")

    # Resubmit: the page moves to the new job, which records where it came from.
    button = _wait(lambda: browser.find_elements(By.XPATH, "//button[normalize-space()='Resubmit']"), 10,
                   "no Resubmit button on a cancelled job")[0]
    button.click()
    _wait(lambda: f"/admin/jobs/{job_id}" not in browser.current_url, 30, "did not move to the new job")
    new_id = browser.current_url.rsplit("/", 1)[1]
    assert new_id != job_id
    assert _wait(lambda: _status(browser), 30, "the new job's page did not load") == "IN_PROGRESS"
    assert "Resubmitted as job" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    browser.find_element(By.XPATH, "//button[normalize-space()='Cancel job']").click()
    _wait(lambda: _status(browser) == "CANCELLED", 120, f"the resubmitted job is {_status(browser)}")

    # A forged token is refused, whatever the action.
    http = session_for(browser)
    forged = http.post(f"{stack.url}/admin/jobs/{new_id}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    # Delete results: the job is gone from the page, the list and the API.
    browser.execute_script("window.confirm = () => true;")
    delete = browser.find_element(By.XPATH, "//button[normalize-space()='Delete results']")
    delete.click()
    wait_for_new_page(browser, delete)
    assert browser.current_url.startswith(f"{stack.url}/admin/jobs")
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-job="{new_id}"]')
    assert http.get(f"{stack.url}/admin/jobs/{new_id}").status_code == 404
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_label_detection(JobId=new_id)
    # The first job is still there, its actions guarded by the same rules as the REST API's.
    browser.get(f"{stack.url}/admin/jobs/{job_id}")
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Cancel job']")

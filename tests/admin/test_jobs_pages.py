"""The jobs pages in a real headless Chromium against the real stack with a real label job: the
list follows the job from IN_PROGRESS to SUCCEEDED without a reload, its timeline draws the dog
where the model found it, a frame opens large, results download as JSON Lines; the workers page
shows the worker that ran it. Every page is checked with axe-core and photographed."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.admin.conftest import axe_violations, ensure_logged_in, screenshot, session_for, wait_for_new_page
from tests.conftest import media

pytestmark = pytest.mark.e2e

DOG_VIDEO = "objects/pexels_dog_eating_854132.mp4"


def _text(browser, selector: str) -> str | None:
    """An element's text read in one step: live regions replace their rows under a test's feet."""
    return browser.execute_script("const e = document.querySelector(arguments[0]); return e && e.innerText;",
                                  selector)


def _row_status(browser, job_id: str) -> str | None:
    return browser.execute_script("const e = document.querySelector(arguments[0]); return e && e.dataset.status;",
                                  f'tr[data-job="{job_id}"]')


@contextlib.contextmanager
def _paused(pid: int):
    """A process and its children stopped (SIGSTOP) for the block, then continued."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    pids = [pid, *map(int, children)]
    for each in pids:
        os.kill(each, signal.SIGSTOP)
    try:
        yield
    finally:
        for each in reversed(pids):
            os.kill(each, signal.SIGCONT)


@pytest.fixture(scope="module")
def dog_job(stack, browser, admin_user):
    """Start a label job while the jobs list is open, and record what the list showed of it."""
    ensure_logged_in(browser, stack.url, admin_user)
    browser.execute_script("window.framewiseNoReload = true;")
    client = stack.client()
    seen: list[str] = []
    # With range reads the dog video is analysed in about two seconds, within one poll of the list;
    # the video worker is paused (SIGSTOP) until the list has shown the job waiting, then let go.
    with _paused(stack.procs["worker"].pid):
        job_id = client.start_label_detection(Video=stack.upload(media(DOG_VIDEO)), JobTag="admin-dog")["JobId"]
        deadline = time.monotonic() + 30
        while _row_status(browser, job_id) != "IN_PROGRESS":
            assert time.monotonic() < deadline, "the list never showed the new job"
            time.sleep(0.2)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = _row_status(browser, job_id)
        if status and (not seen or seen[-1] != status):
            seen.append(status)
            if status == "IN_PROGRESS":
                screenshot(browser, "02-jobs-list-in-progress")
        if status in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.2)
    kept = browser.execute_script("return window.framewiseNoReload === true;")
    final = stack.wait_for_job(client, job_id)
    return {"id": job_id, "seen": seen, "no_reload": kept, "final": final}


@pytest.fixture(scope="module")
def labels(stack, dog_job):
    out, token = [], None
    while True:
        page = stack.client().get_label_detection(JobId=dog_job["id"], **({"NextToken": token} if token else {}))
        out += page["Labels"]
        token = page.get("NextToken")
        if not token:
            return out


def test_the_list_follows_a_job_to_success_without_reloading(dog_job, logged_in):
    assert dog_job["final"]["JobStatus"] == "SUCCEEDED", dog_job["final"].get("StatusMessage")
    assert dog_job["seen"][0] == "IN_PROGRESS" and dog_job["seen"][-1] == "SUCCEEDED", dog_job["seen"]
    assert dog_job["no_reload"], "the page was reloaded: the live rows must update in place"
    row = _text(logged_in, f'tr[data-job="{dog_job["id"]}"]')
    assert "100%" in row and "13.8 s" in row and "640×360" in row and "labels" in row, row
    screenshot(logged_in, "03-jobs-list")
    assert axe_violations(logged_in) == []


def test_filters_and_paging(dog_job, logged_in, stack):
    browser = logged_in
    row = f'tr[data-job="{dog_job["id"]}"]'
    browser.get(f"{stack.url}/admin/jobs?status=FAILED")
    assert _text(browser, row) is None
    tenant = stack.env["FRAMEWISE_CREDENTIALS"].split(":")[0]
    browser.get(f"{stack.url}/admin/jobs?status=SUCCEEDED&analysis=labels&tenant={tenant}")
    assert _text(browser, row) is not None
    browser.get(f"{stack.url}/admin/jobs?tenant=AKIDSOMEONEELSE")
    assert _text(browser, row) is None
    browser.get(f"{stack.url}/admin/jobs?until=2000-01-01T00:00")
    assert _text(browser, "td.empty") == "No jobs match."
    browser.get(f"{stack.url}/admin/jobs?status=NOPE")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Bad filter"


def _box_on_screen(browser, figure) -> dict:
    return browser.execute_script("""
        const figure = arguments[0];
        const img = figure.querySelector('img');
        const rect = figure.querySelector('g.box[data-caption="Dog"] rect').getBoundingClientRect();
        const frame = img.getBoundingClientRect();
        return {loaded: img.complete && img.naturalWidth > 0, natural: img.naturalWidth,
                left: (rect.left - frame.left) / frame.width, top: (rect.top - frame.top) / frame.height,
                width: rect.width / frame.width, height: rect.height / frame.height};""", figure)


def test_the_timeline_draws_the_dog_where_the_model_found_it(dog_job, labels, logged_in, stack):
    browser = logged_in
    browser.get(f"{stack.url}/admin/jobs/{dog_job['id']}")
    figures = browser.find_elements(By.CSS_SELECTOR, "figure.thumb")
    assert len(figures) >= 10, "a filmstrip of sampled times"
    with_dog = [f for f in figures if f.find_elements(By.CSS_SELECTOR, 'g.box[data-caption="Dog"]')]
    assert with_dog, [f.text for f in figures]
    deadline = time.monotonic() + 60
    while not all(browser.execute_script("return arguments[0].querySelector('img').complete", f) for f in figures):
        assert time.monotonic() < deadline, "thumbnails did not load"
        time.sleep(0.3)
    figure = with_dog[0]
    millis = int(figure.get_attribute("data-millis"))
    drawn = _box_on_screen(browser, figure)
    assert drawn["loaded"] and drawn["natural"] == 320, drawn
    found = [instance["BoundingBox"] for item in labels if item["Timestamp"] == millis
             and item["Label"]["Name"] == "Dog" for instance in item["Label"]["Instances"]]
    assert found, f"the API has no Dog box at {millis} ms"
    box = found[0]
    for key in ("left", "top", "width", "height"):
        assert drawn[key] == pytest.approx(box[key.capitalize()], abs=0.02), (key, drawn, box)
    # The dog is a big part of this frame, near its middle.
    assert box["Width"] * box["Height"] > 0.1
    assert "Dog" in figure.find_element(By.TAG_NAME, "figcaption").text
    # Each analysis's lane marks where it found something.
    assert browser.find_elements(By.CSS_SELECTOR, ".timeline rect.tick")
    screenshot(browser, "04-job-timeline")
    assert axe_violations(browser) == []

    figure.find_element(By.TAG_NAME, "a").click()
    assert browser.current_url.endswith(f"/admin/jobs/{dog_job['id']}/at/{millis}")
    deadline = time.monotonic() + 60
    while not browser.execute_script("const i = document.querySelector('.large img'); return i.complete && i.naturalWidth"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert browser.execute_script("return document.querySelector('.large img').naturalWidth") == 640
    assert browser.find_elements(By.CSS_SELECTOR, '.large g.box[data-caption="Dog"] text')
    assert "Dog" in browser.find_element(By.CSS_SELECTOR, "main table").text
    assert browser.find_element(By.CSS_SELECTOR, "a[rel=next]").text.endswith("s →")
    assert "Dog" in _text(browser, "main details summary") or browser.find_elements(By.XPATH, "//summary[starts-with(., 'Dog')]")
    screenshot(browser, "05-frame-large")
    assert axe_violations(browser) == []


def test_results_download_as_json_lines(dog_job, labels, logged_in, stack):
    http = session_for(logged_in)
    response = http.get(f"{stack.url}/admin/jobs/{dog_job['id']}/results.jsonl")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["Content-Disposition"]
    lines = [json.loads(line) for line in response.text.splitlines()]
    by_time = [line["item"] for line in lines if line["analysis"] == "labels" and line["aggregate"] == "TIMESTAMPS"]
    assert by_time == labels, "the same items, in the same order, as GetLabelDetection"
    assert any(line["aggregate"] == "SEGMENTS" for line in lines)


def test_thumbnails_are_validated_and_cached(dog_job, logged_in, stack):
    http = session_for(logged_in)
    base = f"{stack.url}/admin/jobs/{dog_job['id']}/frame.jpg"
    first = http.get(f"{base}?t=2000&w=640")
    assert first.status_code == 200 and first.content[:2] == b"\xff\xd8"
    assert http.get(f"{base}?t=2000&w=640").content == first.content
    assert http.get(f"{base}?t=2000&w=123").status_code == 400
    assert http.get(f"{base}?t=999999&w=320").status_code == 404
    assert http.get(f"{stack.url}/admin/jobs/no-such-job/frame.jpg?t=0").status_code == 404


def test_workers_and_queues(dog_job, logged_in, stack):
    browser = logged_in
    browser.get(f"{stack.url}/admin/workers")
    text = browser.find_element(By.TAG_NAME, "main").text
    for queue in ("framewise.gpu", "framewise.io", "framewise.image"):
        assert queue in text
    alive = browser.find_elements(By.CSS_SELECTOR, 'tr[data-worker][data-alive="yes"]')
    assert alive, "the worker processes' heartbeats"
    assert any("cpu" in row.text for row in alive), "each process says its device"
    assert any("framewise.gpu" in row.text for row in alive), "and the queues it takes work from"
    assert "waiting to be delivered" in text
    screenshot(browser, "06-workers")
    assert axe_violations(browser) == []


def test_usable_on_a_phone(dog_job, logged_in, stack):
    browser = logged_in
    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    try:
        for page in ("workers", "keys", "collections", "jobs"):
            browser.get(f"{stack.url}/admin/{page}")
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"/admin/{page} itself never scrolls sideways (wide tables scroll in their box)"
        screenshot(browser, "07-jobs-list-phone")
    finally:
        browser.set_window_size(size["width"], size["height"])


def test_the_list_catches_up_after_the_tab_slept(dog_job, stack, browser, admin_user):
    """Chrome freezes a background tab (no timers, no network); when it wakes, the list shows what
    happened meanwhile, without a reload."""
    ensure_logged_in(browser, stack.url, admin_user)
    browser.execute_script("window.framewiseNoReload = true;")
    browser.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "frozen"})
    try:
        client = stack.client()
        job_id = client.start_label_detection(Video=stack.upload(media(DOG_VIDEO), "asleep.mp4"))["JobId"]
        assert stack.wait_for_job(client, job_id)["JobStatus"] == "SUCCEEDED"
    finally:
        browser.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "active"})
        browser.execute_cdp_cmd("Emulation.setFocusEmulationEnabled", {"enabled": True})  # and shown again
    assert browser.execute_script("return document.visibilityState") == "visible"
    deadline = time.monotonic() + 20
    while _row_status(browser, job_id) != "SUCCEEDED":
        assert time.monotonic() < deadline, (_row_status(browser, job_id), _text(browser, "[data-live-status]"))
        time.sleep(0.2)
    assert browser.execute_script("return window.framewiseNoReload === true;")


def test_a_running_job_s_page_follows_it_to_the_end(dog_job, stack, browser, admin_user):
    ensure_logged_in(browser, stack.url, admin_user)
    client = stack.client()
    job_id = client.start_label_detection(Video=stack.upload(media(DOG_VIDEO), "watched.mp4"))["JobId"]
    browser.get(f"{stack.url}/admin/jobs/{job_id}")
    browser.execute_script("window.framewiseNoReload = true;")
    assert _text(browser, "[data-live] .status") == "IN_PROGRESS"
    deadline = time.monotonic() + 300
    while _text(browser, "[data-live] .status") != "SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert browser.execute_script("return window.framewiseNoReload === true;")
    link = browser.find_element(By.LINK_TEXT, "Finished: show the results")
    link.click()
    wait_for_new_page(browser, link)
    assert browser.find_elements(By.CSS_SELECTOR, 'figure.thumb g.box[data-caption="Dog"]')

"""API keys and webhook endpoints made from the admin page in a real Chromium, then used: the key
is shown once and works on the REST API until revoked, with its last use shown; an endpoint
registered for a tenant gets that tenant's job events at a real receiver, whose failed deliveries
give up, show on the workers page, and go out again from its Redeliver button."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.admin.conftest import axe_violations, ensure_logged_in, screenshot, session_for, wait_for_new_page
from tests.e2e.conftest import TENANT_A

pytestmark = pytest.mark.e2e


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 500 until told to accept."""

    def __init__(self):
        self.accept = False
        self.received: list[tuple[str, bool]] = []  # (webhook-id, accepted)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append((self.headers["webhook-id"], receiver.accept))
                self.send_response(204 if receiver.accept else 500)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def _submit(browser, form_selector: str) -> None:
    button = browser.find_element(By.CSS_SELECTOR, f"{form_selector} button[type=submit]")
    button.click()
    wait_for_new_page(browser, button)


def _wait(predicate, timeout: float, what):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.3)
    return found


def test_an_api_key_is_shown_once_works_and_is_revoked(stack, browser, admin_user):
    browser = ensure_logged_in(browser, stack.url, admin_user)
    browser.get(f"{stack.url}/admin/keys")
    browser.find_element(By.ID, "key-name").send_keys("billing app")
    _submit(browser, "form[action$='/admin/keys']")
    key = browser.find_element(By.ID, "new-key").get_attribute("value")
    assert key.startswith("fwk_")
    key_id = key.split("_")[1]
    row = f'tr[data-key="{key_id}"]'
    assert "never" in browser.find_element(By.CSS_SELECTOR, f"{row} [data-last-used]").text
    screenshot(browser, "11-api-key-created")
    assert axe_violations(browser) == []

    rest = requests.Session()
    rest.headers["Authorization"] = f"Bearer {key}"
    assert rest.get(f"{stack.url}/v1/jobs").status_code == 200
    browser.get(f"{stack.url}/admin/keys")
    assert key not in browser.page_source, "the secret is shown once, never again"
    assert "never" not in browser.find_element(By.CSS_SELECTOR, f"{row} [data-last-used]").text

    browser.execute_script("window.confirm = () => true;")
    _submit(browser, f"{row} form")
    assert "Revoked" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    assert "revoked" in browser.find_element(By.CSS_SELECTOR, row).text
    assert rest.get(f"{stack.url}/v1/jobs").status_code == 401
    # Revoking needs the CSRF token like every form.
    forged = session_for(browser).post(f"{stack.url}/admin/keys/{key_id}/revoke", data={"csrf_token": "x"})
    assert forged.status_code == 400


def test_a_webhook_endpoint_gives_up_then_is_redelivered_from_the_workers_page(stack, browser, admin_user,
                                                                                 receiver, tmp_path):
    browser = ensure_logged_in(browser, stack.url, admin_user)
    browser.get(f"{stack.url}/admin/keys")
    # The SSRF guard is the REST API's: a cloud metadata address is refused with its reason.
    browser.find_element(By.ID, "wh-tenant").send_keys(TENANT_A[0])
    browser.find_element(By.ID, "wh-url").send_keys("http://169.254.169.254/latest")
    _submit(browser, "form[action$='/admin/webhooks']")
    assert browser.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=h-webhooks] .error")
    browser.find_element(By.ID, "wh-url").clear()
    browser.find_element(By.ID, "wh-url").send_keys(receiver.url)
    browser.find_element(By.ID, "wh-description").send_keys("ops receiver")
    _submit(browser, "form[action$='/admin/webhooks']")
    secret = browser.find_element(By.ID, "new-secret").get_attribute("value")
    assert secret.startswith("whsec_")
    endpoint = browser.find_element(By.CSS_SELECTOR, "tr[data-endpoint]").get_attribute("data-endpoint")

    # A job of that tenant that fails at once (an empty file) sends job.queued, started and failed.
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    client = stack.client()
    job_id = client.start_label_detection(Video=stack.upload(empty, "admin-empty.mp4"))["JobId"]
    assert stack.wait_for_job(client, job_id)["JobStatus"] == "FAILED"

    browser.get(f"{stack.url}/admin/workers")
    browser.execute_script("window.framewiseNoReload = true;")
    rows = f'tr[data-delivery] a[href$="{job_id}"]'
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, rows), 90,
          lambda: f"no delivery gave up; the receiver saw {receiver.received}")
    assert all(not accepted for _, accepted in receiver.received)
    screenshot(browser, "12-workers-failed-webhooks")
    assert axe_violations(browser) == []

    receiver.accept = True
    row = browser.find_element(By.CSS_SELECTOR, rows).find_element(By.XPATH, "./ancestor::tr")
    delivery = row.get_attribute("data-delivery")
    row.find_element(By.XPATH, ".//button[normalize-space()='Redeliver']").click()
    _wait(lambda: any(accepted for _, accepted in receiver.received), 30, "the redelivery never arrived")
    _wait(lambda: not browser.find_elements(By.CSS_SELECTOR, f'tr[data-delivery="{delivery}"]'), 30,
          "the delivered row is still listed")
    assert browser.execute_script("return window.framewiseNoReload === true;")

    browser.get(f"{stack.url}/admin/keys")
    assert "never" not in browser.find_element(By.CSS_SELECTOR, f'tr[data-endpoint="{endpoint}"] [data-last-used]').text
    screenshot(browser, "13-keys-and-webhooks")
    assert axe_violations(browser) == []
    browser.execute_script("window.confirm = () => true;")
    _submit(browser, f'tr[data-endpoint="{endpoint}"] form')
    assert "Deleted" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-endpoint="{endpoint}"]')

"""Who gets in: logging in and out, every admin URL behind the login, CSRF, failed-login limits,
the cookie's and the pages' security headers. A real headless Chromium against the real stack."""
from __future__ import annotations

import re

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.admin.conftest import (
    PASSWORD,
    USERNAME,
    axe_violations,
    create_user,
    log_in,
    screenshot,
    session_for,
    wait_for_new_page,
)

pytestmark = pytest.mark.e2e

ADMIN_URLS = ["/admin", "/admin/", "/admin/jobs", "/admin/jobs/rows?status=FAILED", "/admin/jobs/abc123",
              "/admin/jobs/abc123/at/1000", "/admin/jobs/abc123/state", "/admin/jobs/abc123/frame.jpg?t=0&w=320",
              "/admin/jobs/abc123/results.jsonl", "/admin/workers", "/admin/workers/live", "/admin/keys", "/admin/collections",
              "/admin/collections/1", "/admin/no-such-page"]
# Every action, sent logged out (with no CSRF token to show): refused, never done.
ADMIN_ACTIONS = ["/admin/jobs/abc123/cancel", "/admin/jobs/abc123/resubmit", "/admin/jobs/abc123/delete",
                 "/admin/outbox/1/redeliver", "/admin/keys", "/admin/keys/abc/revoke", "/admin/webhooks",
                 "/admin/webhooks/wh_x/delete", "/admin/collections/1/faces/delete", "/admin/celebrities",
                 "/admin/celebrities/abc/delete"]


def _text(browser, selector: str) -> str | None:
    return browser.execute_script("const e = document.querySelector(arguments[0]); return e && e.innerText;",
                                  selector)


def _login_form(http: requests.Session, url: str) -> str:
    page = http.get(f"{url}/admin/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_every_admin_url_redirects_to_login_when_logged_out(stack, admin_user):
    http = requests.Session()
    for path in ADMIN_URLS:
        response = http.get(f"{stack.url}{path}", allow_redirects=True)
        assert response.url.startswith(f"{stack.url}/admin/login"), (path, response.url)
        assert 'name="password"' in response.text, path
        assert response.history and response.history[-1].status_code == 302, path
    for path in ADMIN_ACTIONS:
        response = http.post(f"{stack.url}{path}", allow_redirects=False)
        assert response.status_code in (302, 400), (path, response.status_code)
        assert response.status_code == 400 or response.headers["Location"].startswith("/admin/login"), path
    assert http.post(f"{stack.url}/admin/logout", allow_redirects=False).headers["Location"].startswith(
        "/admin/login")


def test_login_goes_back_to_the_page_asked_for(browser, stack, admin_user):
    browser.delete_all_cookies()
    browser.get(f"{stack.url}/admin/workers")
    assert "/admin/login?next=" in browser.current_url
    screenshot(browser, "01-login")
    assert axe_violations(browser) == []
    # Keyboard first: the first Tab reaches "Skip to content", the next ones the form.
    from selenium.webdriver.common.keys import Keys

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to content"
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "username"
    log_in(browser, stack.url, *admin_user, navigate=False)
    assert browser.current_url == f"{stack.url}/admin/workers"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Workers & queues"


def test_cookie_and_headers(stack, admin_user):
    http = requests.Session()
    token = _login_form(http, stack.url)
    response = http.post(f"{stack.url}/admin/login", data={"username": USERNAME, "password": PASSWORD,
                                                           "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/jobs"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS the cookie is Secure
    page = http.get(f"{stack.url}/admin/jobs")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # no inline script at all
    # The API's own answers are untouched: no admin cookie is set on them.
    assert http.get(f"{stack.url}/healthz").headers.get("Set-Cookie") is None


def test_a_forged_csrf_token_is_refused(logged_in, stack):
    browser = logged_in
    # The log-out form, with its token replaced: refused, and the session stays.
    form = browser.find_element(By.CSS_SELECTOR, "form.logout")
    browser.execute_script("arguments[0].querySelector('input[name=csrf_token]').value = 'forged';"
                           "arguments[0].submit();", form)
    wait_for_new_page(browser, form)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Request refused"
    browser.get(f"{stack.url}/admin/jobs")
    assert browser.current_url == f"{stack.url}/admin/jobs", "still logged in"
    # Without any token, from another site's form or a script holding the cookie: refused too.
    http = session_for(browser)
    for path in ADMIN_ACTIONS:
        response = http.post(f"{stack.url}{path}", allow_redirects=False)
        assert response.status_code in (302, 400), (path, response.status_code)
        assert response.status_code == 400 or response.headers["Location"].startswith("/admin/login"), path
    assert http.post(f"{stack.url}/admin/logout", allow_redirects=False).status_code == 400
    token = browser.find_element(By.CSS_SELECTOR, "form.logout input[name=csrf_token]").get_attribute("value")
    assert http.post(f"{stack.url}/admin/logout", data={"csrf_token": token + "x"},
                     allow_redirects=False).status_code == 400
    # The login form checks its token as well.
    assert requests.post(f"{stack.url}/admin/login", data={"username": USERNAME, "password": PASSWORD,
                                                           "csrf_token": "forged"}).status_code == 400


def test_five_wrong_passwords_are_rate_limited(browser, stack):
    name, password = "limited-ops", "the right password, at last"
    assert create_user(stack, name, password).returncode == 0
    browser.delete_all_cookies()
    for _ in range(5):
        log_in(browser, stack.url, name, "a wrong password")
        assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == "Wrong username or password."
    log_in(browser, stack.url, name, password)  # the right one, too late
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert alert.startswith("Too many failed logins"), alert
    screenshot(browser, "08-login-rate-limited")
    assert "/admin/login" in browser.current_url
    http = requests.Session()
    token = _login_form(http, stack.url)
    assert http.post(f"{stack.url}/admin/login", data={"username": name, "password": password,
                                                       "csrf_token": token}).status_code == 429
    # Another operator is not locked out by it.
    token = _login_form(http, stack.url)
    assert http.post(f"{stack.url}/admin/login", data={"username": USERNAME, "password": PASSWORD,
                                                       "csrf_token": token}, allow_redirects=False).status_code == 302


def test_create_user_refuses_a_short_password_and_a_taken_name(stack, admin_user):
    assert "at least" in create_user(stack, "short-ops", "short").stderr
    assert "already exists" in create_user(stack, USERNAME, "another long password").stderr


def test_a_new_password_ends_the_old_sessions(stack):
    name, old, new = "moving-ops", "the first long password", "the second long password"
    assert create_user(stack, name, old).returncode == 0
    http = requests.Session()
    token = _login_form(http, stack.url)
    assert http.post(f"{stack.url}/admin/login", data={"username": name, "password": old, "csrf_token": token},
                     allow_redirects=False).status_code == 302
    assert http.get(f"{stack.url}/admin/jobs", allow_redirects=False).status_code == 200
    done = create_user(stack, name, new, command="set-password")
    assert done.returncode == 0, done.stderr
    assert http.get(f"{stack.url}/admin/jobs", allow_redirects=False).headers["Location"].startswith("/admin/login")
    assert "No admin user" in create_user(stack, "nobody-here", new, command="set-password").stderr


def test_log_out(logged_in, stack):
    browser = logged_in
    button = browser.find_element(By.CSS_SELECTOR, "form.logout button")
    button.click()
    wait_for_new_page(browser, button)
    assert "/admin/login" in browser.current_url, (browser.current_url, _text(browser, "main"))
    browser.get(f"{stack.url}/admin/jobs")
    assert "/admin/login" in browser.current_url

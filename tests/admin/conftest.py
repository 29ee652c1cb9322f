"""A real headless Chromium (Debian's `chromium`, driven through `chromium-driver` by Selenium)
against the real stack of tests/e2e: web, workers, dispatcher, PostgreSQL, Redis, moto's S3.

Screenshots of the main pages are written to tests/admin/screenshots/ (git-ignored).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO
from tests.e2e import conftest as e2e

# Webhooks to the tests' own receiver on 127.0.0.1, and a retry window of seconds, not 72 hours,
# so a delivery gives up (and can be redelivered from the workers page) within a test.
STACK_ENV = {"FRAMEWISE_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8", "FRAMEWISE_WEBHOOK_RETRY_HOURS": "0.004",
             "FRAMEWISE_WEBHOOK_BACKOFF_SECONDS": "1", "FRAMEWISE_WEBHOOK_BACKOFF_MAX_SECONDS": "2"}


@pytest.fixture(scope="package", name="stack")
def stack(tmp_path_factory, postgres, redis_server, models_dir):
    """The e2e stack, started for this package alone and stopped when its tests end: it uses the same
    Redis database as tests/e2e's own stack, whose workers must never see this one's tasks."""
    e2e.STACK_EXTRA_ENV.update(STACK_ENV)
    try:
        yield from e2e.stack.__wrapped__(tmp_path_factory, postgres, redis_server, models_dir)
    finally:
        e2e.STACK_EXTRA_ENV.clear()


SCREENSHOTS = Path(__file__).parent / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
USERNAME = "ops"
PASSWORD = "a long operator password"
WIDTH, HEIGHT = 1280, 900


def _executable(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"none of {names} is installed; tests/run.sh installs Debian's chromium and chromium-driver")


def create_user(stack, username: str, password: str, command: str = "create-user") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", "admin", command, username, "--password-stdin"],
                          check=False, input=password + "\n", text=True, capture_output=True, cwd=REPO, env=stack.env)


@pytest.fixture(scope="package")
def admin_user(stack):
    done = create_user(stack, USERNAME, PASSWORD)
    assert done.returncode == 0, done.stderr
    return USERNAME, PASSWORD


@pytest.fixture(scope="package")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _executable("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WIDTH},{HEIGHT}", "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=_executable("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def log_in(driver, url: str, username: str, password: str, *, navigate: bool = True) -> None:
    """Fill in and send the login form (of the login page, or of the page the browser is on)."""
    from selenium.webdriver.common.by import By

    if navigate:
        driver.get(f"{url}/admin/login")
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    button = driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]")
    button.click()
    wait_for_new_page(driver, button)


def wait_for_new_page(driver, old_element, timeout: float = 60) -> None:
    """Until the page that held `old_element` has been replaced by the next one."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(expected_conditions.staleness_of(old_element))
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.readyState") == "complete")


def ensure_logged_in(browser, url: str, user: tuple[str, str]):
    """The browser with an operator's session (logging in again if a test ended it), on the jobs list."""
    browser.get(f"{url}/admin/jobs")
    if "/admin/login" in browser.current_url:
        log_in(browser, url, *user)
    assert browser.current_url.startswith(f"{url}/admin/jobs"), browser.current_url
    return browser


@pytest.fixture
def logged_in(browser, stack, admin_user):
    return ensure_logged_in(browser, stack.url, admin_user)


def session_for(driver) -> requests.Session:
    """A requests session carrying the browser's cookies (for downloads)."""
    http = requests.Session()
    for cookie in driver.get_cookies():
        http.cookies.set(cookie["name"], cookie["value"], path=cookie.get("path", "/"))
    return http


def screenshot(driver, name: str) -> Path:
    """The whole page, not only the window: the window is stretched to the page's height first."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    size = driver.get_window_size()
    driver.set_window_size(size["width"], min(max(height + 120, HEIGHT), 4000))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    return path


def axe_violations(driver) -> list[dict]:
    """axe-core's violations of serious or critical impact on the current page."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));")
    assert isinstance(result, list), result
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result if v["impact"] in ("serious", "critical")]

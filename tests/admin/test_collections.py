"""Collections and the celebrity gallery in a real Chromium: faces a tenant indexed with the AWS
API are listed (each drawn as its box in its photo: IndexFaces keeps no image) and deleted from the
page; a celebrity added from uploaded photos is then recognised by RecognizeCelebrities."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.admin.conftest import axe_violations, ensure_logged_in, screenshot, wait_for_new_page
from tests.conftest import media

pytestmark = pytest.mark.e2e


def _submit(browser, button) -> None:
    button.click()
    wait_for_new_page(browser, button)


def test_browse_and_delete_faces_of_a_collection(stack, browser, admin_user):
    client = stack.client()
    client.create_collection(CollectionId="admin-people")
    indexed = {}
    for name in ("obama.jpg", "biden.jpg", "lin-manuel-miranda.png"):
        record = client.index_faces(CollectionId="admin-people", Image={"Bytes": media(f"faces/{name}").read_bytes()},
                                    ExternalImageId=name.split(".")[0], MaxFaces=1)["FaceRecords"][0]["Face"]
        indexed[record["FaceId"]] = record
    lin = next(i for i, r in indexed.items() if r["ExternalImageId"] == "lin-manuel-miranda")
    # A face-search job over the Hamilton clip, where Lin-Manuel Miranda is on stage.
    clip = stack.upload(media("faces/short_hamilton_clip.mp4"), "admin/hamilton.mp4")
    search = client.start_face_search(Video=clip, CollectionId="admin-people")["JobId"]
    assert stack.wait_for_job(client, search, getter="get_face_search")["JobStatus"] == "SUCCEEDED"
    browser = ensure_logged_in(browser, stack.url, admin_user)
    browser.get(f"{stack.url}/admin/collections")
    link = browser.find_element(By.LINK_TEXT, "admin-people")
    assert "3" in browser.find_element(By.CSS_SELECTOR, 'tr[data-collection="admin-people"]').text
    _submit(browser, link)
    cards = browser.find_elements(By.CSS_SELECTOR, "li[data-face]")
    assert {c.get_attribute("data-face") for c in cards} == set(indexed)
    obama = next(i for i, r in indexed.items() if r["ExternalImageId"] == "obama")
    card = browser.find_element(By.CSS_SELECTOR, f'li[data-face="{obama}"]')
    assert "obama" in card.text
    box = indexed[obama]["BoundingBox"]
    drawn = card.find_element(By.CSS_SELECTOR, "rect.face-box")
    assert float(drawn.get_attribute("x")) == pytest.approx(box["Left"] * 100, abs=0.01)
    assert float(drawn.get_attribute("width")) == pytest.approx(box["Width"] * 100, abs=0.01)
    assert "matched in 1 job(s)" in browser.find_element(By.CSS_SELECTOR, f'li[data-face="{lin}"]').text
    assert browser.find_elements(By.CSS_SELECTOR, f'dl.facts a[href$="/admin/jobs/{search}"]')
    screenshot(browser, "14-collection")
    assert axe_violations(browser) == []

    browser.execute_script("window.confirm = () => true;")
    card.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    _submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Delete chosen faces']"))
    assert "Deleted 1 face(s)." in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    assert not browser.find_elements(By.CSS_SELECTOR, f'li[data-face="{obama}"]')
    left = {f["FaceId"] for f in client.list_faces(CollectionId="admin-people")["Faces"]}
    assert left == set(indexed) - {obama}


def test_add_a_celebrity_from_photos_then_see_the_jobs_that_named_them(stack, browser, admin_user):
    browser = ensure_logged_in(browser, stack.url, admin_user)
    browser.get(f"{stack.url}/admin/collections")
    browser.find_element(By.ID, "celebrity-name").send_keys("Lin-Manuel Miranda")
    browser.find_element(By.ID, "celebrity-photos").send_keys(str(media("faces/lin-manuel-miranda.png").resolve()))
    browser.find_element(By.ID, "celebrity-urls").send_keys("https://en.wikipedia.org/wiki/Lin-Manuel_Miranda")
    _submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Add to the gallery']"))
    assert "Added 1 photo(s) of Lin-Manuel Miranda" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    celebrity = browser.find_element(By.XPATH, "//tr[th[normalize-space()='Lin-Manuel Miranda']]").get_attribute(
        "data-celebrity")

    # A celebrity job over the Hamilton clip names him from the gallery the page filled.
    client = stack.client()
    clip = stack.upload(media("faces/short_hamilton_clip.mp4"), "admin/hamilton-celebrities.mp4")
    job_id = client.start_celebrity_recognition(Video=clip)["JobId"]
    found = stack.wait_for_job(client, job_id, getter="get_celebrity_recognition")
    assert celebrity in {c["Celebrity"]["Id"] for c in found["Celebrities"]}, found
    browser.get(f"{stack.url}/admin/collections")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-celebrity="{celebrity}"]')
    assert row.find_elements(By.CSS_SELECTOR, f'a[href$="/admin/jobs/{job_id}"]'), row.text
    screenshot(browser, "15-collections-and-gallery")
    assert axe_violations(browser) == []

    # Removed from the gallery, nobody is recognised any more.
    photo = {"Bytes": media("faces/lin-manuel-miranda.png").read_bytes()}
    assert client.recognize_celebrities(Image=photo)["CelebrityFaces"]
    browser.execute_script("window.confirm = () => true;")
    _submit(browser, row.find_element(By.XPATH, ".//button[normalize-space()='Remove']"))
    assert "Removed" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    assert not client.recognize_celebrities(Image=photo)["CelebrityFaces"]

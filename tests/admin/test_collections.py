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
    screenshot(browser, "14-collection")
    assert axe_violations(browser) == []

    browser.execute_script("window.confirm = () => true;")
    card.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    _submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Delete chosen faces']"))
    assert "Deleted 1 face(s)." in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    assert not browser.find_elements(By.CSS_SELECTOR, f'li[data-face="{obama}"]')
    left = {f["FaceId"] for f in client.list_faces(CollectionId="admin-people")["Faces"]}
    assert left == set(indexed) - {obama}


def test_add_a_celebrity_from_photos_then_recognise_them(stack, browser, admin_user):
    browser = ensure_logged_in(browser, stack.url, admin_user)
    browser.get(f"{stack.url}/admin/collections")
    browser.find_element(By.ID, "celebrity-name").send_keys("Barack Obama")
    browser.find_element(By.ID, "celebrity-photos").send_keys(str(media("faces/obama.jpg").resolve()))
    browser.find_element(By.ID, "celebrity-urls").send_keys("https://en.wikipedia.org/wiki/Barack_Obama")
    _submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Add to the gallery']"))
    assert "Added 1 photo(s) of Barack Obama" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    row = browser.find_element(By.XPATH, "//tr[th[normalize-space()='Barack Obama']]")
    celebrity = row.get_attribute("data-celebrity")
    screenshot(browser, "15-collections-and-gallery")
    assert axe_violations(browser) == []

    # Another photo of him is recognised by the AWS API from the gallery the page filled.
    found = stack.client().recognize_celebrities(Image={"Bytes": media("faces/obama2.jpg").read_bytes()})
    assert [c["Id"] for c in found["CelebrityFaces"]] == [celebrity], found

    # Removed from the gallery, nobody is recognised any more.
    browser.execute_script("window.confirm = () => true;")
    _submit(browser, row.find_element(By.XPATH, ".//button[normalize-space()='Remove']"))
    assert "Removed" in browser.find_element(By.CSS_SELECTOR, "main .notice").text
    assert not stack.client().recognize_celebrities(Image={"Bytes": media("faces/obama2.jpg").read_bytes()})["CelebrityFaces"]

"""The operator console in a real headless Chromium, fed by a daemon that takes frames over a real mosquitto:
live view with overlays, the review queue's "Good" making a new bank version, rollback, paging and
"Defective" keeping the frame for reports.
Screenshots of the live view and the review queue are kept under the test's tmp folder."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from support.browser import browser, page_wait  # noqa: F401  (fixture)
from support.console import console_config
from support.images import part_images
from support.inprocess import MqttListener, json_frame, running_daemon, small_images
from support.line import IMAGE_TOPIC, PREFIX

PAGE_WITHIN_S = 2.0
RESULTS = f"{PREFIX}/line/result"
HEATMAPS = f"{PREFIX}/line/heatmap"


@pytest.fixture
def line_images(data_root):
    """A good bottle (the banks' golden image) and two contaminated ones the tiny bank fails."""
    return {"good": part_images(data_root, 1)[0],
            "defect": small_images(data_root, "bottle", "test/contamination", 2)}


def open_console(driver, url: str) -> None:
    driver.get(url)
    page_wait(driver, 15).until(lambda d: d.find_element(By.ID, "connection").text == "live")


def source_card_shows(driver, part_id: str, frame_id: str) -> bool:
    """The live card shows ``part_id``'s frame, its image loaded (read in one step: the page swaps frames)."""
    return driver.execute_script("""
        const card = document.getElementById("source-line");
        const image = card && card.querySelector(".frame img");
        return Boolean(card && card.dataset.frameId === arguments[0] && card.textContent.includes(arguments[1])
                       && image && image.complete && image.naturalWidth > 0);""", frame_id, f"part {part_id}")


def send(listener: MqttListener, image, part_id: str) -> tuple[dict, float]:
    """Publish a frame, wait for its MQTT result; (result, when it was published)."""
    before = len(listener.messages[RESULTS])
    published = time.monotonic()
    listener.publish(IMAGE_TOPIC, json_frame(image, part_id))
    listener.wait_for(RESULTS, before + 1)
    result = listener.json_messages(RESULTS)[before]
    assert result["part_id"] == part_id, result
    return result, published


def published_overlay(listener: MqttListener, frame_id: str) -> bytes:
    for payload, properties in zip(listener.messages[HEATMAPS], listener.properties[HEATMAPS]):
        if dict(properties.UserProperty).get("frame_id") == frame_id:
            return payload
    raise AssertionError(f"no heatmap published for {frame_id}")


def test_frames_appear_live_with_overlays(mqtt_broker, banks_dir, tmp_path, line_images, browser):
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    try:
        with running_daemon(console_config(mqtt_broker, banks_dir, tmp_path)) as daemon:
            open_console(browser, daemon.console.url)
            for part_id, image, verdict in (("warm-up", line_images["good"], "pass"),
                                            ("good-1", line_images["good"], "pass"),
                                            ("defect-1", line_images["defect"][0], "fail")):
                result, published = send(listener, image, part_id)
                assert result["verdict"] == verdict, result
                page_wait(browser, PAGE_WITHIN_S).until(
                    lambda d: source_card_shows(d, part_id, result["frame_id"]))
                shown_after = time.monotonic() - published
                assert shown_after < PAGE_WITHIN_S, f"{part_id} on the page {shown_after:.2f}s after it was published"
                card = browser.find_element(By.ID, "source-line")
                assert card.find_element(By.CSS_SELECTOR, ".verdict").text == verdict.upper()
                assert len(card.find_elements(By.CSS_SELECTOR, ".box")) == len(result["defects"])
                shown = urllib.request.urlopen(card.find_element(By.CSS_SELECTOR, "img").get_attribute("src")).read()
                assert shown == published_overlay(listener, result["frame_id"])
            assert result["defects"], "the contaminated bottle should carry a defect box"
            product = browser.find_element(By.ID, "product-bottle")
            page_wait(browser, 5).until(lambda d: "2 passed · 1 failed" in product.text)  # warm-up counts
            assert product.find_element(By.CSS_SELECTOR, ".serving-version").text == "v0001"
            browser.find_element(By.ID, "live").screenshot(str(tmp_path / "console-live.png"))
    finally:
        listener.close()
    assert (tmp_path / "console-live.png").stat().st_size > 10_000
    print(f"live view screenshot: {tmp_path / 'console-live.png'}")


def review_item(driver, frame_id: str):
    found = driver.find_elements(By.CSS_SELECTOR, f'.review-item[data-frame-id="{frame_id}"]')
    return found[0] if found else None


def serving(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "#product-bottle .serving-version").text


def test_good_makes_a_new_version_and_rollback_restores(mqtt_broker, banks_dir, tmp_path, line_images, browser):
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    defect = line_images["defect"][0]
    try:
        with running_daemon(console_config(mqtt_broker, banks_dir, tmp_path)) as daemon:
            open_console(browser, daemon.console.url)
            rejected, _ = send(listener, defect, "rejected-1")
            assert rejected["verdict"] == "fail" and rejected["bank_version"] == "v0001", rejected
            page_wait(browser, 10).until(lambda d: d.execute_script(
                "return Boolean(arguments[0] && arguments[0].querySelector('img').naturalWidth > 0)",
                review_item(d, rejected["frame_id"])))
            browser.find_element(By.ID, "review").screenshot(str(tmp_path / "console-review.png"))

            review_item(browser, rejected["frame_id"]).find_element(By.CSS_SELECTOR, "button.good").click()
            page_wait(browser, 60).until(lambda d: serving(d) == "v0002")
            page_wait(browser, 10).until(
                lambda d: "marked good" in review_item(d, rejected["frame_id"]).text)
            again, _ = send(listener, defect, "re-sent")
            assert (again["verdict"], again["bank_version"]) == ("pass", "v0002"), again

            rollback = browser.find_element(By.CSS_SELECTOR, '#product-bottle tr[data-version="v0001"] button.rollback')
            rollback.click()
            page_wait(browser, 60).until(lambda d: serving(d) == "v0003")
            event = page_wait(browser, 10).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, '#event-list li[data-event="bank_rolled_back"]'))[0]
            assert "restored v0001" in event.text and "replaced v0002" in event.text, event.text
            row = browser.find_element(By.CSS_SELECTOR, '#product-bottle tr[data-version="v0003"]')
            assert "restores v0001" in row.text
            restored, _ = send(listener, defect, "after-rollback")
            assert (restored["verdict"], restored["bank_version"]) == ("fail", "v0003"), restored
            assert restored["threshold"] == rejected["threshold"]
        events = [e["event"] for e in listener.json_messages(f"{PREFIX}/events")]
    finally:
        listener.close()
    assert events.count("bank_swapped") == 2 and "bank_rolled_back" in events, events
    assert (tmp_path / "console-review.png").stat().st_size > 10_000
    print(f"review queue screenshot: {tmp_path / 'console-review.png'}")


def test_review_queue_pages_newest_first_and_keeps_defective_frames(mqtt_broker, banks_dir, tmp_path, line_images, browser):
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    try:
        with running_daemon(console_config(mqtt_broker, banks_dir, tmp_path)) as daemon:
            open_console(browser, daemon.console.url)
            frames = [send(listener, line_images["defect"][i % 2], f"reject-{i}")[0]["frame_id"] for i in range(13)]
            page_wait(browser, 10).until(lambda d: "13 rejected" in d.find_element(By.ID, "review-total").text)
            page_wait(browser, 10).until(lambda d: review_item(d, frames[-1]) is not None)
            shown = [e.get_attribute("data-frame-id") for e in browser.find_elements(By.CSS_SELECTOR, ".review-item")]
            assert shown == frames[::-1][:12]
            browser.find_element(By.ID, "review-older").click()
            page_wait(browser, 10).until(lambda d: review_item(d, frames[0]) is not None)
            assert len(browser.find_elements(By.CSS_SELECTOR, ".review-item")) == 1
            assert browser.find_element(By.ID, "review-page").text == "page 2 of 2"

            review_item(browser, frames[0]).find_element(By.CSS_SELECTOR, "button.defective").click()
            page_wait(browser, 30).until(lambda d: "marked defective" in review_item(d, frames[0]).text)
            assert serving(browser) == "v0001"  # a defective frame changes no bank
    finally:
        listener.close()
    kept = [json.loads(p.read_text()) for p in (banks_dir / "bottle" / "feedback" / "defective").glob("*.json")]
    assert [(k["frame_id"], k["label"], k["new_version"]) for k in kept] == [(frames[0], "defective", None)]

"""The viewer in Debian's Chromium: wheel, keys, slider and cine move the slice, and the address follows."""

from __future__ import annotations

import re

import pytest

from ..support.data import VOLUME_SLICES, Archive

pytestmark = pytest.mark.browser

IMAGE_LOADED = "() => { const i = document.getElementById('viewer-image'); return i.complete && i.naturalWidth > 0; }"


def caption_number(page) -> int:
    return int(page.locator("[data-caption-number]").inner_text())


def wait_for_slice(page, number: int) -> None:
    page.wait_for_url(re.compile(rf"[?&]slice={number}(&|$)"), timeout=5000)
    page.wait_for_function(IMAGE_LOADED, timeout=5000)
    assert caption_number(page) == number
    assert f"slice={number}" in page.locator("#viewer-image").get_attribute("src")


def open_viewer(page, base: str, archive: Archive, query: str = "slice=10") -> None:
    page.goto(f"{base}/series/{archive.volume_series}/view?{query}")
    page.wait_for_function(IMAGE_LOADED, timeout=10000)


def test_wheel_and_keys_move_the_slice_and_the_address_follows(live_server, page, archive: Archive):
    open_viewer(page, live_server.url, archive)
    page.hover("[data-viewer-figure]")
    page.mouse.wheel(0, 100)
    wait_for_slice(page, 11)
    page.mouse.wheel(0, -100)
    wait_for_slice(page, 10)
    for key, number in (
        ("ArrowDown", 11),
        ("ArrowRight", 12),
        ("ArrowUp", 11),
        ("PageDown", 21),
        ("PageUp", 11),
        ("End", VOLUME_SLICES),
        ("Home", 1),
    ):
        page.keyboard.press(key)
        wait_for_slice(page, number)
    page.locator("[data-slider]").fill("25")
    wait_for_slice(page, 25)
    assert page.locator("a[rel=next]").get_attribute("href").endswith("slice=26")
    broken = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).length")
    assert broken == 0


def test_cine_plays_and_stops(live_server, page, archive: Archive):
    open_viewer(page, live_server.url, archive, "slice=1")
    page.fill("[data-fps]", "20")
    page.click("[data-play]")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-caption-number]').textContent) >= 5", timeout=10000
    )
    assert page.locator("[data-play]").get_attribute("aria-pressed") == "true"
    page.click("[data-play]")
    assert page.locator("[data-play]").get_attribute("aria-pressed") == "false"
    stopped = caption_number(page)
    page.wait_for_timeout(400)  # 8 frames at 20 fps, had it kept playing
    assert caption_number(page) == stopped
    assert re.search(rf"[?&]slice={stopped}(&|$)", page.url)


def test_a_copied_link_reopens_the_same_view(live_server, page, archive: Archive):
    open_viewer(page, live_server.url, archive)
    page.click(".plane-tabs >> text=Sagittal")
    page.wait_for_url(re.compile(r"plane=sagittal"))
    page.select_option("select[name=preset]", "full")
    page.wait_for_url(re.compile(r"preset=full"))
    page.wait_for_function(IMAGE_LOADED)
    page.hover("[data-viewer-figure]")
    page.mouse.wheel(0, 100)
    wait_for_slice(page, 33)
    shared, caption = page.url, page.locator(".viewer__caption").inner_text()
    source = page.locator("#viewer-image").evaluate("img => img.src")
    fresh = page.context.new_page()  # the view lives in the URL only: no storage, no session state
    fresh.goto(shared)
    fresh.wait_for_function(IMAGE_LOADED)
    assert fresh.locator(".viewer__caption").inner_text() == caption
    assert fresh.locator("#viewer-image").evaluate("img => img.src") == source
    assert "Sagittal 33 / 64" in caption and "Full range" in caption


def test_next_link_works_with_javascript_off(live_server, page, archive: Archive):
    page.route(re.compile(r"\.js(\?|$)"), lambda route: route.abort())  # as a browser without JavaScript
    page.goto(f"{live_server.url}/series/{archive.volume_series}/view?slice=5")
    assert page.locator("[data-slider]").is_hidden() and page.locator("[data-cine]").is_hidden()
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"slice=6"))
    assert caption_number(page) == 6
    page.fill("[data-number-input]", "30")
    page.click("text=Go")
    page.wait_for_url(re.compile(r"slice=30"))
    assert caption_number(page) == 30

"""End to end in Debian's Chromium: click from the home page down to one instance."""

from __future__ import annotations

import pytest

from ..support.data import Archive
from ..support.web import assert_images_loaded, sign_in

pytestmark = pytest.mark.browser


def walk_down(page, base: str, archive: Archive) -> None:
    page.goto(base + "/")
    assert_images_loaded(page)
    page.fill("#home-q", "volume")
    page.press("#home-q", "Enter")
    page.wait_for_url("**/patients?q=volume")
    page.click("text=Test Volume")
    page.wait_for_url(f"**/patients/{archive.volume[0].patient}")
    assert page.title().startswith("Test Volume")
    assert_images_loaded(page)
    page.click(".card__link >> text=Volume study")
    page.wait_for_url(f"**/studies/{archive.volume[0].study}")
    assert_images_loaded(page)
    page.click(".card__link >> text=T1 AXIAL 3D")
    page.wait_for_url(f"**/series/{archive.volume_series}")
    assert_images_loaded(page)
    page.click(".card__link >> text='1 / 40'")
    page.wait_for_url(f"**/instances/{archive.volume[0].instance}")
    assert_images_loaded(page)
    assert page.locator("#preview").evaluate("img => img.naturalWidth") == 64
    crumbs = page.locator(".breadcrumbs li").all_inner_texts()
    assert crumbs[:3] == ["Home", "Patients", "Test Volume"]


def test_click_from_home_to_an_instance(live_server, page, archive: Archive):
    walk_down(page, live_server.url, archive)
    page.fill("#tag-filter", "pixelspacing")
    visible = page.locator("#tag-table tbody tr:visible").all_inner_texts()
    assert visible and all("PixelSpacing" in row for row in visible)


def test_the_same_walk_works_without_javascript(live_server, browser, archive: Archive):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server.url)
        walk_down(page, live_server.url, archive)
    finally:
        context.close()


def test_frame_slider_updates_image_and_address(live_server, page, archive: Archive):
    instance = archive.multiframe.instance
    page.goto(f"{live_server.url}/instances/{instance}")
    slider = page.locator("[data-frame-slider]")
    assert slider.is_visible()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/instances/{instance}?frame=1")
    page.wait_for_function("document.getElementById('preview').src.endsWith('?frame=1')")
    assert_images_loaded(page)

"""Keyboard only, in Debian's Chromium: from the home page down to an instance, the viewer, an upload.

After the first page.goto, these tests use page.keyboard alone (no clicks, no further goto), and
check at every Tab stop that the focused element shows a visible focus indicator.
"""

from __future__ import annotations

import re

import pytest

from ..support.a11y import upload_payloads
from ..support.data import VOLUME_SLICES, Archive

pytestmark = pytest.mark.browser

MAX_TABS = 120
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  let outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  // An outline drawn outside the element is lost where an ancestor clips its overflow right at its edges.
  const grow = parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth);
  for (let a = e.parentElement; outline && grow > 0 && a; a = a.parentElement) {
    if (!/hidden|clip/.test(getComputedStyle(a).overflow)) continue;
    const box = e.getBoundingClientRect(), clip = a.getBoundingClientRect();
    const cut = [box.left - grow < clip.left, box.top - grow < clip.top,
      box.right + grow > clip.right, box.bottom + grow > clip.bottom].filter(Boolean).length;
    if (cut >= 3) outline = false;
  }
  return {
    tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || e.value || e.getAttribute('aria-label') || '').trim(),
    href: e.getAttribute('href') || '', visible: outline || style.boxShadow !== 'none',
    data: Object.keys(e.dataset).join(' '), name: e.getAttribute('name') || '', type: e.getAttribute('type') || '',
  };
}"""


def focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_to(page, wanted, what: str, backwards: bool = False) -> dict:
    """Press Tab until `wanted(focused)` holds; every stop on the way must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        if now is None:
            continue
        assert now["visible"], f"no visible focus on {now} while looking for {what}"
        if wanted(now):
            return now
    raise AssertionError(f"{MAX_TABS} Tab presses did not reach {what} on {page.url}")


def follow(page, wanted, what: str, url: str) -> None:
    tab_to(page, wanted, what)
    page.keyboard.press("Enter")
    page.wait_for_url(url)


def skip_to_content(page) -> None:
    """The skip link is the first Tab stop, and Enter on it moves focus to <main>."""
    first = tab_to(page, lambda f: True, "the first Tab stop")
    assert first["href"] == "#content" and first["text"] == "Skip to content"
    assert page.locator(".skip-link").is_visible()  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"


def test_keyboard_alone_from_home_to_an_instance(live_server, page, archive: Archive):
    volume = archive.volume[0]
    page.goto(live_server.url + "/")
    skip_to_content(page)
    tab_to(page, lambda f: f["id"] == "home-q", "the home search field")
    page.keyboard.type("volume")
    page.keyboard.press("Enter")
    page.wait_for_url("**/patients?q=volume")
    follow(page, lambda f: f["href"].endswith(volume.patient), "the patient card", f"**/patients/{volume.patient}")
    skip_to_content(page)
    follow(page, lambda f: f["href"].endswith(volume.study), "the study card", f"**/studies/{volume.study}")
    follow(page, lambda f: f["href"].endswith(volume.series), "the series card", f"**/series/{volume.series}")
    follow(page, lambda f: f["text"] == "1 / 40", "the first slice", f"**/instances/{volume.instance}")
    assert page.locator("h1").inner_text() == "Instance 1"
    # back up the page: the breadcrumb to the series, reached with Shift+Tab
    tab_to(page, lambda f: f["href"].endswith(f"/series/{volume.series}"), "the series breadcrumb", backwards=True)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/series/{volume.series}")


def slice_number(page) -> int:
    return int(page.locator("[data-caption-number]").inner_text())


def test_every_viewer_control_is_reachable_and_works_by_keyboard(live_server, page, archive: Archive):
    page.goto(f"{live_server.url}/series/{archive.volume_series}")
    follow(page, lambda f: f["text"] == "Open viewer", "Open viewer", re.compile(r"/view"))
    page.wait_for_function("document.getElementById('viewer-image').naturalWidth > 0")
    start = slice_number(page)

    tab_to(page, lambda f: "viewerFigure" in f["data"], "the image")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"document.querySelector('[data-caption-number]').textContent == '{start + 1}'")
    tab_to(page, lambda f: "slider" in f["data"], "the slider")
    page.keyboard.press("End")
    page.wait_for_function(f"document.querySelector('[data-caption-number]').textContent == '{VOLUME_SLICES}'")
    tab_to(page, lambda f: "play" in f["data"], "the Play button")
    page.keyboard.press("Space")
    assert page.locator("[data-play]").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Space")
    assert page.locator("[data-play]").get_attribute("aria-pressed") == "false"
    tab_to(page, lambda f: f["name"] == "preset", "the window preset")
    navigations = []
    page.on("request", lambda request: request.is_navigation_request() and navigations.append(request.url))
    page.keyboard.press("ArrowDown")  # browsing the presets does not reload the page at each step...
    page.wait_for_timeout(300)
    assert navigations == []
    chosen = page.locator("select[name=preset]").input_value()
    page.keyboard.press("Enter")  # ...Enter applies the one chosen
    page.wait_for_url(re.compile(rf"preset={chosen}"))
    page.wait_for_function("document.getElementById('viewer-image').naturalWidth > 0")
    tab_to(page, lambda f: f["name"] == "wc", "the window centre")
    tab_to(page, lambda f: f["text"].startswith("PNG"), "the PNG download")
    # back to the plane tabs at the top, and to another plane
    follow(page, lambda f: f["text"] == "Sagittal", "the Sagittal tab", re.compile(r"plane=sagittal"))
    assert page.locator(".plane-tabs [aria-current]").inner_text() == "Sagittal"


ANNOUNCEMENTS = """() => {
  window.announced = [];
  const region = document.querySelector('[aria-live=polite][data-run-announce]');
  new MutationObserver(() => window.announced.push(region.textContent))
    .observe(region, {childList: true, characterData: true, subtree: true});
}"""


def test_upload_by_keyboard_with_progress_announced(live_server, page, archive: Archive):
    page.goto(live_server.url + "/upload")
    page.evaluate(ANNOUNCEMENTS)
    tab_to(page, lambda f: f["id"] == "upload-files", "the file input")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(upload_payloads("CT_small.dcm", "MR_small.dcm"))
    tab_to(page, lambda f: f["tag"] == "button" and f["type"] == "submit" and f["text"] == "Upload", "Upload")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-upload-run][data-state=done]", timeout=20000)
    announced = page.evaluate("window.announced")
    assert announced[0] == "Upload started: 3 files chosen."
    assert announced[-1] == "Upload finished. Stored: 0, already stored: 2, rejected: 1, skipped: 0."
    assert page.locator("[data-run-announce]").get_attribute("role") == "status"
    # the report's links are reachable too
    follow(page, lambda f: f["text"] == "Study", "a study link in the report", re.compile(r"/studies/"))

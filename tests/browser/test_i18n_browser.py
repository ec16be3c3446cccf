"""A new user with a Korean browser (Chromium, locale ko-KR): Korean throughout, switch to English, it sticks."""

from __future__ import annotations

import pytest

from ..support.data import Archive
from ..support.web import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def korean_page(browser, live_server):
    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_korean_browser_then_english_by_the_switch(korean_page, live_server, archive: Archive):
    page, base = korean_page, live_server.url
    page.goto(f"{base}/login")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "로그인"
    sign_in(page, base)

    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator(".topnav").inner_text().split() == [
        "환자",
        "검사",
        "앨범",
        "업로드",
        "공유",
        "링크",
        "사용자",
        "감사",
        "로그",
        "실패한",
        "영상",
    ]
    assert "최근 검사" in page.locator("main").inner_text()
    page.fill("#home-q", "홍길동")
    page.press("#home-q", "Enter")
    page.wait_for_url("**/patients?q=*")
    titles = page.locator(".card__title").all_inner_texts()
    assert "홍길동 (Hong Gildong)" in titles and "홍길동" in titles

    # The viewer's script keeps the Korean alt text while the keyboard moves through the slices.
    page.goto(f"{base}/series/{archive.volume_series}/view?slice=1")
    page.focus("[data-viewer-figure]")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('viewer-image').alt.includes(' 2 / ')")
    assert page.locator("#viewer-image").get_attribute("alt").endswith("슬라이스 2 / 40")

    # The upload page's script speaks Korean too.
    page.goto(f"{base}/upload")
    page.click(".upload-form button[type=submit]")
    assert page.locator("[data-pick-error]").inner_text().startswith("업로드할 파일")

    page.click(".languages >> text=English")
    page.wait_for_url(f"{base}/upload")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Upload DICOM"
    page.click(".topnav >> text=Patients")
    page.wait_for_url(f"{base}/patients")
    assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Patients"
    page.goto(f"{base}/patients?q=KR-0002")
    assert page.locator(".card__title").all_inner_texts() == ["Gildong Hong (홍길동)"]
    assert page.locator(".languages [aria-current]").inner_text() == "English"

"""axe-core over every page type, in English and Korean, in Debian's Chromium: no WCAG 2.1 AA violation.

One browser context per language and role walks all the page types (with JavaScript-enhanced states:
the viewer after its image loaded, the upload page while choosing and after its report), collecting
every violation so one failure lists them all.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gallery.access.albums import add_studies, create_album
from gallery.access.shares import create_share, revoke
from gallery.access.users import find_user

from ..support.a11y import AxeReport, axe_context, upload_payloads
from ..support.data import Archive
from ..support.web import ADMIN_USER, sign_in

pytestmark = pytest.mark.browser

IMAGE_LOADED = "() => { const i = document.getElementById('viewer-image'); return i.complete && i.naturalWidth > 0; }"
MISSING_PATIENT = "00000000-00000000-00000000-00000000-00000000"
# Checks of a page type already checked in another state: their titles may repeat.
SAME_PAGE_AGAIN = {
    "upload, report shown by JavaScript",
    "share landing, wrong password",
    "shared study, as the visitor",
    "share expired (410)",
    "de-identified album, as the visitor",
    "de-identified study, as the visitor",
}


def make_album(app, archive: Archive) -> int:
    """An album of two studies, for the album pages of the walk."""
    with app.app_context():
        admin = find_user(ADMIN_USER)
        album = create_album("Walk album", "Studies for the accessibility walk", admin)
        add_studies(album, [archive.volume[0].study, archive.korean.study], admin)
        return album.id


def make_shares(app, archive: Archive, album: int) -> dict[str, str]:
    """Landing paths of a live (password) link, a revoked one, an expired one and a de-identified album link."""
    with app.app_context():
        admin = find_user(ADMIN_USER)
        study = archive.volume[0].study
        _, live = create_share("study", study, "Volume^Test", admin, timedelta(days=1), True, "pw-secret-1")
        _, deidentified = create_share("album", str(album), "Walk", admin, timedelta(days=1), True, deidentified=True)
        revoked, revoked_token = create_share("study", study, "x", admin, timedelta(days=1), False)
        revoke(revoked)
        _, expired = create_share("series", archive.volume_series, "x", admin, timedelta(seconds=-60), False)
    return {
        "live": f"/s/{live}",
        "revoked": f"/s/{revoked_token}",
        "expired": f"/s/{expired}",
        "deidentified": f"/s/{deidentified}",
    }


def visit(page, report: AxeReport, base: str, path: str, where: str, status: int = 200) -> None:
    response = page.goto(base + path, wait_until="domcontentloaded")  # axe needs the DOM and CSS, not images
    assert response.status == status, f"{where}: {path} answered {response.status}"
    report.check(page, where)


def walk_signed_in(page, report: AxeReport, base: str, archive: Archive, album: int) -> None:
    page.goto(base + "/login")
    page.fill("#username", ADMIN_USER)
    page.fill("#password", "wrong-password")
    page.click("main button[type=submit]")
    page.wait_for_selector(".flash--error[role=alert]")
    report.check(page, "login with an error")
    sign_in(page, base)

    volume = archive.volume[0]
    for path, where, status in (
        ("/", "home", 200),
        ("/patients", "patients", 200),
        ("/patients?q=volume", "patients search", 200),
        ("/patients?q=nobody-is-called-this", "patients search, empty", 200),
        ("/studies?from=2019-01-01&to=2019-12-31", "studies with dates", 200),
        (f"/patients/{volume.patient}", "patient", 200),
        (f"/studies/{volume.study}", "study", 200),
        (f"/series/{volume.series}", "series", 200),
        (f"/instances/{volume.instance}", "instance", 200),
        (f"/instances/{archive.multiframe.instance}", "instance, multi-frame", 200),
        (f"/instances/{archive.structured_report.instance}", "instance, no image", 200),
        (f"/studies/{volume.study}/share", "share new", 200),
        ("/shares", "share index", 200),
        ("/albums", "album index", 200),
        ("/albums/new", "album new", 200),
        (f"/albums/{album}", "album", 200),
        (f"/albums/{album}/edit", "album edit", 200),
        (f"/albums/{album}/share", "album share new", 200),
        ("/admin/users", "admin users", 200),
        ("/admin/audit", "audit log", 200),
        (f"/patients/{volume.patient}/delete", "delete confirmation", 200),
        (f"/patients/{MISSING_PATIENT}", "404", 404),
        ("/studies?from=yesterday", "400", 400),
    ):
        visit(page, report, base, path, where, status)

    for query, where in (("", "viewer, stack"), ("?plane=sagittal", "viewer, MPR")):
        page.goto(f"{base}/series/{archive.volume_series}/view{query}")
        page.wait_for_function(IMAGE_LOADED, timeout=10000)
        report.check(page, where)

    page.goto(f"{base}/studies/{volume.study}/share", wait_until="domcontentloaded")
    page.click("main button[type=submit]")
    page.wait_for_selector("#share-link")
    report.check(page, "share created")

    page.goto(base + "/upload")
    page.set_input_files("#upload-files", upload_payloads("CT_small.dcm"))
    report.check(page, "upload, files chosen")
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-upload-run][data-state=done]", timeout=20000)
    report.check(page, "upload, report shown by JavaScript")


def walk_anonymous(page, report: AxeReport, base: str, shares: dict[str, str]) -> None:
    visit(page, report, base, shares["live"], "share landing")
    landing = page.content()  # alt texts, labels and all: nothing about the patient or the study
    assert all(phi not in landing for phi in ("Volume", "VOL-0001", "19700101")), "the landing names the patient"
    page.fill("#password", "not-the-password")
    page.click("main button[type=submit]")
    page.wait_for_selector(".flash--error[role=alert]")
    report.check(page, "share landing, wrong password")
    page.fill("#password", "pw-secret-1")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/studies/"))
    report.check(page, "shared study, as the visitor")
    page.goto(base + shares["deidentified"])
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/albums/\d+$"))
    report.check(page, "de-identified album, as the visitor")
    page.click(".grid .card a.card__link >> nth=0")
    page.wait_for_url(re.compile(r"/studies/"))
    report.check(page, "de-identified study, as the visitor")
    visit(page, report, base, "/admin/users", "403", 403)
    visit(page, report, base, shares["revoked"], "share revoked (410)", 410)
    visit(page, report, base, shares["expired"], "share expired (410)", 410)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_page_type_has_no_axe_violations(language, browser, app, live_server, archive: Archive):
    report = AxeReport()
    album = make_album(app, archive)
    shares = make_shares(app, archive, album)
    for walk in (
        lambda page: walk_signed_in(page, report, live_server.url, archive, album),
        lambda page: walk_anonymous(page, report, live_server.url, shares),
    ):
        context = axe_context(browser, language)
        try:
            walk(context.new_page())
        finally:
            context.close()
    report.assert_clean()
    assert len(report.checked) == 37
    titles = [title for where, title in report.titles.items() if where not in SAME_PAGE_AGAIN]
    assert len(set(titles)) == len(titles), f"page titles repeat across page types: {titles}"
    suffix = r"\S.* · Orthanc (Gallery|갤러리)"  # the brand, in English or Korean
    assert all(re.fullmatch(suffix, title) and "· ·" not in title for title in titles), titles


def test_upload_report_without_javascript_has_no_axe_violations(browser, live_server, archive: Archive):
    report = AxeReport()
    context = axe_context(browser, "en")
    try:
        page = context.new_page()
        sign_in(page, live_server.url)
        # As a browser without JavaScript: the gallery's scripts never load (axe-core is injected inline).
        page.route(re.compile(r"\.js(\?|$)"), lambda route: route.abort())
        visit(page, report, live_server.url, "/upload", "upload form, no JavaScript")
        page.set_input_files("#upload-files", upload_payloads("CT_small.dcm"))
        page.click("main button[type=submit]")
        page.wait_for_selector("h1:has-text('Upload report')")
        assert page.locator("[data-run-announce]").count() == 0  # the server's report page, not the script's
        report.check(page, "upload report page")
    finally:
        context.close()
    report.assert_clean()


def test_the_light_theme_has_no_axe_violations(browser, live_server, archive: Archive):
    """The light theme (for browsers that ask for it) on the page types with the most colours."""
    report = AxeReport()
    volume = archive.volume[0]
    context = axe_context(browser, "en", theme="light")
    try:
        page = context.new_page()
        sign_in(page, live_server.url)
        for path in ("/", "/patients?page=2", f"/series/{volume.series}", f"/series/{volume.series}/view", "/upload"):
            visit(page, report, live_server.url, path, f"light theme {path}")
    finally:
        context.close()
    report.assert_clean()

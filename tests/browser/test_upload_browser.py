"""The upload page in Debian's Chromium, into a fresh Orthanc: with JavaScript (inputs and a real
folder drop), and without it (the plain form post and the report page)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gallery import create_app
from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.web import LiveServer, assert_images_loaded, sign_in

pytestmark = pytest.mark.browser

# Records, while the upload runs, the overall bar and how many files showed partial progress.
RECORD_PROGRESS = """() => {
  window.recorded = { bar: [], partialFiles: 0, states: [] };
  const run = document.querySelector("[data-upload-run]");
  const bar = run.querySelector("[data-run-bar]");
  new MutationObserver(() => {
    window.recorded.bar.push(bar.value / bar.max);
    const partial = Array.from(run.querySelectorAll("[data-run-rows] progress"))
      .filter((p) => p.value > 0 && p.value < p.max);
    window.recorded.partialFiles = Math.max(window.recorded.partialFiles, partial.length);
    window.recorded.states.push(run.dataset.state);
  }).observe(run, { attributes: true, subtree: true, attributeFilter: ["value", "data-state"] });
}"""


@pytest.fixture
def upload_server(app_config, fresh_orthanc: EmbeddedOrthanc) -> Iterator[LiveServer]:
    server = LiveServer(create_app(app_config(fresh_orthanc)))
    yield server
    server.stop()


@pytest.fixture
def page(anonymous_page, upload_server):
    """A browser page signed in on the upload server (not the session's live server)."""
    sign_in(anonymous_page, upload_server.url)
    return anonymous_page


def write_study(folder: Path, name: str, instances: int, size: int = 64) -> list[Path]:
    study = StudyInfo(PatientInfo(f"{name}^Browser", f"BR-{name}"), name, "20250301", "", f"{name} study")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, data in enumerate(small_study(study, "MR", series=2, instances=instances // 2, size=size)):
        path = folder / f"img{n:03d}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


def slow_upload(page, bytes_per_second: int) -> None:
    """Chromium's own network throttling, so the progress can be watched on a fast loopback."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


def counts(page) -> str:
    return " ".join(page.inner_text(".upload-counts").split())


def test_upload_with_progress_counts_and_report_then_open_the_study(upload_server, page, tmp_path, fresh_orthanc):
    files = write_study(tmp_path / "files", "Progress", 40, size=96)
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in write_study(tmp_path / "zipped", "Zipped", 6):
            zf.write(path, f"export/series/{path.name}")
        zf.writestr("__MACOSX/export/._img000.dcm", b"\x00\x05\x16\x07")
    fake = tmp_path / "holiday.dcm"
    fake.write_bytes(b"\xff\xd8\xff\xe0" + bytes(2000))  # a JPEG renamed .dcm

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.goto(upload_server.url + "/upload")
    assert page.locator("[data-drop-hint]").is_visible()
    page.evaluate(RECORD_PROGRESS)
    slow_upload(page, 600_000)
    page.set_input_files("#upload-files", [*map(str, files), str(archive), str(fake)])
    page.click(".upload-form button[type=submit]")
    page.wait_for_selector("[data-upload-run][data-state=running]")
    page.evaluate("setTimeout(() => location.reload(), 0)")  # leaving mid-upload asks first; we stay
    page.wait_for_selector("[data-upload-run][data-state=done]", timeout=30000)

    assert dialogs == ["beforeunload"]
    recorded = page.evaluate("window.recorded")
    assert any(0 < value < 1 for value in recorded["bar"]) and recorded["bar"][-1] == 1
    assert recorded["bar"] == sorted(recorded["bar"])
    assert recorded["partialFiles"] >= 1  # a file's own bar was seen part-filled
    assert counts(page) == "48 files: 46 stored 0 already stored 1 rejected 1 skipped"
    rows = page.locator("#upload-table tbody tr")
    assert rows.count() == 48
    assert page.locator("#upload-table tr", has_text="more.zip › export/series/img000.dcm").inner_text().count("Stored")
    assert "not a DICOM file" in page.locator("#upload-table tr", has_text="holiday.dcm").inner_text()
    assert page.url.endswith("/upload")  # no reload happened
    stored = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password).get_json("/statistics")
    assert stored["CountInstances"] == 46

    page.fill("[data-filter-table=upload-table]", "rejected")
    assert page.locator("#upload-table tbody tr:visible").count() == 1

    assert page.locator("[data-run-studies] .card").count() == 2
    page.click("[data-run-studies] .card__link >> text=Progress study")
    page.wait_for_url("**/studies/*")
    assert_images_loaded(page)
    assert page.locator(".grid .card").count() == 2  # its two series, with thumbnails
    page.goto(upload_server.url + "/patients")
    assert page.locator(".card__title", has_text="Browser Progress").count() == 1


def test_dropping_a_folder_uploads_everything_in_it(upload_server, page, tmp_path):
    folder = tmp_path / "scan"
    write_study(folder, "Dropped", 4)
    write_study(folder / "sub" / "deeper", "Deeper", 4)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    page.goto(upload_server.url + "/upload")
    # A real drag of a folder from the desktop, through Chromium's input pipeline (DevTools protocol).
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": 600, "y": 400, "data": data})
    page.wait_for_selector("[data-upload-run][data-state=done]", timeout=30000)
    assert counts(page) == "9 files: 8 stored 0 already stored 0 rejected 1 skipped"
    names = page.locator("#upload-table tbody td.upload-table__name").all_inner_texts()
    assert "scan/sub/deeper/img000.dcm" in names and "scan/.DS_Store" in names
    assert page.locator("[data-run-studies] .card").count() == 2


def test_without_javascript_the_form_posts_and_the_report_page_answers(upload_server, browser, tmp_path):
    files = write_study(tmp_path / "plain", "Plain", 4)
    folder = tmp_path / "folder"
    write_study(folder / "nested", "Foldered", 2)
    (folder / "README.txt").write_text("exported by a viewer")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, upload_server.url)
        page.goto(upload_server.url + "/upload")
        assert not page.locator("[data-drop-hint]").is_visible()
        page.set_input_files("#upload-files", [str(p) for p in files])
        page.set_input_files("#upload-folder", str(folder))
        page.click(".upload-form button[type=submit]")
        page.wait_for_selector("h1:text('Upload report')")
        assert counts(page) == "7 files: 6 stored 0 already stored 0 rejected 1 skipped"
        names = page.locator("#upload-table tbody td.upload-table__name").all_inner_texts()
        assert "img000.dcm" in names and "folder/nested/img000.dcm" in names  # Chromium sends the folder path
        readme = page.locator("#upload-table tr", has_text="README.txt").inner_text()
        assert "Skipped" in readme and "not a DICOM file" in readme
        assert page.locator(".grid .card").count() == 2
        page.click(".card__link >> text=Plain study")
        page.wait_for_url("**/studies/*")
        assert page.locator("h1").inner_text() == "Plain study"
    finally:
        context.close()


def test_choosing_nothing_explains_itself(upload_server, page):
    page.goto(upload_server.url + "/upload")
    page.click(".upload-form button[type=submit]")
    assert page.locator("[data-pick-error]").inner_text().startswith("Choose at least one file")
    assert page.url.endswith("/upload")


# The report's parts as the browser holds them: each row and card as markup, the rest as the text people read.
CAPTURE_REPORT = """(live) => {
  const root = live ? document.querySelector("[data-upload-run]") : document.querySelector("main");
  const words = (node) => node.textContent.replace(/\\s+/g, " ").trim();
  const cards = root.querySelector(live ? "[data-run-cards]" : "ul.grid");
  return {
    counts: root.querySelector(".upload-counts").innerHTML,
    sent: words(root.querySelector(live ? "[data-run-status]" : ".upload-sent")),
    studies: words(live ? root.querySelector("[data-run-studies-title]") : cards.previousElementSibling),
    cards: Array.from(cards.children, (card) => card.outerHTML),
    rows: Array.from(root.querySelectorAll("#upload-table tbody tr"), (row) => row.outerHTML),
  };
}"""


def report_files(folder: Path) -> list[Path]:
    """Single-image studies (which image a study's card shows depends on the order Orthanc got its files),
    a ZIP of two more with a macOS file, and a JPEG renamed .dcm: three batches for the page's script."""
    folder.mkdir()
    paths = []
    for n in range(6):
        patient = PatientInfo("Hong^Gildong=洪^吉洞=홍^길동" if n == 0 else f"Same{n}^Report", f"SAME-{n}")
        data = next(small_study(StudyInfo(patient, f"same{n}", "20250301", "143000", f"Same {n}"), size=64))
        paths.append(folder / f"same{n}.dcm")
        paths[-1].write_bytes(data)
    with zipfile.ZipFile(folder / "more.zip", "w") as zf:
        for path in paths[4:]:
            zf.write(path, f"export/{path.name}")
        zf.writestr("__MACOSX/export/._same4.dcm", b"\x00\x05\x16\x07")
    (folder / "holiday.dcm").write_bytes(b"\xff\xd8\xff\xe0" + bytes(2000))
    return [*paths[:4], folder / "more.zip", folder / "holiday.dcm"]


@pytest.mark.parametrize(("locale", "date"), [("en-US", "Mar 1, 2025"), ("ko-KR", "2025. 3. 1.")])
def test_live_report_reads_as_the_report_page_in_each_language(
    upload_server, browser, tmp_path, fresh_orthanc, locale, date
):
    """The report the script builds while uploading, and the report page the same files get without
    JavaScript, have the same rows, cards, counts and words, in English and in Korean."""
    files = [str(p) for p in report_files(tmp_path / "files")]
    orthanc = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    reports = []
    for javascript in (True, False):
        context = browser.new_context(locale=locale, java_script_enabled=javascript)
        try:
            page = context.new_page()
            sign_in(page, upload_server.url)
            page.goto(upload_server.url + "/upload")
            page.set_input_files("#upload-files", files)
            page.click(".upload-form button[type=submit]")
            if javascript:
                page.wait_for_selector("[data-upload-run][data-state=done]", timeout=30000)
                assert page.url.endswith("/upload")
            else:
                page.wait_for_selector("h1.report, .upload-sent")
            reports.append(page.evaluate(CAPTURE_REPORT, javascript))
        finally:
            context.close()
        for patient in orthanc.get_json("/patients"):  # so the second upload stores them again
            orthanc.delete(f"/patients/{patient}")

    live, reloaded = reports
    assert len(live["rows"]) == 8 and len(live["cards"]) == 6
    assert date in live["cards"][0] and "Same 0" in live["cards"][0]
    name = "홍길동 (Hong Gildong)" if locale == "ko-KR" else "Gildong Hong (홍길동)"
    assert name in live["cards"][0]
    assert live == reloaded


def test_a_file_over_the_limit_gets_the_report_pages_rejected_row_without_being_sent(
    app_config, browser, fresh_orthanc, tmp_path
):
    """The script refuses it before sending; its row comes from the page's server-rendered row template."""
    server = LiveServer(create_app(app_config(fresh_orthanc, MAX_CONTENT_LENGTH=40_000)))
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, server.url)
        small = write_study(tmp_path / "small", "Small", 2, size=16)[0]
        large = tmp_path / "large.dcm"
        large.write_bytes(bytes(50_000))
        page.goto(server.url + "/upload")
        page.set_input_files("#upload-files", [str(small), str(large)])
        page.click(".upload-form button[type=submit]")
        page.wait_for_selector("[data-upload-run][data-state=done]", timeout=30000)
        assert counts(page) == "2 files: 1 stored 0 already stored 1 rejected 0 skipped"
        row = page.locator("#upload-table tr", has_text="large.dcm")
        assert row.get_attribute("class") == "outcome-rejected"
        cells = [" ".join(text.split()) for text in row.locator("td").all_inner_texts()]
        assert cells == ["large.dcm", "48.8 KB", "Rejected", "larger than the upload limit of 39.1 KB; not sent"]
        assert row.locator("span.outcome.outcome--rejected").count() == 1
        assert page.locator("[data-run-status]").inner_text() == "You sent 2 files."
    finally:
        context.close()
        server.stop()

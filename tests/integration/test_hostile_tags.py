"""DICOM tag values crafted to attack the pages: markup, template syntax, 10 kB values, control
characters and odd character sets. Every page, list and JSON twin showing them answers without
error, escapes them (no markup runs, checked in Chromium too), keeps their text intact (as Orthanc
decoded it) and keeps its layout (no horizontal overflow).
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from pydicom.dataset import Dataset

from gallery import create_app
from gallery.web.formatting import display_name
from scripts.embedded import remove_storage, start_orthanc
from scripts.synthetic import PatientInfo, StudyInfo, encode, image_dataset, small_image

from ..support.web import LiveServer, client_for, sign_in

MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</title><svg onload=alert(1)>",
    "'onmouseover='alert(1)",
    "<iframe src=javascript:alert(1)></iframe>",
]
#: Substrings that may only appear in a page if the markup above went out unescaped.
LIVE_MARKUP = ["<script>alert", "<img src=x", "<svg onload", "<iframe src=javascript", "'onmouseover='"]
LONG = "W" * 10_000  # 10 kB: Orthanc keeps such values in the file but leaves them out of its index
WIDE = "W" * 240  # one unbroken word Orthanc does index: the worst case for layout
CONTROL = "Ctl\x01\x02\x1b[31m\x7f\u202eexe.txt\u200b\ufeffend"


@dataclass(frozen=True)
class Crafted:
    key: str
    name: str
    study: str
    series: str
    institution: str = ""
    charset: str | list[str] = "ISO_IR 192"
    raw_name: bytes | None = None  # bytes written as they are, whatever the declared character set


CRAFTED = [
    Crafted("markup", f"{MARKUP[0]}^{MARKUP[1]}", f"{{{{7*7}}}} {MARKUP[2]}", MARKUP[3], MARKUP[4]),
    Crafted("long", f"Long^{LONG[:3000]}", LONG, LONG, LONG),
    Crafted("wide", f"Wide^{WIDE}", WIDE, WIDE, WIDE),
    Crafted("control", f"Control^{CONTROL}", CONTROL, f"Tab\there\nnewline{CONTROL}", CONTROL),
    Crafted("latin1", "Müller^Jürgen", "Étude crânienne", "Série axiale", "Hôpital", "ISO_IR 100"),
    Crafted("korean", "김^희중", "흉부 CT", "축상", "서울", ["", "ISO 2022 IR 149"]),
    Crafted("gb18030", "王^小东", "胸部 CT", "轴位", "北京医院", "GB18030"),
    Crafted("mismatch", "", "Mismatch study", "Mismatch series", "", "ISO_IR 192", b"M\xfcller^Latin1InUtf8"),
    Crafted("undeclared", "", "Undeclared study", "Undeclared series", "", "", "Zoë^Ünïcode".encode()),
]


def crafted_file(crafted: Crafted) -> bytes:
    patient = PatientInfo(crafted.name or "placeholder", f"HOSTILE-{crafted.key}", "19800101", "O")
    study = StudyInfo(patient, crafted.key, "20240102", "101010", crafted.study, "")
    ds: Dataset = image_dataset(
        study,
        series_key="s",
        series_number=1,
        instance_number=1,
        modality="CT",
        pixels=small_image(3, 16),
        series_description=crafted.series,
        extra={"InstitutionName": crafted.institution},
    )
    if crafted.charset:
        ds.SpecificCharacterSet = crafted.charset
    else:
        del ds.SpecificCharacterSet
    if crafted.raw_name is not None:
        ds.add_new(0x00100010, "PN", crafted.raw_name)
    return encode(ds)


@pytest.fixture(scope="module")
def crafted_app(app_config, tmp_path_factory):
    """An Orthanc holding the crafted files, uploaded through the gallery's own upload page."""
    server = start_orthanc(tmp_path_factory.mktemp("hostile-tags"))
    app = create_app(app_config(server))
    client = client_for(app)
    files = [(f"{c.key}.dcm", crafted_file(c)) for c in CRAFTED]
    page = upload_page(client, files)
    app.config["UPLOAD_PAGE"] = page
    yield app
    remove_storage(server)


def upload_page(client, files) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/upload").get_data(as_text=True)).group(1)
    data = {"files": [(io.BytesIO(content), name) for name, content in files], "csrf_token": token}
    response = client.post("/upload", data=data, content_type="multipart/form-data", headers={"Accept": "text/html"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@dataclass
class Stored:
    crafted: Crafted
    patient: str
    study: str
    series: str
    instance: str
    decoded: dict[str, str]  # the main tags as Orthanc decoded and indexed them: the reference for "intact"


def stored(app) -> list[Stored]:
    orthanc = app.extensions["orthanc"]
    found = []
    for crafted in CRAFTED:
        patient = orthanc.lookup(f"HOSTILE-{crafted.key}")[0]["ID"]
        study = orthanc.get_json(f"/patients/{patient}/studies")[0]
        series = orthanc.get_json(f"/studies/{study['ID']}/series")[0]
        instance = series["Instances"][0]
        tags = {**orthanc.get_json(f"/patients/{patient}")["MainDicomTags"], **study["MainDicomTags"]}
        tags.update(series["MainDicomTags"])
        decoded = {k: tags.get(k) or "" for k in ("PatientName", "StudyDescription", "SeriesDescription")}
        decoded["InstitutionName"] = study["MainDicomTags"].get("InstitutionName") or ""
        found.append(Stored(crafted, patient, study["ID"], series["ID"], instance, decoded))
    return found


def pages(item: Stored) -> list[str]:
    name = quote(item.crafted.name.split("^")[0][:40] or item.crafted.key)
    return [
        f"/patients?q={name}",
        f"/studies?q={quote(item.crafted.study[:40])}",
        f"/patients/{item.patient}",
        f"/studies/{item.study}",
        f"/series/{item.series}",
        f"/instances/{item.instance}",
        f"/series/{item.series}/view",
        f"/studies/{item.study}/share",
        f"/studies/{item.study}/delete",
    ]


def visible_text(page: str) -> str:
    """The page's text as a reader gets it: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def assert_escaped(page: str, where: str) -> None:
    for live in LIVE_MARKUP:
        assert live not in page, f"{where}: {live!r} went out unescaped"


def intact_parts(item: Stored) -> list[str]:
    """Pieces of text each page about this item must show as Orthanc decoded them (the name as English reads it)."""
    name = display_name(item.decoded["PatientName"], "en")
    return [part for part in re.split(r"[\x00-\x1f\x7f]+", name) if part.strip()]


def test_every_page_escapes_and_keeps_crafted_values(crafted_app):
    client = client_for(crafted_app)
    for item in stored(crafted_app):
        for url in pages(item):
            response = client.get(url)
            where = f"{item.crafted.key} {url}"
            assert response.status_code == 200, f"{where} -> {response.status_code}"
            page = response.get_data(as_text=True)
            assert_escaped(page, where)
        patient_page = visible_text(client.get(f"/patients/{item.patient}").get_data(as_text=True))
        for part in intact_parts(item):
            assert part.strip()[:60] in patient_page, f"{item.crafted.key}: {part[:60]!r} missing"
        study_page = visible_text(client.get(f"/studies/{item.study}").get_data(as_text=True))
        description = item.decoded["StudyDescription"]
        assert description.strip()[:60] in study_page or not description.strip(), item.crafted.key


def test_template_syntax_in_a_tag_is_shown_not_evaluated(crafted_app):
    client = client_for(crafted_app)
    markup = next(s for s in stored(crafted_app) if s.crafted.key == "markup")
    page = client.get(f"/studies/{markup.study}").get_data(as_text=True)
    assert "{{7*7}}" in page


def strings(value) -> list[str]:
    """Every string inside a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_json_twins_carry_the_values_exactly_as_orthanc_decoded_them(crafted_app):
    client = client_for(crafted_app)
    for item in stored(crafted_app):
        for url in pages(item)[:6]:
            response = client.get(url, headers={"Accept": "application/json"})
            assert response.status_code == 200 and response.is_json, url
        study = strings(client.get(f"/studies/{item.study}", headers={"Accept": "application/json"}).get_json())
        for key in ("StudyDescription", "SeriesDescription", "InstitutionName"):
            value = item.decoded[key].strip()
            assert not value or any(value in text for text in study), f"{item.crafted.key} {key}"
        tags = strings(client.get(f"/instances/{item.instance}", headers={"Accept": "application/json"}).get_json())
        assert any(item.decoded["StudyDescription"].strip() in text for text in tags), item.crafted.key


def test_the_upload_report_escapes_crafted_names(crafted_app):
    page = crafted_app.config["UPLOAD_PAGE"]
    assert_escaped(page, "upload report")
    assert page.count("stored") >= len(CRAFTED)


def test_the_characters_sets_are_decoded_by_orthanc(crafted_app):
    """The reference the other tests compare with: Orthanc decodes the declared character sets."""
    decoded = {item.crafted.key: item.decoded["PatientName"] for item in stored(crafted_app)}
    assert decoded["latin1"] == "Müller^Jürgen"
    assert decoded["korean"] == "김^희중"
    assert decoded["gb18030"] == "王^小东"
    assert decoded["wide"] == f"Wide^{WIDE}"
    assert decoded["long"] == ""  # over Orthanc's limit for indexed values: the pages show "(no name)"


# -- in the browser ---------------------------------------------------------------------------------

NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                 || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))
  .map((e) => e.tagName + '.' + e.className).slice(0, 8)"""


@pytest.mark.browser
def test_no_crafted_value_runs_or_breaks_the_layout_in_chromium(crafted_app, browser):
    server = LiveServer(crafted_app)
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    dialogs: list[str] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        sign_in(page, server.url)
        for item in stored(crafted_app):
            if item.crafted.key not in ("markup", "long", "wide", "control"):
                continue
            for url in pages(item)[:7]:
                page.goto(server.url + url)
                page.wait_for_load_state("load")
                where = f"{item.crafted.key} {url}"
                assert page.evaluate("document.querySelectorAll('img[src=\"x\"], svg[onload], iframe').length") == 0
                assert page.evaluate(NO_OVERFLOW), f"{where}: the page scrolls sideways: {page.evaluate(WIDEST)}"
        assert dialogs == []
    finally:
        context.close()
        server.stop()

"""De-identified share links (issue 15): pseudonyms, shifted dates, remapped UIDs, safe tags, de-identified
downloads and burned-in series left out.

The archive here is its own Orthanc (module-scoped) holding three patients whose identities are easy to
look for: a Korean name in ISO 2022 IR 149 (EUC-KR bytes, all three PN groups), a Korean name in UTF-8,
and a Latin name with accents in ISO 8859-1. A crawler follows every link a visitor of the link can reach,
in HTML and JSON, downloads every file offered, and looks for each patient's identity in every form it
could take (UTF-8, EUC-KR, Latin-1, DICOM PN and ISO dates, Orthanc's patient ID, the original UIDs).
"""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urljoin, urlsplit

import numpy as np
import pydicom
import pytest
from PIL import Image
from sqlalchemy import select

from gallery import create_app
from gallery.extensions import db
from gallery.orthanc.client import OrthancClient
from gallery.store.models import ShareLink
from scripts.embedded import remove_storage, start_orthanc
from scripts.synthetic import PatientInfo, StudyInfo, encode, image_dataset, small_image

from ..support.data import wait_until_stable
from ..support.web import (
    LiveServer,
    add_user,
    album_from_study_list,
    assert_images_loaded,
    client_for,
    csrf_token,
    sign_in,
    sync_index,
)

JSON = {"Accept": "application/json"}


@dataclass
class Person:
    """A patient of this archive and everything that identifies them."""

    info: PatientInfo
    charset: str
    words: list[str]  # the name's pieces, each looked for on its own
    study_date: str
    accession: str
    institution: str
    study: str = ""  # Orthanc IDs, filled in when stored
    patient: str = ""
    series: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    uids: set[str] = field(default_factory=set)

    def needles(self) -> list[bytes]:
        """Every byte string whose presence would reveal this patient."""
        found: set[bytes] = set()
        for text in [*self.words, self.info.name, self.info.patient_id, self.accession, self.institution, *self.uids]:
            for encoding in ("utf-8", "euc_kr", "latin-1"):
                try:
                    found.add(text.encode(encoding))
                except UnicodeEncodeError:
                    continue
        for date in (self.info.birth_date, self.study_date):
            found.add(date.encode())
            found.add(f"{date[:4]}-{date[4:6]}-{date[6:]}".encode())
        found.add(self.patient.encode())  # Orthanc's patient ID: the SHA-1 of the DICOM PatientID
        return sorted(found)


def people() -> list[Person]:
    return [
        Person(
            PatientInfo("Hong^Gildong=洪^吉洞=홍^길동", "PHI-KR-149", "19561023", "M"),
            "\\ISO 2022 IR 149",
            ["Gildong", "洪", "吉洞", "홍", "길동"],
            "20190314",
            "ACC-PHI-0149",
            "Seoul Secret Hospital",
        ),
        Person(
            PatientInfo("김^민준", "PHI-KR-192", "19620707", "F"),
            "ISO_IR 192",
            ["김", "민준"],
            "20200521",
            "ACC-PHI-0192",
            "Busan Hidden Clinic",
        ),
        Person(
            PatientInfo("Müller^Zoë", "PHI-DE-100", "19711130", "F"),
            "ISO_IR 100",
            ["Müller", "Zoë"],
            "20210802",
            "ACC-PHI-0100",
            "Klinik Geheimstraße",
        ),
    ]


def files_of(person: Person) -> Iterator[bytes]:
    """Two CT images in one series, and a US image marked as carrying burned-in text in a second series."""
    study = StudyInfo(
        person.info, f"deid-{person.info.patient_id}", person.study_date, "101500", "Private", person.accession
    )
    for series, modality, number, burned in (("ct", "CT", 1, False), ("ct", "CT", 2, False), ("us", "US", 1, True)):
        ds = image_dataset(
            study,
            series_key=series,
            series_number=1 if series == "ct" else 2,
            instance_number=number,
            modality=modality,
            pixels=small_image(number + (7 if burned else 0), 32),
            series_description=f"{person.words[0]} follow-up",
            extra={
                "InstitutionName": person.institution,
                "ReferringPhysicianName": person.info.name,
                "OtherPatientIDs": person.info.patient_id + "-OLD",
                "BurnedInAnnotation": "YES" if burned else "NO",
                "FrameOfReferenceUID": pydicom.uid.generate_uid(entropy_srcs=[person.info.patient_id, "frame"]),
            },
        )
        ds.SpecificCharacterSet = person.charset
        ds.add_new(0x00091010, "LO", person.info.patient_id)  # a private tag with the patient's ID
        ds.private_block(0x0009, "GALLERY TEST", create=True).add_new(0x11, "LO", person.words[0])
        yield encode(ds)


@pytest.fixture(scope="module")
def phi_orthanc(tmp_path_factory) -> Iterator[tuple[object, list[Person]]]:
    server = start_orthanc(tmp_path_factory.mktemp("phi-orthanc"))
    client = OrthancClient(server.url, server.user, server.password)
    stored = people()
    for person in stored:
        for data in files_of(person):
            answer = client.store_instance(data)
            person.study, person.patient = answer["ParentStudy"], answer["ParentPatient"]
            person.series = list(dict.fromkeys([*person.series, answer["ParentSeries"]]))
            person.instances.append(answer["ID"])
            ds = pydicom.dcmread(io.BytesIO(data))
            person.uids |= {ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.FrameOfReferenceUID}
    wait_until_stable(client)
    yield server, stored
    remove_storage(server)


@pytest.fixture
def phi_app(phi_orthanc, app_config):
    server, _people = phi_orthanc
    app = create_app(app_config(server))
    sync_index(app)
    add_user(app, "uma", "uploader")
    return app


def new_album_with(client, studies: list[str], name: str = "Board") -> int:
    response = client.post("/albums/new", data={"name": name, "description": "", "csrf_token": csrf_token(client)})
    album_id = int(response.headers["Location"].rsplit("/", 1)[1])
    added = client.post("/albums/add", data={"album": album_id, "study": studies, "csrf_token": csrf_token(client)})
    assert added.status_code == 302
    return album_id


def make_link(client, url: str, **form) -> str:
    data = {"expires_in": 86400, "csrf_token": csrf_token(client), "deidentify": "y", **form}
    response = client.post(url, data=data)
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    link = re.search(r'id="share-link" type="text" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    return "/s/" + link.rsplit("/s/", 1)[1]


def visitor_of(app, path: str, deidentified: bool = True):
    visitor = app.test_client()
    landing = visitor.get(path).get_data(as_text=True)
    assert ("De-identified: patients are shown as case numbers" in landing) is deidentified
    opened = visitor.post(path, data={"csrf_token": csrf_token(visitor)})
    assert opened.status_code == 302, opened.get_data(as_text=True)[:300]
    return visitor, opened.headers["Location"]


# -- what a visitor can reach ---------------------------------------------------------------------

URL_ATTRIBUTE = re.compile(r'(?:href|src|action|data-[a-z-]+)="(/[^"]*)"')
SKIPPED = ("/static/", "/s/", "/language/")


@dataclass
class Crawl:
    pages: dict[str, bytes] = field(default_factory=dict)  # URL -> what was scanned (text as UTF-8)
    files: dict[str, bytes] = field(default_factory=dict)  # URL or URL!entry -> bytes
    headers: list[str] = field(default_factory=list)


def readable(response) -> bytes:
    """What a person or a script reads: HTML with entities resolved, JSON without \\u escapes."""
    if response.mimetype == "application/json":
        return json.dumps(response.get_json(), ensure_ascii=False).encode()
    if response.mimetype == "text/html":
        return unescape(response.get_data(as_text=True)).encode()
    return response.get_data()


def crawl(visitor, start: str, limit: int = 400) -> Crawl:
    """Every URL reachable from `start` through the visitor's session: pages twice (HTML, JSON), files once."""
    seen, queue, result = set(), [start], Crawl()
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIPPED):
            continue
        seen.add(url)
        response = visitor.get(url)
        assert response.status_code < 500, url
        result.headers.extend(f"{k}: {v}" for k, v in response.headers.items())
        if response.status_code != 200:
            continue
        if response.mimetype == "text/html":
            result.pages[url] = readable(response)
            json_answer = visitor.get(url, headers=JSON)
            if json_answer.status_code == 200 and json_answer.mimetype == "application/json":
                result.pages[url + " (json)"] = readable(json_answer)
            for found in URL_ATTRIBUTE.findall(response.get_data(as_text=True)):
                target = urlsplit(urljoin(url, unescape(found)))
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
        elif response.mimetype == "application/zip":
            with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
                for name in archive.namelist():
                    result.files[f"{url}!{name}"] = name.encode() + b"\n" + scannable(archive.read(name))
        else:
            result.files[url] = scannable(response.get_data())
    return result


def scannable(content: bytes) -> bytes:
    """What of a file can carry text: a DICOM file without its pixels, an image's metadata, anything else whole.

    (Pixels are left out because a two-byte EUC-KR name turns up in compressed pixels by chance.)
    """
    if content[128:132] == b"DICM":
        ds = pydicom.dcmread(io.BytesIO(content))
        del ds.PixelData
        buffer = io.BytesIO()
        ds.save_as(buffer)
        return buffer.getvalue()
    try:
        image = Image.open(io.BytesIO(content))
    except OSError:
        return content
    return repr({**image.info, **getattr(image, "text", {})}).encode()


def leaks(crawled: Crawl, persons: list[Person]) -> list[str]:
    found = []
    everything = {**crawled.pages, **crawled.files, "headers": "\n".join(crawled.headers).encode()}
    for person in persons:
        for needle in person.needles():
            found += [f"{needle!r} in {where}" for where, content in everything.items() if needle in content]
    return found


def shift_of(original: str, shown: str) -> int:
    return (datetime.date.fromisoformat(shown) - datetime.date.fromisoformat(original)).days


def iso(dicom_date: str) -> str:
    return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"


# -- tests ----------------------------------------------------------------------------------------


def test_nothing_a_de_identified_study_or_series_link_reaches_names_its_patient(phi_app, phi_orthanc):
    """The same crawl through a study link (including its burned-in series) and a series link."""
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    person = persons[0]
    for url, extra, has_us in (
        (f"/studies/{person.study}/share", {"include_burned_in": "y"}, True),
        (f"/series/{person.series[0]}/share", {}, False),
    ):
        visitor, landing = visitor_of(phi_app, make_link(uma, url, allow_download="y", **extra))
        crawled = crawl(visitor, landing)
        assert any(u.endswith("/file") for u in crawled.files) and any("dicom.zip!" in u for u in crawled.files)
        assert any("/view" in u for u in crawled.pages)  # the viewer, with its images
        assert any("/US_2/" in u for u in crawled.files) is has_us  # the burned-in series only where included
        assert leaks(crawled, persons) == [], url


def test_nothing_a_de_identified_album_link_reaches_names_the_patients(phi_app, phi_orthanc):
    """Every page, JSON answer, header and downloaded file (DICOM ZIPs, PNG/JPEG ZIPs, single files,
    contact sheets) reached through the link is free of every patient's name (EUC-KR, UTF-8, Latin-1),
    ID, birth date, accession, institution, real study date, UIDs and Orthanc patient ID."""
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    album_id = new_album_with(uma, [p.study for p in persons])
    path = make_link(uma, f"/albums/{album_id}/share", allow_download="y")
    visitor, landing = visitor_of(phi_app, path)
    assert landing == f"/albums/{album_id}"
    crawled = crawl(visitor, landing)

    # the crawl did reach every kind of thing the link offers
    urls = " ".join([*crawled.pages, *crawled.files])
    for person in persons:
        assert f"/studies/{person.study}" in urls and f"/series/{person.series[0]}" in urls
        assert f"/instances/{person.instances[0]}" in urls
    for expected in ("dicom.zip!", "export.zip?format=png!", "export.zip?format=jpeg!", "/file", "contact-sheet.jpg"):
        assert expected in urls, expected
    assert len([u for u in crawled.files if u.endswith(".dcm")]) >= 6 * 2  # album ZIP + study ZIPs
    assert leaks(crawled, persons) == []

    # each patient is a case; the album page shows Case 1–3
    album_page = crawled.pages[f"/albums/{album_id}"].decode()
    assert all(f"Case {n}" in album_page for n in (1, 2, 3))


def test_de_identified_dicom_reads_in_pydicom_with_pseudonyms_remapped_uids_and_shifted_dates(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    album_id = new_album_with(uma, [p.study for p in persons])
    visitor, _ = visitor_of(phi_app, make_link(uma, f"/albums/{album_id}/share", allow_download="y"))
    response = visitor.get(f"/albums/{album_id}/dicom.zip")
    assert response.status_code == 200
    datasets = []
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        for name in archive.namelist():
            datasets.append((name, pydicom.dcmread(io.BytesIO(archive.read(name)))))
    assert len(datasets) == 6  # 2 CT images per patient; the burned-in US series is left out
    subjects = {str(ds.PatientName) for _, ds in datasets}
    assert subjects == {"Case 1", "Case 2", "Case 3"}
    assert {ds.PatientID for _, ds in datasets} == subjects
    shifts = set()
    for name, ds in datasets:
        assert name.startswith(str(ds.PatientName).replace(" ", "_") + "/")
        assert ds.PatientIdentityRemoved == "YES"
        assert "PatientBirthDate" not in ds or not ds.PatientBirthDate
        assert "AccessionNumber" not in ds or not ds.AccessionNumber
        assert "InstitutionName" not in ds and "OtherPatientIDs" not in ds
        assert not any(element.tag.is_private for element in ds)
        assert ds.StudyInstanceUID.startswith("2.25.") and ds.SOPInstanceUID.startswith("2.25.")
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.StudyDate not in {p.study_date for p in persons}
        assert ds.pixel_array.shape == (32, 32)
        shifts.add(ds.StudyDate)
    # one series still hangs together; each study keeps one StudyInstanceUID
    by_study = {}
    for _, ds in datasets:
        by_study.setdefault(ds.StudyInstanceUID, set()).add(ds.SeriesInstanceUID)
    assert len(by_study) == 3 and all(len(series) == 1 for series in by_study.values())
    # dates moved by one offset for the whole link: the intervals between the studies survive
    originals = sorted(iso(p.study_date) for p in persons)
    shown = sorted(iso(d) for d in shifts)
    offsets = {shift_of(o, s) for o, s in zip(originals, shown, strict=True)}
    assert len(offsets) == 1 and offsets != {0}


def test_pages_show_cases_shifted_dates_remapped_uids_and_only_safe_tags(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    person = persons[0]
    path = make_link(uma, f"/studies/{person.study}/share")
    visitor, landing = visitor_of(phi_app, path)
    study = visitor.get(landing, headers=JSON).get_json()["study"]
    assert study["patient"]["name"] == "Case 1" and study["patient"]["url"] is None
    assert study["accession"] == "" and study["institution"] == "" and study["description"] == ""
    assert study["uid"].startswith("2.25.") and study["uid"] not in person.uids
    link = db_share(phi_app, path)
    assert (
        study["date"]
        == (datetime.date.fromisoformat(iso(person.study_date)) + datetime.timedelta(days=link.day_shift)).isoformat()
    )
    assert -3650 <= link.day_shift <= -365
    # the burned-in US series is not listed and is refused
    assert [s["modality"] for s in study["series"]] == ["CT"]
    refused = visitor.get(f"/series/{person.series[1]}", headers=JSON)
    assert refused.status_code == 403 and "burned-in" in refused.get_json()["error"]["message"]
    assert visitor.get(f"/instances/{person.instances[2]}/preview").status_code == 403
    # the tag table: kept tags as they are, dates shifted, UIDs remapped, the rest gone
    instance = visitor.get(f"/instances/{person.instances[0]}", headers=JSON).get_json()
    tags = {t["tag"].lower(): t["value"] for t in instance["tags"]}
    assert tags["0008,0060"] == "CT" and tags["0028,0010"] == "32"
    assert tags["0010,0010"] == "Case 1"
    assert tags["0008,0020"] != person.study_date and len(tags["0008,0020"]) == 8
    assert tags["0020,000d"] == study["uid"]
    for removed in ("0010,0030", "0008,0050", "0008,0080", "0010,1000", "0008,1030", "0008,103e"):
        assert removed not in tags, removed
    assert not any(int(t[:4], 16) % 2 for t in tags)  # no private tags
    # searching the tag table cannot probe what is hidden
    probe = visitor.get(f"/instances/{person.instances[0]}?tag=PHI-KR", headers=JSON).get_json()
    assert probe["tags"] == []


def db_share(app, path: str) -> ShareLink:
    from gallery.access.shares import hash_token

    with app.app_context():
        share = db.session.scalar(select(ShareLink).where(ShareLink.token_hash == hash_token(path.rsplit("/", 1)[1])))
        db.session.expunge(share)
        return share


def test_the_creator_may_include_burned_in_series_on_purpose(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    person = persons[1]
    form = uma.get(f"/studies/{person.study}/share").get_data(as_text=True)
    assert "Text burned into the pixels is not removed." in form
    assert "1 series here is marked as having burned-in text" in form
    assert "marked as having burned-in text:" not in uma.get(f"/series/{person.series[0]}/share").get_data(as_text=True)
    visitor, landing = visitor_of(phi_app, make_link(uma, f"/studies/{person.study}/share", include_burned_in="y"))
    study = visitor.get(landing, headers=JSON).get_json()["study"]
    assert sorted(s["modality"] for s in study["series"]) == ["CT", "US"]
    assert visitor.get(f"/series/{person.series[1]}").status_code == 200


def test_album_filters_work_on_shifted_dates_and_text_search_is_refused(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    album_id = new_album_with(uma, [p.study for p in persons])
    path = make_link(uma, f"/albums/{album_id}/share")
    visitor, _ = visitor_of(phi_app, path)
    items = visitor.get(f"/albums/{album_id}", headers=JSON).get_json()["studies"]["items"]
    dates = sorted(s["date"] for s in items)
    assert all(s["patient_name"].startswith("Case ") and s["accession"] == "" for s in items)
    only_middle = visitor.get(f"/albums/{album_id}?from={dates[1]}&to={dates[1]}", headers=JSON).get_json()
    assert [s["date"] for s in only_middle["studies"]["items"]] == [dates[1]]
    real = iso(persons[1].study_date)  # the real date finds nothing: the visitor's dates are the shifted ones
    assert visitor.get(f"/albums/{album_id}?from={real}&to={real}", headers=JSON).get_json()["studies"]["items"] == []
    refused = visitor.get(f"/albums/{album_id}?q=Hong", headers=JSON)
    assert refused.status_code == 400 and "de-identified" in refused.get_json()["error"]["message"]
    page = visitor.get(f"/albums/{album_id}").get_data(as_text=True)
    assert 'name="q"' not in page and "de-identified" in page


def test_cases_are_stable_within_a_link_and_links_do_not_share_uids_or_offsets(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    album_id = new_album_with(uma, [p.study for p in persons])
    first, _ = visitor_of(phi_app, make_link(uma, f"/albums/{album_id}/share"))
    second, _ = visitor_of(phi_app, make_link(uma, f"/albums/{album_id}/share"))

    def cases(visitor) -> dict[str, tuple[str, str]]:
        answer = {}
        for person in persons:
            study = visitor.get(f"/studies/{person.study}", headers=JSON).get_json()["study"]
            answer[person.study] = (study["patient"]["name"], study["uid"], study["date"])
        return answer

    before = cases(first)
    assert sorted(name for name, _uid, _date in before.values()) == ["Case 1", "Case 2", "Case 3"]
    uma.post(f"/albums/{album_id}/remove", data={"study": persons[0].study, "csrf_token": csrf_token(uma)})
    assert first.get(f"/studies/{persons[0].study}").status_code == 403  # removed: refused at once
    uma.post("/albums/add", data={"album": album_id, "study": persons[0].study, "csrf_token": csrf_token(uma)})
    assert cases(first) == before  # back again: the same case, UID and date
    other = cases(second)
    assert all(other[s][1] != before[s][1] for s in before)  # each link its own UIDs
    assert {other[s][2] for s in before} != {before[s][2] for s in before}  # and its own date offset


def test_korean_pages_call_the_cases_in_korean(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    visitor, landing = visitor_of(phi_app, make_link(uma, f"/studies/{persons[2].study}/share"))
    page = visitor.get(landing, headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert "증례 1" in page and "비식별" in page
    assert "Müller" not in page and "Case 1" not in page


def test_exported_images_carry_no_metadata(phi_app, phi_orthanc):
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    person = persons[0]
    visitor, _ = visitor_of(phi_app, make_link(uma, f"/studies/{person.study}/share", allow_download="y"))
    checked = 0
    for fmt in ("png", "jpeg"):
        response = visitor.get(f"/studies/{person.study}/export.zip?format={fmt}", headers={"Accept-Language": "ko"})
        assert response.status_code == 200
        assert re.search(r'filename="Case_1_\d{4}-\d\d-\d\d_images.zip"', response.headers["Content-Disposition"])
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
            for name in archive.namelist():
                image = Image.open(io.BytesIO(archive.read(name)))
                assert not image.info.get("exif") and not image.info.get("comment"), name
                assert not getattr(image, "text", {}), name  # PNG tEXt/iTXt/zTXt chunks
                assert np.asarray(image).size > 0
                checked += 1
    assert checked == 4  # 2 CT images × 2 formats; the US series is left out


def test_a_plain_link_is_unchanged(phi_app, phi_orthanc):
    """Links made without the box keep showing the patient, as before."""
    _server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    path = make_link(uma, f"/studies/{persons[1].study}/share", deidentify="")
    visitor, landing = visitor_of(phi_app, path, deidentified=False)
    study = visitor.get(landing, headers=JSON).get_json()["study"]
    assert "민준" in study["patient"]["name"] and study["accession"] == persons[1].accession
    assert study["uid"] in persons[1].uids


@pytest.mark.browser
def test_de_identified_album_link_in_chromium(phi_app, phi_orthanc, browser):
    """The issue's Done-when: an album of three studies of different patients, ticked on the study list and
    shared de-identified for a day; a visitor who is not signed in sees exactly Case 1–3 with their images,
    and the ZIP holds de-identified DICOM that pydicom reads; a removed study is refused at once; a revoked
    link is refused."""
    _server, persons = phi_orthanc
    live = LiveServer(phi_app)
    owner_context, visitor_context = browser.new_context(), browser.new_context(accept_downloads=True)
    try:
        base = live.url
        owner = owner_context.new_page()
        sign_in(owner, base)
        album_url = album_from_study_list(owner, base, "Teaching file", [p.study for p in persons])
        owner.goto(album_url)
        owner.click("text=Share…")
        owner.select_option("select[name=expires_in]", label="1 day")
        owner.check("input[name=allow_download]")
        owner.check("input[name=deidentify]")
        owner.click("button:has-text('Create link')")
        link = owner.input_value("#share-link")
        assert "de-identified" in owner.content() or "De-identified" in owner.content()

        visitor = visitor_context.new_page()
        visitor.goto(link)
        assert "Teaching file" not in visitor.content()
        visitor.click("button:has-text('Open the shared album')")
        visitor.wait_for_url(album_url)
        cards = visitor.locator(".grid .card")
        assert cards.count() == 3
        text = visitor.inner_text("main")
        assert all(f"Case {n}" in text for n in (1, 2, 3))
        assert not any(word in visitor.content() for p in persons for word in p.words)
        assert_images_loaded(visitor)
        with visitor.expect_download() as download:
            visitor.click("text=Original DICOM (ZIP)")
        with zipfile.ZipFile(download.value.path()) as archive:
            names = {str(pydicom.dcmread(io.BytesIO(archive.read(n))).PatientName) for n in archive.namelist()}
        assert names == {"Case 1", "Case 2", "Case 3"}

        study_url = visitor.locator(".grid .card a.card__link").first.get_attribute("href")
        removed = study_url.rsplit("/", 1)[1]
        owner.goto(album_url)
        owner.check(f'input[name=study][value="{removed}"]')
        with owner.expect_navigation():
            owner.click("button:has-text('Remove selected studies from this album')")
        assert visitor.goto(base + study_url).status == 403
        assert "only the study, series or album that was shared" in visitor.inner_text("main")
        assert visitor.goto(album_url).status == 200 and visitor.locator(".grid .card").count() == 2

        owner.goto(f"{base}/shares")
        with owner.expect_navigation():
            owner.click("button:has-text('Revoke')")
        refused = visitor.goto(album_url)
        assert refused.status == 410 and "revoked" in visitor.inner_text("main")
    finally:
        owner_context.close()
        visitor_context.close()
        live.stop()


def test_album_page_of_a_de_identified_link_answers_from_the_index_while_orthanc_is_down(
    phi_app, phi_orthanc, app_config
):
    """Cards need Orthanc only to know whether their picture comes from a left-out series: without it
    they show no picture, and the page still lists the cases from the index."""
    server, persons = phi_orthanc
    uma = client_for(phi_app, "uma")
    album_id = new_album_with(uma, [p.study for p in persons])
    path = make_link(uma, f"/albums/{album_id}/share")
    config = app_config(server, SQLALCHEMY_DATABASE_URI=phi_app.config["SQLALCHEMY_DATABASE_URI"])
    config["ORTHANC_URL"] = "http://127.0.0.1:9/"  # nothing listens there: Orthanc is down
    offline = create_app(config)
    visitor, _ = visitor_of(offline, path)
    answer = visitor.get(f"/albums/{album_id}", headers=JSON)
    assert answer.status_code == 200
    items = answer.get_json()["studies"]["items"]
    assert sorted(s["patient_name"] for s in items) == ["Case 1", "Case 2", "Case 3"]
    assert all(s["thumbnail_url"] is None for s in items)
    assert visitor.get(f"/studies/{persons[0].study}").status_code == 503  # a page that needs Orthanc

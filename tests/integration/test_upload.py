"""Uploads into a real, empty Orthanc: every file the user sends is accounted for, and what is
reported as stored is in Orthanc afterwards, byte for byte."""

from __future__ import annotations

import io
import itertools
import re
import zipfile

import numpy as np
import pydicom
import pytest

from gallery import create_app
from gallery.blueprints.upload import ingest, sources
from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc
from scripts.synthetic import PatientInfo, StudyInfo, encode, image_dataset, small_study

from ..support.data import pydicom_file
from ..support.uploads import (
    SCRIPT_CREDENTIALS,
    assert_stored_in_orthanc,
    jpeg_bytes,
    make_zip,
    outcomes,
    post,
    report_of,
    sop_uid,
    study_files,
    upload_form_token,
)
from ..support.web import client_for, orthanc_calls


@pytest.fixture
def upload_app(app_config, fresh_orthanc: EmbeddedOrthanc):
    return create_app(app_config(fresh_orthanc))


@pytest.fixture
def upload_client(upload_app):
    return client_for(upload_app)


@pytest.fixture
def orthanc(fresh_orthanc: EmbeddedOrthanc) -> OrthancClient:
    return OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)


def test_single_file_is_stored_with_links_to_where_it_landed(upload_client, orthanc):
    data = study_files("Single", instances=1)[0]
    report = report_of(upload_client, [("one.dcm", data)])
    assert report["counts"] == {"stored": 1, "already_stored": 0, "rejected": 0, "skipped": 0}
    assert report["files_sent"] == 1 and report["archives"] == 0 and not report["interrupted"]
    item = report["items"][0]
    assert item["file"] == "one.dcm" and item["size"] == len(data)
    assert item["study_url"] == f"/studies/{item['study']}"
    assert item["patient_url"] == f"/patients/{item['patient']}"
    assert item["series_url"] == f"/series/{item['series']}"
    [study] = report["studies"]
    assert study["id"] == item["study"] and study["description"] == "Single study"
    assert study["patient_name"] == "Single, Upload" and study["url"] == item["study_url"]
    assert_stored_in_orthanc(orthanc, report, {"one.dcm": data})
    assert upload_client.get(item["study_url"]).status_code == 200


def test_many_files_in_one_upload(upload_client, orthanc):
    files = {f"img{n:03d}.dcm": data for n, data in enumerate(study_files("Many", series=3, instances=12))}
    report = report_of(upload_client, files.items())
    assert report["counts"]["stored"] == 36 == report["total"]
    assert [i["file"] for i in report["items"]] == list(files)  # the order the files were sent
    assert len(report["studies"]) == 1 and len({i["series"] for i in report["items"]}) == 3
    assert orthanc.get_json("/statistics")["CountInstances"] == 36
    assert_stored_in_orthanc(orthanc, report, files)


def test_folder_keeps_relative_paths_and_skips_what_is_not_dicom(upload_client, orthanc):
    images = study_files("Folder", instances=4)
    folder = {f"scan/시리즈 1/{n}.dcm": data for n, data in enumerate(images)}
    folder.update(
        {
            "scan/.DS_Store": b"\x00\x00\x00\x01Bud1",
            "scan/DICOMDIR": pydicom_file("DICOMDIR").read_bytes(),
            "scan/README.txt": b"Exported by a viewer",
            "scan/photo.jpg": jpeg_bytes(),
            "scan/Thumbs.db": b"\xd0\xcf\x11\xe0",
            "scan/empty": b"",
        }
    )
    report = report_of(upload_client, folder=folder.items())
    got = outcomes(report)
    assert report["counts"] == {"stored": 4, "already_stored": 0, "rejected": 0, "skipped": 6}
    assert got["scan/시리즈 1/0.dcm"][0] == "stored"
    assert got["scan/DICOMDIR"] == ("skipped", sources.DICOMDIR_REASON)
    assert got["scan/.DS_Store"][0] == got["scan/Thumbs.db"][0] == "skipped"
    assert got["scan/README.txt"] == got["scan/photo.jpg"] == ("skipped", ingest.NOT_DICOM)
    assert got["scan/empty"] == ("skipped", ingest.EMPTY)
    assert_stored_in_orthanc(orthanc, report, folder)


def test_zip_with_nested_folders_is_unpacked_entry_by_entry(upload_client, orthanc):
    images = study_files("Zipped", series=2, instances=3)
    entries = {f"export/patient/series{n // 3}/img{n}.dcm": data for n, data in enumerate(images)}
    junk = {
        "__MACOSX/export/patient/series0/._img0.dcm": b"\x00\x05\x16\x07",
        "export/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "export/DICOMDIR": pydicom_file("DICOMDIR").read_bytes(),
        "export/viewer/readme.txt": b"not dicom",
        "export/inner.zip": make_zip([("x.dcm", images[0])]),
    }
    archive = make_zip([*entries.items(), *junk.items()], folders=["export", "export/patient"])
    report = report_of(upload_client, [("study.zip", archive)])
    assert report["files_sent"] == 1 and report["archives"] == 1
    assert report["total"] == len(entries) + len(junk)  # folder entries are not files
    got = outcomes(report)
    assert all(got[f"study.zip:{name}"][0] == "stored" for name in entries)
    assert got["study.zip:export/DICOMDIR"] == ("skipped", sources.DICOMDIR_REASON)
    assert got["study.zip:export/inner.zip"] == ("skipped", sources.NESTED_ZIP_REASON)
    assert got["study.zip:export/viewer/readme.txt"] == ("skipped", ingest.NOT_DICOM)
    assert report["counts"]["skipped"] == len(junk)
    assert_stored_in_orthanc(orthanc, report, {f"study.zip:{k}": v for k, v in entries.items()})


def corrupt_entry(archive: bytes, name: str) -> bytes:
    """Flip a byte in the middle of one stored (uncompressed) entry, so its CRC no longer matches."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        info = zf.getinfo(name)
    data = bytearray(archive)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    return bytes(data)


def test_corrupt_zip_entry_in_the_middle_rejects_only_itself(upload_client, orthanc):
    entries = {f"d/{n}.dcm": data for n, data in enumerate(study_files("Corrupt", instances=5))}
    archive = corrupt_entry(make_zip(entries.items(), zipfile.ZIP_STORED), "d/2.dcm")
    report = report_of(upload_client, [("damaged.zip", archive)])
    got = outcomes(report)
    assert got.pop("damaged.zip:d/2.dcm") == ("rejected", ingest.DAMAGED_ENTRY)
    assert set(got.values()) == {("stored", "")} and len(got) == 4
    assert orthanc.lookup(sop_uid(entries["d/2.dcm"])) == []
    assert_stored_in_orthanc(orthanc, report, {f"damaged.zip:{k}": v for k, v in entries.items()})


def test_files_that_are_not_dicom_are_rejected_with_a_plain_reason(upload_client, orthanc):
    good, damaged = study_files("Mixed", instances=2)
    no_uids = pydicom.dcmread(io.BytesIO(good))
    del no_uids.SOPInstanceUID  # Orthanc 1.10 answers 404 "Inexistent tag"
    files = {
        "photo.dcm": jpeg_bytes(),  # a JPEG renamed .dcm
        "empty.dcm": b"",
        "no-uids.dcm": encode(no_uids),
        "truncated.dcm": damaged[: len(damaged) // 2],
        "good.dcm": good,
        "broken.zip": b"PK\x03\x04 this is not really a zip",
        "nothing.zip": make_zip([]),
    }
    report = report_of(upload_client, files.items())
    assert outcomes(report) == {
        "photo.dcm": ("rejected", "not a DICOM file"),
        "empty.dcm": ("rejected", ingest.EMPTY),
        "no-uids.dcm": ("rejected", ingest.MISSING_UIDS),
        "truncated.dcm": ("rejected", ingest.DAMAGED_DICOM),
        "good.dcm": ("stored", ""),
        "broken.zip": ("rejected", sources.UNREADABLE_ZIP_REASON),
        "nothing.zip": ("skipped", sources.EMPTY_ZIP_REASON),
    }
    assert "missing required UIDs" in ingest.MISSING_UIDS
    assert orthanc.get_json("/statistics")["CountInstances"] == 1


def test_a_file_already_stored_is_reported_as_such(upload_client, orthanc):
    data = study_files("Twice", instances=1)[0]
    first = report_of(upload_client, [("a.dcm", data)])["items"][0]
    second = report_of(upload_client, [("a-again.dcm", data)])
    assert second["counts"]["already_stored"] == 1
    item = second["items"][0]
    assert item["outcome"] == "already_stored" and item["instance"] == first["instance"]
    assert item["study_url"] and second["studies"][0]["id"] == first["study"]
    assert orthanc.get_json("/statistics")["CountInstances"] == 1


def test_files_over_the_streaming_threshold_arrive_whole(upload_client, orthanc):
    """Files over STREAM_ABOVE are sent to Orthanc from disk as they are read, plain or inside a ZIP."""
    study = StudyInfo(PatientInfo("Large^Upload", "UP-Large"), "large", "20250102", "", "Large study")
    pixels = (np.arange(2200 * 2048, dtype=np.uint32) % 4096).astype(np.uint16).reshape(2200, 2048)
    large = [
        encode(image_dataset(study, series_key="s", series_number=1, instance_number=n, modality="CR", pixels=pixels))
        for n in (1, 2)
    ]
    assert min(map(len, large)) > ingest.STREAM_ABOVE
    files = {"plain.dcm": large[0], "big.zip": make_zip([("inside/large.dcm", large[1])])}
    report = report_of(upload_client, files.items())
    assert report["counts"]["stored"] == 2 == report["total"]
    assert_stored_in_orthanc(orthanc, report, {"plain.dcm": large[0], "big.zip:inside/large.dcm": large[1]})


def test_every_file_is_accounted_for_and_every_stored_file_is_in_orthanc(upload_client, orthanc):
    a = study_files("CountA", instances=6)
    b = study_files("CountB", series=2, instances=4)
    zipped = {f"z/{n}.dcm": data for n, data in enumerate(b)} | {"z/.DS_Store": b"x", "z/notes.txt": b"hello"}
    archive = corrupt_entry(make_zip(zipped.items(), zipfile.ZIP_STORED), "z/3.dcm")
    files = {"a0.dcm": a[0], "a1.dcm": a[1], "a0-copy.dcm": a[0], "pic.dcm": jpeg_bytes(), "b.zip": archive}
    folder = {f"dir/{n}.dcm": data for n, data in enumerate(a[2:])} | {"dir/DICOMDIR": b"DICOMDIR"}
    report = report_of(upload_client, files.items(), folder.items())
    expected_items = (len(files) - 1) + len(zipped) + len(folder)  # the ZIP counts as its entries
    assert report["total"] == expected_items and report["files_sent"] == len(files) + len(folder)
    assert report["counts"] == {"stored": 13, "already_stored": 1, "rejected": 2, "skipped": 3}
    sent = files | folder | {f"b.zip:{k}": v for k, v in zipped.items()}
    assert_stored_in_orthanc(orthanc, report, sent)
    assert orthanc.get_json("/statistics")["CountInstances"] == 13


def test_new_patients_and_studies_show_at_once_on_the_lists_and_pages(app_config, fresh_orthanc):
    # The upload writes the index itself: no syncer runs here, and list pages never ask Orthanc.
    app = create_app(app_config(fresh_orthanc, INDEX_POLL_SECONDS=3600, HIERARCHY_TTL=3600))
    client = client_for(app)
    first = report_of(client, [("1.dcm", study_files("Listed", instances=1, description="First visit")[0])])
    patient_url = first["items"][0]["patient_url"]
    assert "First visit" in client.get(patient_url).get_data(as_text=True)  # now cached for an hour
    assert "Upload Listed" in client.get("/patients").get_data(as_text=True)  # English: given name first

    patient = PatientInfo("Listed^Upload", "UP-Listed")
    later = next(small_study(StudyInfo(patient, "second", "20260101", "", "Second visit"), size=32))
    report_of(client, [("2.dcm", later)])
    assert "Second visit" in client.get(patient_url).get_data(as_text=True)
    listed = client.get("/studies", headers={"Accept": "application/json"})
    studies = listed.get_json()["studies"]["items"]
    assert {s["description"] for s in studies} == {"First visit", "Second visit"}
    assert orthanc_calls(listed) == 0

    report_of(client, [("3.dcm", study_files("Newcomer", instances=1)[0])])
    assert "Upload Newcomer" in client.get("/patients").get_data(as_text=True)


def test_plain_form_post_answers_with_the_report_page(upload_client):
    data = study_files("Plain", instances=2)
    response = post(upload_client, [("a.dcm", data[0]), ("b.txt", b"text")], accept="text/html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Upload report" in html and "<strong>2</strong> files:" in html
    assert "<strong>1</strong> stored" in html and "<strong>1</strong> rejected" in html
    assert "not a DICOM file" in html and "Plain study" in html
    assert re.search(r'href="/studies/[0-9a-f-]{44}">Study</a>', html)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_json_answer_carries_the_report_pages_own_rows_and_cards(upload_client, orthanc, fresh_orthanc, language):
    """The upload page's script inserts this HTML as it is, so it must be what the report page renders:
    localised dates and names, and one entry of rows per file sent (a ZIP's entries under its file)."""
    upload_client.set_cookie("lang", language)
    patient = PatientInfo("Hong^Gildong=洪^吉洞=홍^길동", "UP-HONG")
    # One image per study: which image a new study's card shows depends on the order Orthanc received them.
    first, second = (
        next(small_study(StudyInfo(patient, uid, "20250102", "101010", f"Hong {uid}"), "CT", instances=1, size=32))
        for uid in ("first", "second")
    )
    files = [
        ("a.dcm", first),
        ("b.zip", make_zip([("x/1.dcm", second), ("__MACOSX/x/._1.dcm", b"\x00\x05")])),
        ("notes.txt", b"not DICOM"),
    ]
    response = post(upload_client, files, url="/upload?include=html")
    answer = response.get_json()
    rows, studies = answer["html"]["rows"], answer["html"]["studies"]
    assert [row.count("<tr ") for row in rows] == [1, 2, 1]
    assert 'class="outcome-stored"' in rows[0] and "x/1.dcm" in rows[1] and 'class="outcome-rejected"' in rows[2]
    assert [s["id"] for s in studies] == [s["id"] for s in answer["report"]["studies"]] and len(studies) == 2
    date = {"en": "Jan 2, 2025", "ko": "2025. 1. 2."}[language]
    name = {"en": "Gildong Hong (홍길동)", "ko": "홍길동 (Hong Gildong)"}[language]
    for study in studies:
        assert study["html"].strip().startswith('<li class="card">')
        assert date in study["html"] and name in study["html"]  # the script showed 20250102 and the DICOM form
    assert f":{fresh_orthanc.port}" not in response.get_data(as_text=True)

    # The same files once more, into an Orthanc that forgot them, as a plain form post: the report page
    # holds exactly the rows and the cards the JSON carried.
    orthanc.delete(f"/patients/{answer['report']['items'][0]['patient']}")
    page = post(upload_client, files, accept="text/html").get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    for html in [*rows, *(s["html"] for s in studies)]:
        assert html in page


def test_the_reports_markup_only_when_asked_for_and_a_bad_ask_stores_nothing(upload_client, orthanc):
    data = study_files("Asked", instances=2)
    plain = post(upload_client, [("a.dcm", data[0])])
    assert plain.status_code == 200 and "html" not in plain.get_json()  # a script's answer stays lean
    for value in ("rows", "html%2F..%2F", "1"):
        response = post(upload_client, [("b.dcm", data[1])], url=f"/upload?include={value}")
        assert response.status_code == 400, value
        assert "'include' must be one of html" in response.get_json()["error"]["message"]
    assert orthanc.get_json("/statistics")["CountInstances"] == 1


def test_scripts_authenticate_with_a_header_instead_of_a_csrf_token(upload_client):
    """curl -u USER:PASSWORD -F files=@a.dcm -H 'Accept: application/json' (see docs/upload.md): no CSRF token."""
    data = study_files("Script", instances=1)[0]
    response = upload_client.post(
        "/upload",
        data={"files": [(io.BytesIO(data), "a.dcm")]},  # no csrf_token field
        headers={"Accept": "application/json"},
        auth=SCRIPT_CREDENTIALS,
    )
    assert response.status_code == 200
    assert response.get_json()["report"]["counts"]["stored"] == 1


def test_missing_csrf_token_is_a_400_and_nothing_is_stored(upload_client, orthanc):
    data = study_files("Forged", instances=1)[0]
    for accept in ("text/html", "application/json"):
        response = post(upload_client, [("a.dcm", data)], accept=accept, token=False)
        assert response.status_code == 400
        assert "CSRF token is missing" in response.get_data(as_text=True)
    assert response.get_json()["error"]["status"] == 400
    assert orthanc.get_json("/statistics")["CountInstances"] == 0


def test_oversize_upload_is_a_413_naming_the_limit(app_config, fresh_orthanc, orthanc):
    client = client_for(create_app(app_config(fresh_orthanc, MAX_CONTENT_LENGTH=20_000)))
    big = [(f"{n}.dcm", data) for n, data in enumerate(study_files("Big", instances=20))]
    response = post(client, big, accept="text/html")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Upload too large" in html and "limit of 19.5 KB" in html and "Send fewer or smaller files" in html
    assert "Nothing from this upload was stored" in html
    error = post(client, big).get_json()["error"]
    assert error["status"] == 413 and "limit" in error["message"]
    assert orthanc.get_json("/statistics")["CountInstances"] == 0


def test_nothing_chosen_is_a_400_with_the_form(upload_client):
    response = post(upload_client, accept="text/html")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose at least one file" in html and 'name="files"' in html
    assert post(upload_client).get_json()["error"]["message"].startswith("Choose at least one file")


def test_a_folder_of_more_files_than_flask_allows_by_default(upload_client):
    """Flask refuses more than 1,000 form parts by default; a plain folder upload can hold more."""
    folder = [(f"big/{n}.txt", b"x") for n in range(1200)]
    report = report_of(upload_client, folder=folder)
    assert report["counts"]["skipped"] == 1200


def test_orthanc_stopped_during_an_upload_is_reported_file_by_file(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc))
    client = client_for(app)
    images = study_files("Stopped", series=4, instances=10)
    files = {f"{n:02d}.dcm": data for n, data in enumerate(images)}
    token = upload_form_token(client)

    # Orthanc is killed for real once it has answered its 10th upload (the client's call observer sees each one).
    orthanc_client = app.extensions["orthanc"]
    observe, answered = orthanc_client.observer, itertools.count(1)

    def stop_after_ten(method: str, path: str, seconds: float) -> None:
        observe(method, path, seconds)
        if (method, path) == ("POST", "/instances") and next(answered) == 10:
            fresh_orthanc.stop(fast=True)

    orthanc_client.observer = stop_after_ten
    response = client.post(
        "/upload",
        data={"csrf_token": token, "files": [(io.BytesIO(d), n) for n, d in files.items()]},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    report = response.get_json()["report"]
    assert report["interrupted"] and report["total"] == len(files) == sum(report["counts"].values())
    by_reason: dict[str, list[dict]] = {}
    for item in report["items"]:
        by_reason.setdefault(item["outcome"] if item["outcome"] == "stored" else item["reason"], []).append(item)
    assert set(by_reason) <= {"stored", ingest.NOTHING_STORED, ingest.MAYBE_STORED}
    assert 10 <= len(by_reason["stored"]) < len(files) and by_reason[ingest.NOTHING_STORED]
    assert report["studies"] and report["studies"][0]["url"]  # links, even without Orthanc to describe them
    html = client.post(
        "/upload",
        data={"csrf_token": token, "files": [(io.BytesIO(images[-1]), "late.dcm")]},
    ).get_data(as_text=True)
    assert "Orthanc could not be reached during this upload" in html and str(ingest.NOTHING_STORED) in html

    fresh_orthanc.start()
    orthanc = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    assert_stored_in_orthanc(orthanc, {"items": by_reason["stored"]}, files)
    for item in by_reason[ingest.NOTHING_STORED]:
        assert orthanc.lookup(sop_uid(files[item["file"]])) == [], item["file"]

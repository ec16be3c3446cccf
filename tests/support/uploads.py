"""Uploads as the upload page and scripts send them, and checks of the report against Orthanc."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable

import pydicom
from PIL import Image

from gallery.orthanc.client import OrthancClient
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from .web import ADMIN_PASSWORD, ADMIN_USER

Files = Iterable[tuple[str, bytes]]
#: HTTP Basic credentials a script sends: the admin account the app_config fixture creates.
SCRIPT_CREDENTIALS = (ADMIN_USER, ADMIN_PASSWORD)


def study_files(name: str, series: int = 1, instances: int = 3, description: str = "") -> list[bytes]:
    patient = PatientInfo(f"{name}^Upload", f"UP-{name}")
    study = StudyInfo(patient, name, "20250102", "101010", description or f"{name} study")
    return list(small_study(study, "CT", series=series, instances=instances, size=32))


def make_zip(entries: Files, compression: int = zipfile.ZIP_DEFLATED, folders: Iterable[str] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for folder in folders:
            archive.writestr(zipfile.ZipInfo(folder.rstrip("/") + "/"), b"")
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def sop_uid(data: bytes) -> str:
    return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID


def upload_form_token(client) -> str:
    """The CSRF token of the upload form (scripts send none: they authenticate with a header)."""
    html = client.get("/upload").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post(
    client, files: Files = (), folder: Files = (), accept: str = "application/json", token: bool = True, url="/upload"
):
    """Post as the upload page does: the form's fields, its CSRF token, and the session cookie."""
    data: dict[str, object] = {
        "files": [(io.BytesIO(content), name) for name, content in files],
        "folder": [(io.BytesIO(content), name) for name, content in folder],
    }
    if token:
        data["csrf_token"] = upload_form_token(client)
    return client.post(url, data=data, headers={"Accept": accept}, content_type="multipart/form-data")


def report_of(client, files: Files = (), folder: Files = ()) -> dict:
    response = post(client, files, folder)
    assert response.status_code == 200, response.data[:500]
    report = response.get_json()["report"]
    assert sum(report["counts"].values()) == report["total"] == len(report["items"])
    return report


def outcomes(report: dict) -> dict[str, tuple[str, str]]:
    return {
        (f"{i['file']}:{i['entry']}" if i["entry"] else i["file"]): (i["outcome"], i["reason"]) for i in report["items"]
    }


def assert_stored_in_orthanc(orthanc: OrthancClient, report: dict, sent: dict[str, bytes]) -> None:
    """Every file reported as stored or already stored is in Orthanc, with the bytes that were sent."""
    for item in report["items"]:
        if item["outcome"] in ("stored", "already_stored"):
            key = f"{item['file']}:{item['entry']}" if item["entry"] else item["file"]
            original = orthanc.get_binary(f"/instances/{item['instance']}/file").content
            assert hashlib.sha256(original).digest() == hashlib.sha256(sent[key]).digest(), key

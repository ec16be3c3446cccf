"""Every browse page against the real test archive: content, order, search, paging, JSON twin."""

from __future__ import annotations

import hashlib

import pytest

from gallery.extensions import cache

from ..support.data import FILLER_COUNT, VOLUME_SLICES, Archive
from ..support.web import orthanc_calls

JSON = {"Accept": "application/json"}


def get_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url, headers=JSON)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


def test_home_shows_statistics_and_recent_studies(client, orthanc_client):
    data = get_json(client, "/")
    stats = orthanc_client.get_json("/statistics")
    assert data["statistics"]["patients"] == stats["CountPatients"]
    assert data["statistics"]["instances"] == stats["CountInstances"]
    dates = [s["date"] for s in data["recent_studies"] if s["date"]]
    assert dates == sorted(dates, reverse=True)
    html = client.get("/").get_data(as_text=True)
    assert 'name="q"' in html and "Most recent studies" in html


def test_patient_list_is_sorted_and_paginated(client, app):
    first = get_json(client, "/patients")["patients"]
    assert first["page_size"] == app.config["PAGE_SIZE"] == 50
    assert first["total"] >= FILLER_COUNT + 4
    assert first["pages"] >= 2 and len(first["items"]) == 50
    names = [p["name"].casefold() for p in first["items"]]
    assert names == sorted(names)
    second = get_json(client, "/patients?page=2")["patients"]
    assert {p["id"] for p in first["items"]}.isdisjoint(p["id"] for p in second["items"])
    html = client.get("/patients?page=2").get_data(as_text=True)
    assert 'href="/patients?page=1"' in html and 'aria-current="page">2<' in html


@pytest.mark.parametrize(
    "query, expected_id",
    [
        ("홍", "KR-0001"),  # Korean
        ("길동", "KR-0001"),
        ("garcía", "ES-0001"),  # accented, any case
        ("GARCIA", "ES-0001"),  # accents ignored
        ("jose", "ES-0001"),
        ("es-0001", "ES-0001"),  # patient ID
        ("volu*", "VOL-0001"),  # DICOM-style wildcard at the start of the name
        ("*test", "VOL-0001"),
        ("v?lume^test", "VOL-0001"),
    ],
)
def test_patient_search(client, query, expected_id):
    items = get_json(client, f"/patients?q={query}")["patients"]["items"]
    assert expected_id in [p["patient_id"] for p in items]


def test_patient_search_wildcard_is_anchored_and_empty_result_is_explained(client):
    items = get_json(client, "/patients?q=olume*")["patients"]["items"]
    assert "VOL-0001" not in [p["patient_id"] for p in items]
    html = client.get("/patients?q=nobody-has-this-name").get_data(as_text=True)
    assert "No patient matches" in html


@pytest.mark.parametrize("url", ["/patients?q=%00ab", "/studies?q=ab%00cd", "/studies?q=%00"])
def test_a_nul_in_a_search_finds_nothing_instead_of_failing(client, url):
    data = get_json(client, url)
    assert data[url[1:].split("?")[0]]["total"] == 0


def test_html_in_names_is_escaped(client, archive: Archive):
    for url in (
        "/patients?q=XSS-0001",
        f"/patients/{archive.html.patient}",
        f"/studies/{archive.html.study}",
        "/studies?q=XSS-0001",
    ):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<b>Bold</b>" not in html and "<i>Italic</i>" not in html
        assert "&lt;script&gt;" in html or "&lt;i&gt;" in html


def test_study_filters(client):
    everything = get_json(client, "/studies")["studies"]
    dated = get_json(client, "/studies?from=2019-01-01&to=2019-12-31")["studies"]
    assert 0 < dated["total"] < everything["total"]
    assert all("2019-01-01" <= s["date"] <= "2019-12-31" for s in dated["items"])
    mr = get_json(client, "/studies?modality=mr")["studies"]["items"]
    assert mr and all("MR" in s["modalities"] for s in mr)
    found = get_json(client, "/studies?q=ACC-VOL-0001")["studies"]["items"]
    assert [s["patient_id"] for s in found] == ["VOL-0001"]
    described = get_json(client, "/studies?q=volume study")["studies"]["items"]
    assert "VOL-0001" in [s["patient_id"] for s in described]


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2020-13-01", "YYYY-MM-DD"),
        ("to=yesterday", "YYYY-MM-DD"),
        ("from=2021-01-01&to=2020-01-01", "after"),
        ("modality=M%20R", "modality"),
        ("page=0", "page"),
        ("page=abc", "whole number"),
    ],
)
def test_bad_study_filters_are_400_with_a_reason(client, query, message):
    response = client.get(f"/studies?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    error = get_json(client, f"/studies?{query}", status=400)["error"]
    assert error["status"] == 400 and message in error["message"]


def test_page_past_the_end_is_404_naming_the_last_page(client):
    pages = get_json(client, "/patients")["patients"]["pages"]
    response = client.get(f"/patients?page={pages + 1}")
    assert response.status_code == 404
    assert f"the last page is {pages}" in response.get_data(as_text=True)
    korean = client.get(f"/patients?page={pages + 1}", headers={"Accept-Language": "ko"})
    assert korean.status_code == 404 and f"마지막 페이지는 {pages}" in korean.get_data(as_text=True)


def test_patient_page(client, archive: Archive):
    data = get_json(client, f"/patients/{archive.volume[0].patient}")
    patient = data["patient"]
    assert patient["ref"]["name"] == "Volume, Test" and patient["ref"]["birth_date"] == "1970-01-01"
    [study] = patient["studies"]
    assert study["id"] == archive.volume[0].study
    assert study["instance_count"] == VOLUME_SLICES and study["modalities"] == ["MR"]
    assert study["thumbnail_url"].startswith("/instances/")
    html = client.get(f"/patients/{archive.volume[0].patient}").get_data(as_text=True)
    assert "<title>Test Volume · Orthanc Gallery</title>" in html  # English: given name first
    assert 'aria-label="Breadcrumb"' in html


def test_study_page_lists_series_with_middle_slice_thumbnails(client, archive: Archive):
    data = get_json(client, f"/studies/{archive.volume[0].study}")["study"]
    [series] = data["series"]
    assert series["instance_count"] == VOLUME_SLICES and series["modality"] == "MR"
    assert series["thumbnail_url"] == f"/series/{archive.volume_series}/thumbnail"
    html = client.get(f"/studies/{archive.volume[0].study}").get_data(as_text=True)
    assert "Volume study" in html and f"/series/{archive.volume_series}/thumbnail" in html


def test_series_thumbnail_is_the_middle_slice(client, archive: Archive):
    middle = archive.volume[VOLUME_SLICES // 2].instance
    series_thumb = client.get(f"/series/{archive.volume_series}/thumbnail")
    direct = client.get(f"/instances/{middle}/thumbnail")
    assert series_thumb.status_code == direct.status_code == 200
    assert series_thumb.data == direct.data


def test_series_page_is_in_slice_order_not_upload_order(client, archive: Archive, app):
    app.config["SERIES_PAGE_SIZE"] = 16
    data = get_json(client, f"/series/{archive.volume_series}")
    series = data["series"]
    assert series["geometry"] == {
        "rows": 64,
        "columns": 64,
        "pixel_spacing": [0.9375, 0.9375],
        "slice_thickness": 2.0,
        "orientation": "axial",
    }
    assert series["ordered_by"] == "position in the volume"
    slices = data["slices"]
    assert slices["total"] == VOLUME_SLICES and slices["pages"] == 3
    ordered = [s["instance"] for s in slices["items"]]
    for page in (2, 3):
        ordered += [
            s["instance"] for s in get_json(client, f"/series/{archive.volume_series}?page={page}")["slices"]["items"]
        ]
    assert ordered == [s.instance for s in archive.volume]
    html = client.get(f"/series/{archive.volume_series}?page=2").get_data(as_text=True)
    assert "17 / 40" in html and "0.9375 × 0.9375 mm" in html and "axial" in html


def test_instance_page_shows_tags_preview_and_download(client, archive: Archive):
    stored = archive.volume[3]
    html = client.get(f"/instances/{stored.instance}").get_data(as_text=True)
    assert f"/instances/{stored.instance}/preview" in html
    assert "PatientName" in html and "Volume^Test" in html
    assert f"/instances/{stored.instance}/file" in html
    filtered = client.get(f"/instances/{stored.instance}?tag=pixelspacing").get_data(as_text=True)
    assert "PixelSpacing" in filtered and "PatientName" not in filtered
    download = client.get(f"/instances/{stored.instance}/file")
    assert download.status_code == 200 and download.mimetype == "application/dicom"
    assert "attachment" in download.headers["Content-Disposition"]
    assert hashlib.sha256(download.data).hexdigest() == archive.originals[stored.instance]


def test_multiframe_instance_has_a_frame_selector(client, archive: Archive):
    instance = archive.multiframe.instance
    data = get_json(client, f"/instances/{instance}?frame=9")
    assert data["instance"]["frames"] == 10 and data["frame"] == 9
    html = client.get(f"/instances/{instance}?frame=9").get_data(as_text=True)
    assert f"/instances/{instance}/preview?frame=9" in html and "data-frame-picker" in html
    assert f'href="/instances/{instance}?frame=8"' in html
    # A frame that does not exist is a 404 naming the range, as on the image routes (issue 12), no longer 400.
    for frame in (10, -1):
        missing = client.get(f"/instances/{instance}?frame={frame}")
        assert missing.status_code == 404 and "frames 0–9" in missing.get_data(as_text=True)
    assert client.get(f"/instances/{instance}?frame=x").status_code == 400


def test_objects_without_pixels_show_a_placeholder(client, archive: Archive):
    sr = archive.structured_report
    html = client.get(f"/instances/{sr.instance}").get_data(as_text=True)
    assert "No image to show" in html and f"/instances/{sr.instance}/preview" not in html
    study = client.get(f"/studies/{sr.study}").get_data(as_text=True)
    assert f"/series/{sr.series}/thumbnail" not in study and "Structured report" in study


@pytest.mark.parametrize(
    "url",
    ["/", "/patients", "/studies", "/patients?q=a", "/studies?modality=CT"],
)
def test_list_pages_make_no_orthanc_calls(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert orthanc_calls(response) == 0  # lists, search, filters and counts come from the index alone


def test_resource_pages_make_a_fixed_number_of_orthanc_calls(client, archive: Archive, app):
    pages = {
        f"/patients/{archive.volume[0].patient}": 3,
        f"/studies/{archive.volume[0].study}": 2,
        f"/series/{archive.volume_series}": 4,
        f"/instances/{archive.volume[0].instance}": 4,
    }
    for url, expected in pages.items():
        with app.app_context():
            cache.clear()  # cold: every call is made
        assert orthanc_calls(client.get(url)) == expected, url
        assert orthanc_calls(client.get(url)) == 0, url  # warm: all from the cache

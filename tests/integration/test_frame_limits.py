"""Issue 12: every number the gallery passes to Orthanc is checked first (frames, slices, sizes, windows).

Orthanc 1.12.7 + GDCM aborts the whole server on `/instances/{id}/frames/99/rendered` of
pydicom's 2-frame RGB RLE object, and the gallery used to forward `?frame=` as given. Each test
here ends by asking the session's Orthanc for `/system`: run under 1.12.7
(`ORTHANC_BINARY=/work/orthanc-1.12/Orthanc`) that proves the request never reached it.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import generate_uid

from gallery.access.shares import create_share
from gallery.access.users import find_user
from gallery.orthanc.client import OrthancClient

from ..support.data import Archive, Stored, pydicom_file, store, wait_until_stable
from ..support.web import csrf_token

JSON = {"Accept": "application/json"}
RENDERED = re.compile(r"/instances/([0-9a-f-]+)/frames/(\d+)/rendered")


@pytest.fixture(scope="module")
def rgb_2frame(orthanc_client: OrthancClient, archive: Archive):
    """pydicom's SC_rgb_rle_2frame.dcm under UIDs of its own, in a patient of its own.

    In the session archive it shares its UIDs with SC_rgb.dcm (one frame, stored first), so the
    object that crashes Orthanc is stored here, and removed again after the module.
    """
    dataset = pydicom.dcmread(pydicom_file("SC_rgb_rle_2frame.dcm"))
    assert dataset.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless and int(dataset.NumberOfFrames) == 2
    dataset.PatientID, dataset.PatientName = "FRAMES-0001", "Frames^Two"
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=["frame-limits", "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["frame-limits", "series"])
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=["frame-limits", "instance"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    stored = store(orthanc_client, buffer.getvalue(), Archive())
    wait_until_stable(orthanc_client)
    yield stored
    orthanc_client.delete(f"/patients/{stored.patient}")


@pytest.fixture
def sent(app) -> list[str]:
    """Every path the app sends to Orthanc, in order."""
    paths: list[str] = []
    client = app.extensions["orthanc"]
    counted = client.observer
    client.observer = lambda method, path, seconds: (paths.append(path), counted(method, path, seconds))
    return paths


def alive(orthanc_client: OrthancClient) -> bool:
    return bool(orthanc_client.get_json("/system").get("Version"))


def message(response) -> str:
    return response.get_json()["error"]["message"] if response.is_json else response.get_data(as_text=True)


def rendered_frames(paths: list[str]) -> list[int]:
    return [int(m.group(2)) for p in paths if (m := RENDERED.fullmatch(p))]


@pytest.mark.parametrize("route", ["thumbnail", "preview"])
@pytest.mark.parametrize("headers", [{}, JSON], ids=["page", "json"])
def test_a_frame_past_the_end_is_404_naming_the_range_and_orthanc_survives(
    client, sent, orthanc_client, rgb_2frame: Stored, route, headers
):
    response = client.get(f"/instances/{rgb_2frame.instance}/{route}?frame=99", headers=headers)
    assert response.status_code == 404
    assert response.is_json == bool(headers) and (response.mimetype == "text/html") != bool(headers)
    assert "This image has frames 0–1; frame 99 does not exist." in message(response)
    assert rendered_frames(sent) == []  # Orthanc was never asked to render it
    assert alive(orthanc_client)


@pytest.mark.parametrize("frame", ["2", "-1", "-99", "1" + "0" * 30])
def test_every_missing_frame_is_404(client, sent, orthanc_client, rgb_2frame: Stored, frame):
    for route in ("thumbnail", "preview"):
        response = client.get(f"/instances/{rgb_2frame.instance}/{route}?frame={frame}", headers=JSON)
        assert response.status_code == 404 and "frames 0–1" in message(response), (route, frame)
    assert rendered_frames(sent) == []
    assert alive(orthanc_client)


def test_a_frame_that_is_not_a_number_is_400(client, sent, rgb_2frame: Stored):
    for frame in ("x", "1.5", "1e3", "0x1"):
        response = client.get(f"/instances/{rgb_2frame.instance}/thumbnail?frame={frame}", headers=JSON)
        assert response.status_code == 400 and "'frame' must be a whole number" in message(response), frame
    assert sent == []


def test_frames_that_exist_still_render(client, orthanc_client, rgb_2frame: Stored):
    for route, mimetype in (("thumbnail", "image/jpeg"), ("preview", "image/png")):
        for query in ("", "?frame=0", "?frame=1"):
            response = client.get(f"/instances/{rgb_2frame.instance}/{route}{query}")
            assert response.status_code == 200 and response.mimetype == mimetype, (route, query)
    assert alive(orthanc_client)


def test_a_single_frame_image_has_only_frame_0(client, archive: Archive):
    response = client.get(f"/instances/{archive.volume[0].instance}/thumbnail?frame=1", headers=JSON)
    assert response.status_code == 404
    assert message(response) == "This image has only frame 0; frame 1 does not exist."
    korean = client.get(
        f"/instances/{archive.volume[0].instance}/thumbnail?frame=1", headers={**JSON, "Accept-Language": "ko"}
    )
    assert message(korean) == "이 영상에는 프레임 0만 있습니다. 프레임 1은(는) 없습니다."


def test_frame_0_costs_no_extra_orthanc_call(client, sent, rgb_2frame: Stored):
    """Thumbnails are the hot path: no frame (or frame 0) is rendered without reading the tags first."""
    for size, query in ((64, ""), (65, "&frame=0")):  # two sizes: two images, neither served from the cache
        sent.clear()
        assert client.get(f"/instances/{rgb_2frame.instance}/thumbnail?size={size}{query}").status_code == 200
        assert sent == [f"/instances/{rgb_2frame.instance}/frames/0/rendered"], query
    sent.clear()
    assert client.get(f"/instances/{rgb_2frame.instance}/thumbnail?size=64&frame=1").status_code == 200
    assert sent == [f"/instances/{rgb_2frame.instance}/tags", f"/instances/{rgb_2frame.instance}/frames/1/rendered"]


def test_the_instance_page_checks_its_frame_too(client, orthanc_client, rgb_2frame: Stored):
    for headers in ({}, JSON):
        response = client.get(f"/instances/{rgb_2frame.instance}?frame=99", headers=headers)
        assert response.status_code == 404 and "frames 0–1; frame 99 does not exist" in message(response)
    assert client.get(f"/instances/{rgb_2frame.instance}?frame=1").status_code == 200
    assert alive(orthanc_client)


def visitor_of(app, study: str):
    """A share-link visitor (no account) who opened a link to `study`."""
    with app.app_context():
        _share, token = create_share("study", study, "frames", find_user("admin"), timedelta(days=1), False)
    visitor = app.test_client()
    opened = visitor.post(f"/s/{token}", data={"password": "", "csrf_token": csrf_token(visitor)})
    assert opened.status_code == 302
    return visitor


def test_a_share_link_visitor_cannot_reach_orthanc_with_a_missing_frame(
    app, sent, orthanc_client, rgb_2frame: Stored, archive: Archive
):
    visitor = visitor_of(app, rgb_2frame.study)
    assert visitor.get(f"/instances/{rgb_2frame.instance}/thumbnail?frame=1").status_code == 200  # within scope
    for route in ("thumbnail", "preview"):
        for headers in ({}, JSON):
            response = visitor.get(f"/instances/{rgb_2frame.instance}/{route}?frame=99", headers=headers)
            assert response.status_code == 404 and "frames 0–1; frame 99 does not exist" in message(response)
    # Outside the link's scope the answer is a 403 before any frame is looked at.
    assert visitor.get(f"/instances/{archive.multiframe.instance}/thumbnail?frame=99").status_code == 403
    assert max(rendered_frames(sent)) == 1
    assert alive(orthanc_client)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("slice=0", 404, "no slice 0: slices are numbered 1 to 2"),
        ("slice=3", 404, "no slice 3: slices are numbered 1 to 2"),
        ("slice=-1", 404, "no slice -1: slices are numbered 1 to 2"),
        ("slice=" + "9" * 30, 404, "slices are numbered 1 to 2"),
        ("slice=two", 400, "'slice' must be a whole number"),
        ("instance={instance}&frame=2", 404, "not part of this series"),
        ("instance={instance}&frame=-1", 404, "not part of this series"),
        ("wc=40&ww=0", 400, "width must be above 0"),
        ("wc=1e10&ww=80", 400, "below 1e9"),
        ("wc=40&ww=1e9", 400, "below 1e9"),
    ],
)
def test_viewer_slices_and_windows_are_checked_before_orthanc(
    client, sent, orthanc_client, rgb_2frame: Stored, query, status, words
):
    query = query.format(instance=rgb_2frame.instance)
    for route in ("view", "image", "export.zip"):
        response = client.get(f"/series/{rgb_2frame.series}/{route}?{query}", headers=JSON)
        assert response.status_code == status and words in message(response), (route, query)
    assert rendered_frames(sent) == []
    assert alive(orthanc_client)


def test_the_viewer_steps_through_both_frames(client, sent, rgb_2frame: Stored):
    for number in (1, 2):
        assert client.get(f"/series/{rgb_2frame.series}/image?slice={number}").status_code == 200
    found = client.get(f"/series/{rgb_2frame.series}/view?instance={rgb_2frame.instance}&frame=1", headers=JSON)
    assert found.status_code == 200 and found.get_json()["view"]["number"] == 2
    assert sorted(set(rendered_frames(sent))) == [0, 1]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("size=31", "'size' must be from 32 to 256"),
        ("size=257", "'size' must be from 32 to 256"),
        ("cols=0", "'cols' must be from 1 to 12"),
        ("rows=13", "'rows' must be from 1 to 12"),
    ],
)
def test_mosaic_sizes_outside_their_range_are_400(client, sent, rgb_2frame: Stored, query, words):
    response = client.get(f"/series/{rgb_2frame.series}/mosaic?{query}", headers=JSON)
    assert response.status_code == 400 and words in message(response)
    assert rendered_frames(sent) == []


def test_thumbnail_sizes_follow_a_lower_preview_limit(app, client, rgb_2frame: Stored):
    app.config["PREVIEW_MAX_SIZE"] = 100
    response = client.get(f"/instances/{rgb_2frame.instance}/thumbnail?size=101", headers=JSON)
    assert response.status_code == 400 and "'size' must be from 16 to 100; got 101." in message(response)
    assert client.get(f"/instances/{rgb_2frame.instance}/thumbnail?size=100").status_code == 200


def test_the_gallerys_own_links_only_name_frames_that_exist(client, orthanc_client, rgb_2frame: Stored):
    """Every image URL the series page, its JSON, the instance page and the viewer build answers 200."""
    pages = [
        client.get(f"/series/{rgb_2frame.series}").get_data(as_text=True),
        client.get(f"/instances/{rgb_2frame.instance}?frame=1").get_data(as_text=True),
        client.get(f"/series/{rgb_2frame.series}/view?slice=2").get_data(as_text=True),
        client.get(f"/series/{rgb_2frame.series}", headers=JSON).get_data(as_text=True),
    ]
    urls = {
        url.replace("&amp;", "&")
        for html in pages
        for url in re.findall(r'(/(?:instances|series)/[0-9a-f-]{44}/(?:thumbnail|preview|image|view)[^"\s]*)', html)
    }
    assert any("frame=1" in url for url in urls) and len(urls) >= 4
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert alive(orthanc_client)


NUMBERS = st.one_of(
    st.integers(-3, 600),
    st.integers(-(10**30), 10**30),
    st.sampled_from(["", "0", "1", "2", "99", "-0", "+1", " 1 ", "1_0", "1.0", "٢", "nan", "1e309"]),
).map(str)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_number_on_any_image_route_never_fails_nor_reaches_orthanc_out_of_range(
    client, sent, orthanc_client, rgb_2frame: Stored, data
):
    routes = [
        f"/instances/{rgb_2frame.instance}/thumbnail",
        f"/instances/{rgb_2frame.instance}/preview",
        f"/instances/{rgb_2frame.instance}",
        f"/series/{rgb_2frame.series}/view",
        f"/series/{rgb_2frame.series}/image",
        f"/series/{rgb_2frame.series}/mosaic",
    ]
    route = data.draw(st.sampled_from(routes), label="route")
    names = st.sampled_from(["frame", "size", "slice", "wc", "ww", "cols", "rows", "page"])
    params = data.draw(st.dictionaries(names, NUMBERS, min_size=1, max_size=3), label="params")
    sent.clear()
    response = client.get(route, query_string=params, headers=JSON)
    assert response.status_code < 500, (route, params)
    if response.status_code >= 400:
        assert response.is_json and message(response), (route, params)
    assert all(0 <= frame <= 1 for frame in rendered_frames(sent)), sent
    assert alive(orthanc_client)

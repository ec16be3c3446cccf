"""The series viewer over real data: slices in order, windows, reformatting, validation, JS-off navigation."""

from __future__ import annotations

import html
import io
import re

import numpy as np
import pytest
from PIL import Image

from gallery.access.permissions import Permission, permission_of
from gallery.dicom.geometry import spread
from scripts.synthetic import phantom_volume

from ..support.data import VOLUME_PIXEL_SPACING, VOLUME_SIZE, VOLUME_SLICE_SPACING, VOLUME_SLICES, Archive
from ..support.web import orthanc_calls

JSON = {"Accept": "application/json"}


def pixels(response) -> np.ndarray:
    assert response.status_code == 200, response.data[:300]
    return np.asarray(Image.open(io.BytesIO(response.data)).convert("L"), dtype=np.float64)


def links(page: bytes, rel: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(rf'rel="{rel}"[^>]*href="([^"]+)"', page.decode())]


@pytest.fixture(scope="module")
def phantom() -> np.ndarray:
    return phantom_volume(VOLUME_SIZE, VOLUME_SLICES).astype(np.float64)  # [z, y, x], as uploaded


def test_the_viewer_opens_on_the_middle_slice_with_volume_facts(client, archive: Archive):
    data = client.get(f"/series/{archive.volume_series}/view", headers=JSON).get_json()
    assert data["view"]["number"] == 20 and data["view"]["count"] == VOLUME_SLICES
    volume = data["volume"]
    assert (volume["columns"], volume["rows"], volume["slices"]) == (VOLUME_SIZE, VOLUME_SIZE, VOLUME_SLICES)
    assert volume["pixel_spacing"] == [VOLUME_PIXEL_SPACING] * 2
    assert volume["slice_spacing"] == VOLUME_SLICE_SPACING and not volume["uneven"]
    assert volume["orientation"] == "axial" and volume["total_bytes"] > VOLUME_SLICES * VOLUME_SIZE**2 * 2
    assert volume["mpr_refusal"] == ""
    # Slice 20 of the volume (uploaded shuffled) lies at z = -40 + 19 × 2 mm.
    assert data["position"] == "(-30.0, -30.0, -2.0) mm" and data["thickness"] == VOLUME_SLICE_SPACING
    assert [p["name"] for p in data["planes"] if p["url"]] == ["axial", "coronal", "sagittal"]
    assert "127.0.0.1" not in str(data)  # no Orthanc address


def test_the_viewer_makes_a_fixed_number_of_orthanc_calls(client, archive: Archive):
    url = f"/series/{archive.volume_series}/view?slice=3"
    assert orthanc_calls(client.get(url)) == 5  # the 4 of the series page + /series/{id}/instances
    assert orthanc_calls(client.get(url)) == 0
    assert orthanc_calls(client.get(f"/series/{archive.volume_series}/image?slice=3")) == 1  # rendered
    assert orthanc_calls(client.get(f"/series/{archive.volume_series}/image?slice=3")) == 0


def test_stack_images_follow_slice_order_not_upload_order(client, archive: Archive):
    series = archive.volume_series
    for number in (1, 17, 40):
        viewer = pixels(client.get(f"/series/{series}/image?slice={number}&format=png"))
        preview = pixels(client.get(f"/instances/{archive.volume[number - 1].instance}/preview"))
        assert np.array_equal(viewer, preview), number


def test_js_off_navigation_by_links_and_form(client, archive: Archive):
    series = archive.volume_series
    first = client.get(f"/series/{series}/view?slice=1&preset=full")
    assert links(first.data, "prev") == []  # nothing before slice 1
    (following,) = links(first.data, "next")
    assert following == f"/series/{series}/view?slice=2&preset=full"  # the window survives navigation
    second = client.get(following)
    assert f"/series/{series}/image?slice=2&amp;preset=full" in second.data.decode()
    assert links(second.data, "prev") == [f"/series/{series}/view?slice=1&preset=full"]
    last = client.get(f"/series/{series}/view?slice={VOLUME_SLICES}")
    assert links(last.data, "next") == [] and b'name="slice"' in last.data  # the "Go to slice" form


def test_an_instance_link_opens_its_slice(client, archive: Archive):
    data = client.get(f"/series/{archive.volume_series}/view?instance={archive.volume[6].instance}", headers=JSON)
    assert data.get_json()["view"]["number"] == 7


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("slice=0", 404, "no slice 0"),
        ("slice=41", 404, "no slice 41"),
        ("slice=abc", 400, "whole number"),
        ("plane=sagittal&slice=65", 404, "no slice 65"),
        ("plane=oblique", 400, "'plane' must be one of axial, coronal, sagittal"),
        ("wc=40", 400, "both"),
        ("wc=40&ww=0", 400, "width must be above 0"),
        ("wc=nan&ww=80", 400, "finite"),
        ("wc=40&ww=1e999", 400, "finite"),
        ("preset=lung", 400, "'preset' must be one of file, auto, full"),
        ("format=gif", 400, "'format' must be one of jpeg, png"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(client, archive: Archive, query, status, words):
    for route in ("view", "image"):
        if route == "view" and query.startswith("format"):
            continue
        response = client.get(f"/series/{archive.volume_series}/{route}?{query}", headers=JSON)
        assert response.status_code == status, (route, query)
        assert words in response.get_json()["error"]["message"]


def test_unknown_series_is_404(client):
    for route in ("view", "image", "mosaic", "export.zip", "dicom.zip"):
        assert client.get(f"/series/00000000-00000000-00000000-00000000-00000000/{route}").status_code == 404


def test_windowing_changes_the_image(client, archive: Archive, phantom):
    url = f"/series/{archive.volume_series}/image?slice=20&format=png"
    default = pixels(client.get(url))  # the file's window: C 600 / W 1200
    narrow = pixels(client.get(url + "&wc=300&ww=200"))
    assert not np.array_equal(default, narrow)
    # Manual window: values up to 200 are black, from 400 white (DICOM's linear function), as Orthanc renders them.
    voxels = phantom[19]
    assert np.all(narrow[voxels <= 199] == 0) and np.all(narrow[voxels >= 400] == 255)
    full = client.get(f"/series/{archive.volume_series}/view?preset=full", headers=JSON).get_json()["view"]["window"]
    sampled = phantom[spread(VOLUME_SLICES, 16)]
    assert full["width"] == pytest.approx(sampled.max() - sampled.min())


def test_ct_presets_are_offered_for_ct_and_change_the_image(client, archive: Archive):
    series = archive.files["CT_small.dcm"].series
    data = client.get(f"/series/{series}/view", headers=JSON).get_json()
    assert "lung" in [p["name"] for p in data["presets"]]
    brain = client.get(f"/series/{series}/view?preset=brain", headers=JSON).get_json()["view"]["window"]
    assert brain == {"centre": 40, "width": 80}
    assert client.get(f"/series/{series}/image?preset=brain").data != client.get(f"/series/{series}/image").data


def test_sagittal_and_coronal_have_physical_proportions(client, archive: Archive):
    series = archive.volume_series
    data = client.get(f"/series/{series}/view?plane=sagittal", headers=JSON).get_json()
    assert data["view"]["count"] == VOLUME_SIZE and data["view"]["number"] == VOLUME_SIZE // 2
    height_mm, width_mm = VOLUME_SLICES * VOLUME_SLICE_SPACING, VOLUME_SIZE * VOLUME_PIXEL_SPACING
    for plane in ("sagittal", "coronal"):
        image = Image.open(io.BytesIO(client.get(f"/series/{series}/image?plane={plane}&slice=1").data))
        assert image.width == VOLUME_SIZE  # the finer spacing is kept ...
        assert image.height == round(height_mm / VOLUME_PIXEL_SPACING)  # ... and z stretched to match: 85 px
        assert image.height / image.width == pytest.approx(height_mm / width_mm, rel=0.01)
    assert data["position"] == "x = -0.9 mm"  # sagittal slice 32 of 64: -30 mm + 31 × 0.9375 mm


def test_a_sagittal_pixel_is_the_right_voxel(client, archive: Archive, phantom):
    """Sagittal slice n is x index n-1, head up, anterior left; z is resampled linearly to 85 rows."""
    number, centre, width = 13, 2048.0, 4096.0  # a window wide enough to be linear over all values
    image = pixels(
        client.get(
            f"/series/{archive.volume_series}/image?plane=sagittal&slice={number}&wc={centre:g}&ww={width:g}&format=png"
        )
    )
    voxels = phantom[::-1, :, number - 1]  # rows from the top slice down, columns anterior → posterior
    rows = image.shape[0]
    source = np.clip((np.arange(rows) + 0.5) * VOLUME_SLICES / rows - 0.5, 0, VOLUME_SLICES - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, VOLUME_SLICES - 1)
    weight = (source - low)[:, None]
    expected = voxels[low] * (1 - weight) + voxels[high] * weight
    expected = np.clip(np.rint(((expected - (centre - 0.5)) / (width - 1) + 0.5) * 255), 0, 255)
    assert np.abs(image - expected).max() <= 1
    # And the top row, taken straight from the highest slice, is exactly that slice's voxels.
    assert np.array_equal(image[0], expected[0])


def test_reformatting_fetches_the_volume_once(client, archive: Archive):
    series = archive.volume_series
    client.get(f"/series/{series}/view?plane=coronal")
    first = client.get(f"/series/{series}/image?plane=coronal&slice=5&wc=100&ww=50")
    assert orthanc_calls(first) <= 1  # /series/{id}/numpy, unless another test already loaded it
    other = client.get(f"/series/{series}/image?plane=sagittal&slice=9&wc=100&ww=50")
    assert other.status_code == 200 and orthanc_calls(other) == 0


def test_a_multiframe_object_is_stepped_frame_by_frame(client, archive: Archive):
    stored = archive.multiframe
    data = client.get(f"/series/{stored.series}/view?slice=3", headers=JSON).get_json()
    assert data["view"]["count"] == 10 and data["position"] == "frame 3 of 10"
    first = pixels(client.get(f"/series/{stored.series}/image?slice=1&format=png"))
    last = pixels(client.get(f"/series/{stored.series}/image?slice=10&format=png"))
    assert not np.array_equal(first, last)
    frame9 = pixels(client.get(f"/instances/{stored.instance}/preview?frame=9"))
    assert np.array_equal(last, frame9)
    assert client.get(f"/series/{stored.series}/image?slice=11").status_code == 404


@pytest.mark.parametrize(
    ("name", "reason"),
    [("emri_small.dcm", "the slices carry no position"), ("CT_small.dcm", "only 1 slice; at least 5 are needed")],
)
def test_series_that_are_not_volumes_say_why_there_is_no_mpr(client, archive: Archive, name, reason):
    series = archive.files[name].series
    page = client.get(f"/series/{series}/view").data.decode()
    assert f"not offered: {reason}" in page
    response = client.get(f"/series/{series}/view?plane=sagittal", headers=JSON)
    assert response.status_code == 400 and reason in response.get_json()["error"]["message"]


def test_a_series_without_images_has_no_viewer(client, archive: Archive):
    response = client.get(f"/series/{archive.structured_report.series}/view", headers=JSON)
    assert response.status_code == 404 and "no images" in response.get_json()["error"]["message"]


def test_series_and_study_pages_link_the_viewer_and_downloads(client, archive: Archive):
    series_page = client.get(f"/series/{archive.volume_series}").data.decode()
    for target in ("/view", "/mosaic", "/export.zip?format=png", "/export.zip?format=jpeg", "/dicom.zip"):
        assert f"/series/{archive.volume_series}{target}" in series_page
    study_page = client.get(f"/studies/{archive.volume[0].study}").data.decode()
    for target in ("/export.zip?format=png", "/dicom.zip"):
        assert f"/studies/{archive.volume[0].study}{target}" in study_page
    instance_page = client.get(f"/instances/{archive.volume[4].instance}").data.decode()
    assert f"/series/{archive.volume_series}/view?instance={archive.volume[4].instance}" in instance_page


def test_viewing_needs_view_and_downloads_need_download(app):
    needs = {
        rule.endpoint: permission_of(app.view_functions[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("viewer.")
    }
    for endpoint in ("viewer.view", "viewer.image", "viewer.mosaic"):
        assert needs.pop(endpoint) == Permission.VIEW
    assert needs and set(needs.values()) == {Permission.DOWNLOAD}  # every export and archive


def test_forgetting_a_series_drops_its_built_stack(app, client, archive: Archive):
    from gallery.archive.loaders import forget
    from gallery.extensions import cache

    series = archive.volume_series
    client.get(f"/series/{series}/view")
    with app.app_context():
        assert cache.get(f"stack:{series}") is not None
        forget(series=[series])  # what an upload or delete does
        assert cache.get(f"stack:{series}") is None
    # Rebuilt from fresh series JSON: /series/{id}, ordered-slices, instances (the study and tags stay cached).
    assert orthanc_calls(client.get(f"/series/{series}/view")) == 3

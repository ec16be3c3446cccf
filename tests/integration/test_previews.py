"""The proxied image routes: formats, sizes, caching headers, placeholders."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ..support.data import VOLUME_SIZE, Archive


def image_of(response) -> Image.Image:
    return Image.open(io.BytesIO(response.data))


def test_thumbnail_is_a_bounded_jpeg_with_strong_etag(client, archive: Archive):
    url = f"/instances/{archive.files['CT_small.dcm'].instance}/thumbnail"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert max(image_of(response).size) == 256  # 128² CT upscaled to fit the 256 box, not beyond
    etag, weak = response.get_etag()
    assert etag and not weak
    assert "immutable" in response.headers["Cache-Control"] and "private" in response.headers["Cache-Control"]
    assert response.cache_control.max_age >= 365 * 24 * 3600
    again = client.get(url, headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.data == b""


def test_thumbnail_size_outside_its_range_is_400(client, archive: Archive):
    """Sizes are checked, not clamped: a size outside 16–512 is a 400 naming the range (issue 12)."""
    instance = archive.volume[0].instance
    largest = client.get(f"/instances/{instance}/thumbnail?size=512")
    assert largest.status_code == 200 and max(image_of(largest).size) == 512
    smallest = client.get(f"/instances/{instance}/thumbnail?size=16")
    assert max(image_of(smallest).size) == 16
    for size in ("5000", "513", "15", "1", "-3"):
        response = client.get(f"/instances/{instance}/thumbnail?size={size}", headers={"Accept": "application/json"})
        assert response.status_code == 400
        assert response.get_json()["error"]["message"] == f"'size' must be from 16 to 512; got {size}."
    assert client.get(f"/instances/{instance}/thumbnail?size=big").status_code == 400


def test_preview_is_native_size_png(client, archive: Archive):
    response = client.get(f"/instances/{archive.volume[5].instance}/preview")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert image_of(response).size == (VOLUME_SIZE, VOLUME_SIZE)


def test_large_images_are_clamped_to_the_preview_limit(client, archive: Archive, app):
    app.config["PREVIEW_MAX_SIZE"] = 100
    response = client.get(f"/instances/{archive.volume[6].instance}/preview")
    assert image_of(response).size == (64, 64)  # smaller than the limit: never upscaled
    big = archive.files["CT_small.dcm"].instance  # 128 × 128
    assert max(image_of(client.get(f"/instances/{big}/preview")).size) == 100


def test_frames_render_differently_and_out_of_range_is_404(client, archive: Archive):
    instance = archive.multiframe.instance
    first = client.get(f"/instances/{instance}/preview")
    last = client.get(f"/instances/{instance}/preview?frame=9")
    assert first.status_code == last.status_code == 200
    assert first.data != last.data and first.get_etag() != last.get_etag()
    assert client.get(f"/instances/{instance}/preview?frame=10").status_code == 404
    # A negative frame names no frame either: 404 like any other missing frame (issue 12), no longer 400.
    assert client.get(f"/instances/{instance}/thumbnail?frame=-2").status_code == 404


def test_unrenderable_objects_get_a_placeholder_image(client, archive: Archive):
    response = client.get(f"/instances/{archive.structured_report.instance}/thumbnail")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and b"<text" not in response.data  # wordless: the page says why
    assert response.cache_control.max_age <= 3600  # may render once a codec is added


def test_series_thumbnail_is_short_lived(client, archive: Archive):
    response = client.get(f"/series/{archive.volume_series}/thumbnail")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.cache_control.max_age == 60
    etag, _ = response.get_etag()
    assert (
        client.get(f"/series/{archive.volume_series}/thumbnail", headers={"If-None-Match": f'"{etag}"'}).status_code
        == 304
    )


def test_images_are_cached_server_side(client, archive: Archive):
    url = f"/instances/{archive.volume[7].instance}/thumbnail?size=100"
    first = client.get(url)
    assert "orthanc" in first.headers.get("Server-Timing", "")
    second = client.get(url)
    assert second.data == first.data and "Server-Timing" not in second.headers


@pytest.mark.parametrize("route", ["thumbnail", "preview"])
def test_unknown_instance_is_404(client, route):
    response = client.get(f"/instances/00000000-00000000-00000000-00000000-00000000/{route}")
    assert response.status_code == 404

"""Downloads: ZIPs of rendered images, Orthanc's DICOM archives streamed through, and contact sheets."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pydicom
from PIL import Image

from ..support.data import VOLUME_SIZE, VOLUME_SLICES, Archive


def archive_of(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_series_export_is_a_zip_of_pngs_in_slice_order(client, archive: Archive):
    response = client.get(f"/series/{archive.volume_series}/export.zip?format=png")
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="MR_3_T1_AXIAL_3D.zip"'
    zipped = archive_of(response)
    names = zipped.namelist()
    assert names == [f"MR_3_T1_AXIAL_3D/{n:04d}.png" for n in range(1, VOLUME_SLICES + 1)]
    first = Image.open(io.BytesIO(zipped.read(names[0])))
    assert first.format == "PNG" and first.size == (VOLUME_SIZE, VOLUME_SIZE)
    viewer = client.get(f"/series/{archive.volume_series}/image?slice=1&format=png").data
    assert np.array_equal(np.asarray(first), np.asarray(Image.open(io.BytesIO(viewer))))


def test_series_export_uses_the_current_plane_window_and_format(client, archive: Archive):
    series = archive.volume_series
    zipped = archive_of(client.get(f"/series/{series}/export.zip?format=jpeg&plane=coronal&wc=300&ww=200"))
    names = zipped.namelist()
    assert len(names) == VOLUME_SIZE and names[0] == "MR_3_T1_AXIAL_3D_coronal/0001.jpg"
    tenth = zipped.read(names[9])
    assert Image.open(io.BytesIO(tenth)).format == "JPEG"
    assert tenth == client.get(f"/series/{series}/image?plane=coronal&slice=10&wc=300&ww=200").data
    default = archive_of(client.get(f"/series/{series}/export.zip?format=jpeg&plane=coronal")).read(names[9])
    assert default != tenth


def test_export_parameters_are_validated(client, archive: Archive):
    series = archive.volume_series
    assert client.get(f"/series/{series}/export.zip?format=tiff").status_code == 400
    assert client.get(f"/series/{series}/export.zip?ww=-1&wc=3").status_code == 400
    assert client.get(f"/series/{archive.structured_report.series}/export.zip").status_code == 404


def test_study_export_has_a_folder_per_series(client, archive: Archive):
    study = archive.two_series[0].study
    response = client.get(f"/studies/{study}/export.zip?format=jpeg")
    assert response.headers["Content-Disposition"] == 'attachment; filename="20180505_Two_series_images.zip"'
    names = archive_of(response).namelist()
    assert names == [f"CT_{s}_CT_series_{s}/{n:04d}.jpg" for s in (1, 2) for n in (1, 2, 3)]
    assert client.get(f"/studies/{archive.structured_report.study}/export.zip").status_code == 404


def test_original_dicom_zip_streams_orthancs_archive(client, archive: Archive):
    response = client.get(f"/series/{archive.volume_series}/dicom.zip")
    assert response.is_streamed and "Content-Length" not in response.headers
    assert response.headers["Content-Disposition"] == 'attachment; filename="MR_3_T1_AXIAL_3D_dicom.zip"'
    zipped = archive_of(response)
    files = [name for name in zipped.namelist() if not name.endswith("/")]
    assert len(files) == VOLUME_SLICES
    uids = {pydicom.dcmread(io.BytesIO(zipped.read(name))).SOPInstanceUID for name in files}
    assert len(uids) == VOLUME_SLICES
    study = archive_of(client.get(f"/studies/{archive.volume[0].study}/dicom.zip"))
    assert len([n for n in study.namelist() if not n.endswith("/")]) == VOLUME_SLICES


def test_contact_sheet_is_a_numbered_grid_with_a_strong_etag(client, archive: Archive):
    url = f"/series/{archive.volume_series}/mosaic"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    sheet = Image.open(io.BytesIO(response.data))
    assert sheet.size == (6 * 128 + 5 * 2, 6 * 128 + 5 * 2)  # 36 of the 40 slices, 128 px tiles, 2 px gaps
    grey = np.asarray(sheet.convert("L"))
    label = grey[128 - 16 : 128, 0:16]  # the "1" in the first tile's corner, over a black background
    assert label.max() > 200
    etag, weak = response.get_etag()
    assert etag and not weak
    again = client.get(url, headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.data == b""
    small = client.get(url + "?cols=3&rows=2&size=64")
    assert Image.open(io.BytesIO(small.data)).size == (3 * 64 + 4, 2 * 64 + 2)
    assert small.get_etag()[0] != etag


def test_contact_sheet_shrinks_to_the_slices_there_are_and_validates(client, archive: Archive):
    single = client.get(f"/series/{archive.files['CT_small.dcm'].series}/mosaic")
    assert Image.open(io.BytesIO(single.data)).size == (128, 128)
    for query in ("cols=0", "rows=13", "size=1000", "cols=x"):
        assert client.get(f"/series/{archive.volume_series}/mosaic?{query}").status_code == 400

"""One verdict on whether a series has images to show, the same on every page that judges it.

The study page, its JSON and the list index can only see each series' JSON
(modality, instances); the series page also reads its middle file's tags. Before
dicom.is_viewable they judged differently, and a series of CT files stripped of
their pixel data (pydicom's DICOMDIR test set) got a thumbnail and an image export
on its study page but a 404 from the viewer its series page hid.
"""

from __future__ import annotations

from gallery.orthanc.client import OrthancClient

from ..support.data import Archive


def get_json(client, url: str):
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 200, url
    return response.get_json()


def test_every_series_gets_the_same_verdict_on_its_study_page_and_its_own(
    client, archive: Archive, orthanc_client: OrthancClient
):
    """Every series of every study of the test archive: study JSON and HTML, series JSON and HTML, viewer, instance."""
    verdicts = {}
    for study_id in orthanc_client.get_json("/studies"):
        study = get_json(client, f"/studies/{study_id}")["study"]
        study_html = client.get(f"/studies/{study_id}").get_data(as_text=True)
        for card in study["series"]:
            series_id, viewable = card["id"], card["renderable"]
            where = f"series {series_id} ({card['modality']}) of study {study_id}"
            assert (card["thumbnail_url"] is not None) == viewable, where
            assert (f"/series/{series_id}/thumbnail" in study_html) == viewable, where
            series = get_json(client, f"/series/{series_id}")["series"]
            assert series["renderable"] == viewable, where
            series_html = client.get(f"/series/{series_id}").get_data(as_text=True)
            assert (f"/series/{series_id}/view" in series_html) == viewable, where
            viewer = client.get(f"/series/{series_id}/view")
            assert viewer.status_code == (200 if viewable else 404), where
            first = orthanc_client.get_json(f"/series/{series_id}")["Instances"][0]
            assert get_json(client, f"/instances/{first}")["instance"]["renderable"] == viewable, where
            verdicts[series_id] = viewable
        exports = f"/studies/{study_id}/export.zip" in study_html
        assert exports == any(card["renderable"] for card in study["series"]), study_id
    # The archive holds both kinds, and the cases that used to be judged apart.
    assert verdicts[archive.structured_report.series] is False
    assert verdicts[archive.files["rtplan.dcm"].series] is False
    assert verdicts[archive.multiframe.series] is True
    assert all(verdicts[s.series] for s in archive.two_series) and len({s.series for s in archive.two_series}) == 2
    assert verdicts[archive.files["IM000000"].series] is True  # CT files without pixel data
    assert len(verdicts) == len(orthanc_client.get_json("/series"))


def test_the_list_index_offers_a_study_thumbnail_exactly_when_a_series_is_viewable(
    client, archive: Archive, orthanc_client: OrthancClient
):
    rows, number, pages = [], 1, 1
    while number <= pages:
        listing = get_json(client, f"/studies?page={number}")["studies"]
        rows, number, pages = rows + listing["items"], number + 1, listing["pages"]
    assert len(rows) == len(orthanc_client.get_json("/studies"))
    for row in rows:
        series = get_json(client, f"/studies/{row['id']}")["study"]["series"]
        assert (row["thumbnail_url"] is not None) == any(s["renderable"] for s in series), row["id"]


def test_a_series_without_pixel_data_opens_with_placeholders_not_errors(client, archive: Archive):
    """Viewable by its modality, but its files carry no pixels: every viewer URL answers, none offers MPR."""
    series_id = archive.files["IM000000"].series
    page = client.get(f"/series/{series_id}/view")
    assert page.status_code == 200
    assert client.get(f"/series/{series_id}/view?plane=sagittal").status_code == 400  # no volume to reformat
    for url in (f"/series/{series_id}/image?slice=3", f"/series/{series_id}/mosaic?cols=2&rows=2"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype.startswith("image/"), url
    export = client.get(f"/series/{series_id}/export.zip?format=jpeg")
    assert export.status_code == 200 and export.get_data()[:2] == b"PK"

"""Albums (issue 15): CRUD and audit, adding studies from every place, the album page, the ZIP,
deleted studies, and album share links whose scope follows the album at each request."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import pydicom
import pytest
from PIL import Image
from sqlalchemy import select

from gallery import create_app
from gallery.extensions import db
from gallery.orthanc.client import OrthancClient
from gallery.store.models import Album, AuditEvent
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.data import Archive
from ..support.web import add_user, album_from_study_list, client_for, csrf_token, sign_in, sync_index

JSON = {"Accept": "application/json"}


@pytest.fixture
def uma(app):
    add_user(app, "uma", "uploader")
    return client_for(app, "uma")


def new_album(client, name: str = "Tumour board", description: str = "Thursday") -> int:
    response = client.post(
        "/albums/new", data={"name": name, "description": description, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(re.fullmatch(r"/albums/(\d+)", response.headers["Location"]).group(1))


def add(client, album_id: int, studies=(), patients=(), next_url: str | None = None):
    data = {"album": str(album_id), "study": list(studies), "patient": list(patients), "csrf_token": csrf_token(client)}
    if next_url:
        data["next"] = next_url
    return client.post("/albums/add", data=data)


def album_ids(client, album_id: int, query: str = "") -> list[str]:
    response = client.get(f"/albums/{album_id}{query}", headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return [s["id"] for s in response.get_json()["studies"]["items"]]


def actions(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("album%")).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.resource_id) for e in rows]


def test_create_rename_delete_by_creator_or_admin_everyone_sees_and_all_is_audited(app, uma, archive: Archive):
    album_id = new_album(uma)
    add_user(app, "vic", "viewer")
    add_user(app, "ulf", "uploader")
    vic, ulf, admin = client_for(app, "vic"), client_for(app, "ulf"), client_for(app)
    listing = vic.get("/albums")
    assert listing.status_code == 200 and "Tumour board" in listing.get_data(as_text=True)
    assert vic.get(f"/albums/{album_id}").status_code == 200  # every signed-in user sees albums
    assert vic.get("/albums/new").status_code == 403  # viewers create none
    assert "New album" not in listing.get_data(as_text=True)
    rename = {"name": "Renamed", "description": "", "csrf_token": csrf_token(ulf)}
    assert ulf.post(f"/albums/{album_id}/edit", data=rename).status_code == 403  # another uploader's album
    assert ulf.post(f"/albums/{album_id}/delete", data={"csrf_token": csrf_token(ulf)}).status_code == 403
    assert add(ulf, album_id, [archive.korean.study]).status_code == 403
    rename["csrf_token"] = csrf_token(uma)
    assert uma.post(f"/albums/{album_id}/edit", data=rename).status_code == 302
    assert "Renamed" in vic.get("/albums").get_data(as_text=True)
    assert uma.post(f"/albums/{album_id}/edit", data={"name": "", "csrf_token": csrf_token(uma)}).status_code == 400
    assert add(uma, album_id, [archive.korean.study]).status_code == 302
    removed = uma.post(
        f"/albums/{album_id}/remove", data={"study": archive.korean.study, "csrf_token": csrf_token(uma)}
    )
    assert removed.status_code == 302
    assert admin.post(f"/albums/{album_id}/delete", data={"csrf_token": csrf_token(admin)}).status_code == 302
    assert vic.get(f"/albums/{album_id}").status_code == 404
    with app.app_context():
        assert db.session.get(Album, album_id) is None
    assert actions(app) == [
        ("uma", "album_create", str(album_id)),
        ("uma", "album_rename", str(album_id)),
        ("uma", "album_add", archive.korean.study),
        ("uma", "album_remove", archive.korean.study),
        ("admin", "album_delete", str(album_id)),
    ]


def test_add_from_the_study_page(uma, archive: Archive):
    album_id = new_album(uma)
    page = uma.get(f"/studies/{archive.korean.study}").get_data(as_text=True)
    assert re.search(r'<form id="album-add"[^>]*action="/albums/add"', page)
    assert f'<input type="hidden" name="study" value="{archive.korean.study}">' in page
    assert '<label for="album-add-album">' in page and f'<option value="{album_id}">Tumour board</option>' in page
    done = add(uma, album_id, [archive.korean.study], next_url=f"/studies/{archive.korean.study}")
    assert done.status_code == 302 and done.headers["Location"] == f"/studies/{archive.korean.study}"
    assert album_ids(uma, album_id) == [archive.korean.study]
    again = uma.get(f"/studies/{archive.korean.study}").get_data(as_text=True)
    assert f'In albums: <a href="/albums/{album_id}">Tumour board</a>' in again


def test_add_several_from_the_study_and_patient_lists_with_checkboxes(uma, archive: Archive):
    album_id = new_album(uma)
    html = uma.get("/studies?q=ct").get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="study" value="([0-9a-f-]{44})" form="album-add">', html)
    assert archive.korean.study in boxes and archive.accented.study in boxes
    assert '<label class="card__select"><input type="checkbox" name="study"' in html  # each box has its label
    chosen = [archive.korean.study, archive.accented.study]
    assert add(uma, album_id, chosen, next_url="/studies?q=ct").headers["Location"] == "/studies?q=ct"
    assert sorted(album_ids(uma, album_id)) == sorted(chosen)
    # the patient list ticks patients: every study of each is added
    patients = uma.get("/patients?q=TWO-0001").get_data(as_text=True)
    assert (
        f'<input type="checkbox" name="patient" value="{archive.two_series[0].patient}" form="album-add">' in patients
    )
    assert add(uma, album_id, patients=[archive.two_series[0].patient]).status_code == 302
    assert sorted(album_ids(uma, album_id)) == sorted([*chosen, archive.two_series[0].study])
    assert add(uma, album_id, chosen).status_code == 302  # adding again changes nothing
    assert len(album_ids(uma, album_id)) == 3


def test_viewers_see_no_checkboxes_and_bad_selections_are_clear_4xx(app, uma, archive: Archive):
    add_user(app, "vic", "viewer")
    album_id = new_album(uma)
    assert 'type="checkbox"' not in client_for(app, "vic").get("/studies").get_data(as_text=True)
    token = csrf_token(uma)
    cases = [
        ({"album": "x", "study": archive.korean.study}, 400, "Choose an album"),
        ({"album": str(album_id), "study": "../../system"}, 400, "is not an Orthanc ID"),
        ({"album": str(album_id)}, 400, "Select at least one"),
        ({"album": str(album_id), "study": "0" * 8 + "-00000000" * 4}, 400, "not in the archive"),
        ({"album": "999999", "study": archive.korean.study}, 404, "no album 999999"),
    ]
    for form, status, message in cases:
        response = uma.post("/albums/add", data={**form, "csrf_token": token}, headers=JSON)
        assert response.status_code == status, form
        assert message in response.get_json()["error"]["message"], form
    assert album_ids(uma, album_id) == []
    assert uma.get(f"/albums/{album_id}?from=2024-01-01&to=2020-01-01").status_code == 400


def test_album_page_shows_exactly_its_studies_with_the_lists_filters_and_json(uma, archive: Archive):
    album_id = new_album(uma)
    members = [archive.korean.study, archive.accented.study, archive.volume[0].study]
    add(uma, album_id, members)
    assert sorted(album_ids(uma, album_id)) == sorted(members)
    assert album_ids(uma, album_id, "?modality=MR") == [archive.volume[0].study]
    assert album_ids(uma, album_id, "?q=abdomen") == [archive.accented.study]
    assert album_ids(uma, album_id, "?from=2023-01-01&to=2023-12-31") == [archive.korean.study]
    answer = uma.get(f"/albums/{album_id}", headers=JSON).get_json()
    assert answer["album"]["name"] == "Tumour board" and answer["album"]["study_count"] == 3
    assert answer["studies"]["total"] == 3
    html = uma.get(f"/albums/{album_id}").get_data(as_text=True)
    cards = re.findall(r'<a class="card__link" href="/studies/([0-9a-f-]{44})">', html)
    assert sorted(cards) == sorted(members)
    assert html.count('form="album-remove"') == 3  # its creator may tick cards to remove them


def test_album_zip_holds_the_original_dicom_one_folder_per_study(uma, archive: Archive):
    album_id = new_album(uma)
    add(uma, album_id, [archive.korean.study, archive.two_series[0].study])
    response = uma.get(f"/albums/{album_id}/dicom.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "Content-Length" not in response.headers  # streamed
    with zipfile.ZipFile(io.BytesIO(response.data)) as zipped:
        names = zipped.namelist()
        folders = {name.split("/")[0] for name in names}
        assert len(folders) == 2 and any("Chest_CT" in f for f in folders) and any("Two_series" in f for f in folders)
        assert len(names) == 1 + 6  # one image, then 2 series x 3
        uids = {pydicom.dcmread(io.BytesIO(zipped.read(n))).StudyInstanceUID for n in names}
    assert len(uids) == 2
    empty = new_album(uma, "Empty")
    assert uma.get(f"/albums/{empty}/dicom.zip").status_code == 404


@pytest.mark.parametrize(("fmt", "magic", "extension"), [("png", b"\x89PNG", ".png"), ("jpeg", b"\xff\xd8", ".jpg")])
def test_album_images_zip_has_every_image_one_folder_per_study(uma, archive: Archive, fmt, magic, extension):
    album_id = new_album(uma)
    add(uma, album_id, [archive.korean.study, archive.two_series[0].study])
    response = uma.get(f"/albums/{album_id}/export.zip?format={fmt}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as zipped:
        names = zipped.namelist()
        assert len({n.split("/")[0] for n in names}) == 2 and len(names) == 1 + 6
        assert all(n.endswith(extension) and zipped.read(n).startswith(magic) for n in names)
    bad = uma.get(f"/albums/{album_id}/export.zip?format=gif", headers=JSON)
    assert bad.status_code == 400 and "format" in bad.get_json()["error"]["message"]


def test_album_contact_sheet_has_a_tile_per_study_and_changes_with_the_album(uma, archive: Archive):
    album_id = new_album(uma)
    assert uma.get(f"/albums/{album_id}/contact-sheet.jpg").status_code == 404  # nothing to show yet
    add(uma, album_id, [archive.korean.study, archive.accented.study, archive.html.study])
    sheet = uma.get(f"/albums/{album_id}/contact-sheet.jpg?cols=2")
    assert sheet.status_code == 200 and sheet.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(sheet.data)) as picture:
        assert picture.size == (2 * 128 + 2, 2 * 128 + 2)  # 3 tiles, 2 columns
    again = uma.get(f"/albums/{album_id}/contact-sheet.jpg?cols=2", headers={"If-None-Match": sheet.headers["ETag"]})
    assert again.status_code == 304
    uma.post(f"/albums/{album_id}/remove", data={"study": archive.html.study, "csrf_token": csrf_token(uma)})
    changed = uma.get(f"/albums/{album_id}/contact-sheet.jpg?cols=2", headers={"If-None-Match": sheet.headers["ETag"]})
    assert changed.status_code == 200
    with Image.open(io.BytesIO(changed.data)) as picture:
        assert picture.size == (2 * 128 + 2, 128)  # 2 tiles
    assert uma.get(f"/albums/{album_id}/contact-sheet.jpg?cols=99").status_code == 400


def test_a_study_orthanc_no_longer_holds_leaves_its_albums(app_config, fresh_orthanc):
    orthanc = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    gone = StudyInfo(PatientInfo("Gone^Soon", "GONE-1"), "g1", "20240101", "", "To delete")
    kept = StudyInfo(PatientInfo("Kept^Here", "KEPT-1"), "k1", "20240202", "", "To keep")
    gone_id = orthanc.store_instance(next(small_study(gone, size=16)))["ParentStudy"]
    kept_id = orthanc.store_instance(next(small_study(kept, size=16)))["ParentStudy"]
    app = create_app(app_config(fresh_orthanc))
    sync_index(app)
    admin = client_for(app)
    album_id = new_album(admin)
    add(admin, album_id, [gone_id, kept_id])
    assert sorted(album_ids(admin, album_id)) == sorted([gone_id, kept_id])
    assert admin.post(f"/studies/{gone_id}/delete", data={"csrf_token": csrf_token(admin)}).status_code == 302
    assert album_ids(admin, album_id) == [kept_id]
    html = admin.get(f"/albums/{album_id}").get_data(as_text=True)
    assert f'href="/studies/{gone_id}"' not in html and f'value="{gone_id}"' not in html  # no broken card
    assert admin.get(f"/albums/{album_id}", headers=JSON).get_json()["album"]["study_count"] == 1
    assert admin.get("/albums", headers=JSON).get_json()["albums"][0]["study_count"] == 1


def test_add_from_an_upload_report(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc))
    sync_index(app)
    add_user(app, "uma", "uploader")
    uma = client_for(app, "uma")
    album_id = new_album(uma)
    files = [
        (
            io.BytesIO(
                next(
                    small_study(
                        StudyInfo(PatientInfo(f"Up^{n}", f"UP-{n}"), f"u{n}", "20240101", "", f"Up {n}"), size=16
                    )
                )
            ),
            f"{n}.dcm",
        )
        for n in range(2)
    ]
    report = uma.post("/upload", data={"files": files, "csrf_token": csrf_token(uma)}, headers={"Accept": "text/html"})
    assert report.status_code == 200
    html = report.get_data(as_text=True)
    form = re.search(r'<form id="album-add".*?</form>', html, re.S).group(0)
    studies = re.findall(r'<input type="hidden" name="study" value="([0-9a-f-]{44})">', form)
    assert len(studies) == 2 and "Add these studies to album" in unescape(form)
    done = add(uma, album_id, studies)
    assert done.headers["Location"] == f"/albums/{album_id}"
    assert sorted(album_ids(uma, album_id)) == sorted(studies)


def test_the_upload_pages_live_report_ticks_its_studies_for_an_album(app_config, fresh_orthanc):
    """With JavaScript the report is built from server-rendered cards: each comes ticked for the page's album form."""
    app = create_app(app_config(fresh_orthanc))
    sync_index(app)
    add_user(app, "uma", "uploader")
    uma = client_for(app, "uma")
    assert 'id="album-add"' not in uma.get("/upload").get_data(as_text=True)  # no album of theirs yet
    album_id = new_album(uma)
    page = uma.get("/upload").get_data(as_text=True)
    assert re.search(r'<div data-run-studies hidden>\s*<h2 data-run-studies-title></h2>\s*<form id="album-add"', page)
    info = StudyInfo(PatientInfo("Live^Report", "LIVE-1"), "l1", "20240101", "", "Live report")
    files = {"files": [(io.BytesIO(next(small_study(info, size=16))), "a.dcm")], "csrf_token": csrf_token(uma)}
    answer = uma.post("/upload?include=html", data=files, headers=JSON).get_json()
    [card] = answer["html"]["studies"]
    assert f'<input type="checkbox" name="study" value="{card["id"]}" form="album-add" checked>' in card["html"]
    assert add(uma, album_id, [card["id"]]).status_code == 302
    assert album_ids(uma, album_id) == [card["id"]]


# -- album share links -------------------------------------------------------------------------------


def share_album(client, album_id: int, **form) -> str:
    data = {"expires_in": 86400, "csrf_token": csrf_token(client), **form}
    response = client.post(f"/albums/{album_id}/share", data=data)
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    link = re.search(r'id="share-link" type="text" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    return "/s/" + link.rsplit("/s/", 1)[1]


def test_album_link_scope_follows_the_album_at_each_request(app, uma, archive: Archive):
    album_id = new_album(uma)
    add(uma, album_id, [archive.korean.study, archive.accented.study])
    path = share_album(uma, album_id, allow_download="y")
    visitor = app.test_client()
    landing = visitor.get(path).get_data(as_text=True)
    assert "An album of studies was shared with you" in landing
    assert "Tumour board" not in landing and "Chest CT" not in landing  # nothing about the album or patients
    opened = visitor.post(path, data={"csrf_token": csrf_token(visitor)})
    assert opened.status_code == 302 and opened.headers["Location"] == f"/albums/{album_id}"
    assert sorted(album_ids(visitor, album_id)) == sorted([archive.korean.study, archive.accented.study])
    page = visitor.get(f"/albums/{album_id}").get_data(as_text=True)
    assert 'type="checkbox"' not in page and "/albums/add" not in page
    korean = archive.korean
    for url in (
        f"/studies/{korean.study}",
        f"/series/{korean.series}",
        f"/instances/{korean.instance}",
        f"/instances/{korean.instance}/thumbnail",
        f"/instances/{korean.instance}/file",
        f"/albums/{album_id}/dicom.zip",
        f"/albums/{album_id}/export.zip?format=jpeg",
        f"/albums/{album_id}/contact-sheet.jpg",
    ):
        assert visitor.get(url).status_code == 200, url
    # outside the album: other studies, their series and images, lists, other albums, album changes
    other_album = new_album(uma, "Other")
    for url in (
        f"/studies/{archive.volume[0].study}",
        f"/series/{archive.volume_series}",
        f"/instances/{archive.volume[0].instance}/thumbnail",
        f"/patients/{korean.patient}",
        "/studies",
        "/albums",
        f"/albums/{other_album}",
        f"/albums/{other_album}/contact-sheet.jpg",
        f"/albums/{album_id}/edit",
        f"/albums/{album_id}/share",
    ):
        assert visitor.get(url).status_code == 403, url
    assert visitor.post("/albums/add", data={"album": album_id, "study": archive.volume[0].study}).status_code == 403
    # a study added later is visible through the link; a study removed is refused at once
    add(uma, album_id, [archive.volume[0].study])
    assert visitor.get(f"/instances/{archive.volume[0].instance}/thumbnail").status_code == 200
    uma.post(f"/albums/{album_id}/remove", data={"study": korean.study, "csrf_token": csrf_token(uma)})
    for url in (f"/studies/{korean.study}", f"/series/{korean.series}", f"/instances/{korean.instance}/thumbnail"):
        assert visitor.get(url).status_code == 403, url
    assert korean.study not in album_ids(visitor, album_id)


def test_album_link_downloads_need_permission_and_revocation_refuses(app, uma, archive: Archive):
    album_id = new_album(uma)
    add(uma, album_id, [archive.korean.study])
    path = share_album(uma, album_id)  # view only
    visitor = app.test_client()
    visitor.post(path, data={"csrf_token": csrf_token(visitor)})
    assert visitor.get(f"/albums/{album_id}").status_code == 200
    assert visitor.get(f"/albums/{album_id}/dicom.zip").status_code == 403
    assert visitor.get(f"/albums/{album_id}/export.zip").status_code == 403
    assert visitor.get(f"/instances/{archive.korean.instance}/file").status_code == 403
    shares = uma.get("/shares").get_data(as_text=True)
    assert f'href="/albums/{album_id}">Tumour board</a> <span class="muted">(album)</span>' in shares
    share_id = re.search(r'action="/shares/(\d+)/revoke"', shares).group(1)
    assert uma.post(f"/shares/{share_id}/revoke", data={"csrf_token": csrf_token(uma)}).status_code == 302
    refused = visitor.get(f"/albums/{album_id}", headers=JSON)
    assert refused.status_code == 410 and "revoked" in refused.get_json()["error"]["message"]
    assert visitor.get(f"/studies/{archive.korean.study}").status_code != 200  # the grant is gone: sign in
    assert visitor.get(path).status_code == 410


def test_only_the_creator_or_an_admin_shares_an_album(app, uma):
    album_id = new_album(uma)
    add_user(app, "ulf", "uploader")
    ulf = client_for(app, "ulf")
    assert (
        ulf.post(f"/albums/{album_id}/share", data={"expires_in": 86400, "csrf_token": csrf_token(ulf)}).status_code
        == 403
    )
    assert client_for(app).get(f"/albums/{album_id}/share").status_code == 200
    assert uma.get("/albums/424242/share").status_code == 404


def test_deleting_an_album_revokes_its_links_so_a_new_album_with_its_id_is_not_reached(app, uma, archive: Archive):
    album_id = new_album(uma)
    add(uma, album_id, [archive.korean.study])
    path = share_album(uma, album_id)
    visitor = app.test_client()
    visitor.post(path, data={"csrf_token": csrf_token(visitor)})
    assert uma.post(f"/albums/{album_id}/delete", data={"csrf_token": csrf_token(uma)}).status_code == 302
    reused = new_album(uma, "Private")  # SQLite gives a deleted row's ID to the next one
    add(uma, reused, [archive.korean.study])
    assert reused == album_id
    assert visitor.get(f"/albums/{reused}").status_code == 410
    assert visitor.get(path).status_code == 410


ALL_THUMBS_LOADED = (
    "() => { const i = [...document.querySelectorAll('img.thumb')];"
    " return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0); }"
)


@pytest.mark.browser
def test_album_made_shared_and_narrowed_in_chromium(app, live_server, browser, archive: Archive):
    """Create an album, tick three studies of different patients on the study list (no script needed),
    share it for a day; a visitor who is not signed in sees exactly those three with their images;
    removing one refuses it at once; revoking refuses the link."""
    base = live_server.url
    chosen = [archive.korean.study, archive.accented.study, archive.html.study]
    owner_context, visitor_context = browser.new_context(), browser.new_context()
    try:
        owner = owner_context.new_page()
        sign_in(owner, base)
        album_url = album_from_study_list(owner, base, "Board in Chromium", chosen, "?from=2021-01-01&to=2023-12-31")
        owner.goto(album_url)
        owner_cards = owner.eval_on_selector_all(".card__link", "els => els.map(e => e.getAttribute('href'))")
        assert sorted(owner_cards) == sorted(f"/studies/{s}" for s in chosen)

        owner.click("text=Share…")
        owner.select_option("select[name=expires_in]", label="1 day")
        owner.click("button:has-text('Create link')")
        link = owner.input_value("#share-link")

        visitor = visitor_context.new_page()
        visitor.goto(link)
        assert "Shared album" in visitor.title() and "Board in Chromium" not in visitor.content()
        visitor.click("button:has-text('Open the shared album')")
        visitor.wait_for_url(album_url)
        cards = visitor.eval_on_selector_all(".card__link", "els => els.map(e => e.getAttribute('href'))")
        assert sorted(cards) == sorted(f"/studies/{s}" for s in chosen)
        visitor.wait_for_function(ALL_THUMBS_LOADED, timeout=15000)
        visitor.click(f'a[href="/studies/{archive.korean.study}"]')
        visitor.wait_for_url(f"**/studies/{archive.korean.study}")

        owner.goto(album_url)
        owner.check(f'input[name=study][value="{archive.korean.study}"]')
        with owner.expect_navigation():
            owner.click("button:has-text('Remove selected studies from this album')")
        assert visitor.goto(f"{base}/studies/{archive.korean.study}").status == 403
        # asked of the server (the page's own image cache may still hold the thumbnail it showed)
        assert visitor_context.request.get(f"{base}/instances/{archive.korean.instance}/thumbnail").status == 403
        assert visitor.goto(album_url).status == 200
        assert archive.korean.study not in visitor.content()

        owner.goto(f"{base}/shares")
        with owner.expect_navigation():
            owner.click("button:has-text('Revoke')")
        refused = visitor.goto(album_url)
        assert refused.status == 410 and "revoked" in visitor.content()
    finally:
        owner_context.close()
        visitor_context.close()

"""Share links: scope, expiry, revocation across processes, passwords, tampering, unfurling."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from gallery import create_app
from gallery.extensions import db
from gallery.store.models import ShareLink

from ..support.data import HTML_NAME, VOLUME_PATIENT, Archive
from ..support.shares import create_link, open_link, path_of
from ..support.web import add_user, client_for, csrf_token

pytestmark = pytest.mark.usefixtures("archive")


@pytest.fixture
def uploader(app):
    add_user(app, "uma", "uploader")
    return client_for(app, "uma")


def test_only_the_token_hash_is_stored(app, uploader, archive: Archive):
    link = create_link(uploader, archive.volume[0].study)
    token = path_of(link)[3:]
    assert len(token) >= 32  # 192 random bits, URL-safe
    with app.app_context():
        [share] = db.session.scalars(select(ShareLink)).all()
        assert token not in (share.token_hash, share.label) and len(share.token_hash) == 64


def test_landing_page_leaks_nothing_and_is_not_a_use(app, uploader, archive: Archive):
    link = create_link(uploader, archive.html.study)
    visitor = app.test_client()
    for _ in range(3):  # as chat unfurlers do
        landing = visitor.get(path_of(link))
        assert landing.status_code == 200
    html = landing.get_data(as_text=True)
    assert '<meta property="og:title" content="Shared study — Orthanc Gallery">' in html
    assert 'name="robots" content="noindex, nofollow"' in html
    for phi in ("XSS-0001", "Bold", "alert", "20000101", "2000-01-01", "Italic", archive.html.study):
        assert phi not in html, phi
    assert landing.headers["Referrer-Policy"] == "same-origin"
    with app.app_context():
        assert db.session.scalars(select(ShareLink)).one().use_count == 0
    assert HTML_NAME.patient_id not in html


def test_a_link_opens_exactly_its_study(app, uploader, archive: Archive):
    link = create_link(uploader, archive.volume[0].study)
    visitor = app.test_client()
    opened = open_link(visitor, link)
    assert opened.status_code == 302 and opened.headers["Location"] == f"/studies/{archive.volume[0].study}"
    page = visitor.get(f"/studies/{archive.volume[0].study}")
    assert page.status_code == 200 and "Volume study" in page.get_data(as_text=True)
    assert "Shared study" in page.get_data(as_text=True)
    inside = [
        f"/series/{archive.volume_series}",
        f"/instances/{archive.volume[3].instance}",
        f"/instances/{archive.volume[3].instance}/thumbnail",
        f"/instances/{archive.volume[3].instance}/preview",
        f"/series/{archive.volume_series}/thumbnail",
    ]
    for url in inside:
        assert visitor.get(url).status_code == 200, url
    outside = [
        f"/studies/{archive.korean.study}",  # another patient's study
        f"/series/{archive.korean.series}",
        f"/instances/{archive.korean.instance}/thumbnail",
        f"/patients/{archive.volume[0].patient}",  # the parent patient
        "/patients",
        "/studies",
        "/",
        "/shares",
        "/admin/users",
        f"/studies/{archive.volume[0].study}/delete",
        f"/studies/{archive.volume[0].study}/share",
        f"/instances/{archive.volume[3].instance}/file",  # downloads were not allowed
    ]
    for url in outside:
        assert visitor.get(url).status_code == 403, url
    assert visitor.get("/instances/00000000-00000000-00000000-00000000-00000000").status_code == 404
    with app.app_context():
        share = db.session.scalars(select(ShareLink)).one()
        assert share.use_count == 1 and share.last_used_at is not None


def test_share_pages_show_no_links_out_of_scope(app, uploader, archive: Archive):
    visitor = app.test_client()
    open_link(visitor, create_link(uploader, archive.volume[0].study))
    html = visitor.get(f"/series/{archive.volume_series}").get_data(as_text=True)
    assert f'href="/studies/{archive.volume[0].study}"' in html
    assert f'href="/patients/{archive.volume[0].patient}"' not in html
    assert 'href="/patients"' not in html and 'action="/patients"' not in html and 'href="/"' not in html


def test_downloads_only_when_allowed(app, uploader, archive: Archive):
    visitor = app.test_client()
    open_link(visitor, create_link(uploader, archive.volume[0].study, allow_download="y"))
    response = visitor.get(f"/instances/{archive.volume[3].instance}/file")
    assert response.status_code == 200 and response.mimetype == "application/dicom"


def test_a_series_link_opens_only_that_series(app, uploader, archive: Archive):
    visitor = app.test_client()
    opened = open_link(visitor, create_link(uploader, archive.volume_series, level="series"))
    assert opened.headers["Location"] == f"/series/{archive.volume_series}"
    assert visitor.get(f"/series/{archive.volume_series}").status_code == 200
    assert visitor.get(f"/instances/{archive.volume[0].instance}").status_code == 200
    assert visitor.get(f"/studies/{archive.volume[0].study}").status_code == 403


def test_expired_links_are_refused(app, uploader, archive: Archive):
    now = [datetime(2030, 1, 1, 12, 0)]
    app.extensions["clock"] = lambda: now[0]
    link = create_link(uploader, archive.volume[0].study, expires_in=3600)
    visitor = app.test_client()
    open_link(visitor, link)
    assert visitor.get(f"/studies/{archive.volume[0].study}").status_code == 200
    now[0] += timedelta(minutes=61)
    refused = visitor.get(f"/studies/{archive.volume[0].study}")
    assert refused.status_code == 410 and "expired on Jan 1, 2030 1:00\u202fPM UTC" in refused.get_data(as_text=True)
    landing = app.test_client().get(path_of(link))
    assert landing.status_code == 410 and "Volume" not in landing.get_data(as_text=True)


def test_revocation_reaches_every_process_sharing_the_database(app_config, orthanc_server, archive: Archive):
    config = app_config(orthanc_server)
    first, second = create_app(config), create_app(config)  # two gallery processes, one SQLite file
    add_user(first, "uma", "uploader")
    owner = client_for(first, "uma")
    link = create_link(owner, archive.volume[0].study)
    visitor = second.test_client()
    open_link(visitor, link)
    assert visitor.get(f"/studies/{archive.volume[0].study}").status_code == 200
    listing = owner.get("/shares").get_data(as_text=True)
    share_id = re.search(r'action="/shares/(\d+)/revoke"', listing).group(1)
    assert owner.post(f"/shares/{share_id}/revoke", data={"csrf_token": csrf_token(owner)}).status_code == 302
    refused = visitor.get(f"/studies/{archive.volume[0].study}")
    assert refused.status_code == 410 and "revoked" in refused.get_data(as_text=True)
    assert second.test_client().get(path_of(link)).status_code == 410


def test_only_admins_and_creators_see_and_revoke_links(app, uploader, archive: Archive):
    create_link(uploader, archive.volume[0].study)
    add_user(app, "other", "uploader")
    other = client_for(app, "other")
    assert "Volume" not in other.get("/shares").get_data(as_text=True)
    share_id = re.search(r'action="/shares/(\d+)/revoke"', uploader.get("/shares").get_data(as_text=True)).group(1)
    refused = other.post(f"/shares/{share_id}/revoke", data={"csrf_token": csrf_token(other)})
    assert refused.status_code == 403
    admin = client_for(app)
    listing = admin.get("/shares").get_data(as_text=True)
    assert "Test Volume · Volume study" in listing and "never" in listing  # last use
    assert admin.post(f"/shares/{share_id}/revoke", data={"csrf_token": csrf_token(admin)}).status_code == 302


def test_password_protected_links(app, uploader, archive: Archive):
    link = create_link(uploader, archive.volume[0].study, password="open-sesame")
    visitor = app.test_client()
    landing = visitor.get(path_of(link)).get_data(as_text=True)
    assert 'type="password"' in landing and VOLUME_PATIENT.patient_id not in landing and "Volume" not in landing
    wrong = open_link(visitor, link, password="guess")
    assert wrong.status_code == 403 and "not right" in wrong.get_data(as_text=True)
    assert visitor.get(f"/studies/{archive.volume[0].study}").status_code == 302  # still nothing
    assert open_link(visitor, link, password="open-sesame").status_code == 302
    assert visitor.get(f"/studies/{archive.volume[0].study}").status_code == 200


def test_share_passwords_are_throttled(app, uploader, archive: Archive):
    link = create_link(uploader, archive.volume[0].study, password="open-sesame")
    visitor = app.test_client()
    for _ in range(5):
        assert open_link(visitor, link, password="guess").status_code == 403
    assert open_link(visitor, link, password="open-sesame").status_code == 429


@pytest.mark.parametrize("kind", ["changed", "shortened", "made up"])
def test_tampered_tokens_are_refused(app, uploader, archive: Archive, kind):
    link = path_of(create_link(uploader, archive.volume[0].study))
    last = "A" if link[-1] != "A" else "B"
    tampered = {"changed": link[:-1] + last, "shortened": link[:-1], "made up": "/s/" + "A" * 32}[kind]
    visitor = app.test_client()
    response = visitor.get(tampered)
    assert response.status_code in (403, 404)
    if response.status_code == 403:
        assert "not valid" in response.get_data(as_text=True)
    assert visitor.post(tampered, data={"csrf_token": csrf_token(visitor)}).status_code in (403, 404)
    assert visitor.get(f"/studies/{archive.volume[0].study}").status_code == 302


def test_every_post_needs_a_csrf_token(app, archive: Archive):
    admin = client_for(app)
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(posts) >= 8
    values = {
        "study_id": archive.volume[0].study,
        "series_id": archive.volume_series,
        "patient_id": archive.volume[0].patient,
        "instance_id": archive.volume[0].instance,
        "user_id": 1,
        "share_id": 1,
        "token": "x" * 32,
        "album_id": 1,
    }
    for rule in posts:
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        response = admin.post(url, data={})
        assert response.status_code == 400 and b"CSRF" in response.data, rule.rule


KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
#: The volume study, named as every other page names it (person_name and dicom_date), per language.
VOLUME_LABELS = {
    "en": ("Test Volume · Volume study · Mar 1, 2024", {}),
    "ko": ("Volume Test · Volume study · 2024. 3. 1.", KO),
}


def crumbs(html: str) -> list[str]:
    """The breadcrumb trail's texts, the current page last."""
    nav = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S)
    assert nav, "no breadcrumbs"
    return [unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in re.findall(r"<li.*?</li>", nav.group(0), re.S)]


@pytest.mark.parametrize("language", sorted(VOLUME_LABELS))
def test_share_pages_name_the_study_in_the_visitors_language(app, uploader, archive: Archive, language):
    """Not the stored neutral form ("Volume, Test", "2024-03-01"): the name and date the study page shows."""
    label, headers = VOLUME_LABELS[language]
    name, _, date = label.split(" · ")
    study = archive.volume[0].study
    study_page = uploader.get(f"/studies/{study}", headers=headers).get_data(as_text=True)
    assert name in study_page and date in study_page  # how the other pages put them
    new = uploader.get(f"/studies/{study}/share", headers=headers).get_data(as_text=True)
    data = {"expires_in": 86400, "csrf_token": csrf_token(uploader)}
    created = uploader.post(f"/studies/{study}/share", data=data, headers=headers)
    assert created.status_code == 201
    listing = uploader.get("/shares", headers=headers).get_data(as_text=True)
    for page, html in (("new", new), ("created", created.get_data(as_text=True)), ("list", listing)):
        assert label in html, page
        assert "Volume, Test" not in html and "2024-03-01" not in html, page


def test_a_label_is_read_in_the_language_of_whoever_lists_it(app, archive: Archive):
    """Created by an English page, listed by a Korean one: the stored label carries no language."""
    admin = client_for(app)
    create_link(admin, archive.volume[0].study)
    assert VOLUME_LABELS["ko"][0] in admin.get("/shares", headers=KO).get_data(as_text=True)
    assert VOLUME_LABELS["en"][0] in admin.get("/shares").get_data(as_text=True)


def test_labels_stored_before_as_text_are_listed_as_they_are(app, archive: Archive):
    from gallery.access.shares import create_share
    from gallery.access.users import find_user

    with app.app_context():
        create_share(
            "study", archive.volume[0].study, "Old, Label · 2020-01-01", find_user("admin"), timedelta(1), False
        )
    assert "Old, Label · 2020-01-01" in client_for(app).get("/shares").get_data(as_text=True)


def test_share_labels_are_escaped(app, archive: Archive):
    admin = client_for(app)
    create_link(admin, archive.html.study)
    listing = admin.get("/shares").get_data(as_text=True)
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing and "<i>Italic" not in listing


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, {"home": "Home", "patients": "Patients", "study": "Share this study", "series": "Share this series",
              "created": "Share link created", "list": "Share links"}),
        (KO, {"home": "홈", "patients": "환자", "study": "검사 공유", "series": "시리즈 공유",
              "created": "공유 링크를 만들었습니다", "list": "공유 링크"}),
    ],
)  # fmt: skip
def test_share_pages_have_breadcrumbs_like_every_other_page(app, uploader, archive: Archive, headers, words):
    study, series = archive.volume[0].study, archive.volume_series
    series_page = crumbs(uploader.get(f"/series/{series}", headers=headers).get_data(as_text=True))
    data = {"expires_in": 86400, "csrf_token": csrf_token(uploader)}
    trails = {
        "study": crumbs(uploader.get(f"/studies/{study}/share", headers=headers).get_data(as_text=True)),
        "series": crumbs(uploader.get(f"/series/{series}/share", headers=headers).get_data(as_text=True)),
        "created": crumbs(uploader.post(f"/series/{series}/share", data=data, headers=headers).get_data(as_text=True)),
        "list": crumbs(uploader.get("/shares", headers=headers).get_data(as_text=True)),
    }
    # The shared resource's own trail (as its page shows it), then the share page.
    assert trails["study"] == series_page[:4] + [words["study"]]
    assert trails["series"] == series_page + [words["series"]]
    assert trails["created"] == series_page + [words["created"]]
    assert trails["list"] == [words["home"], words["list"]]
    assert series_page[:2] == [words["home"], words["patients"]]

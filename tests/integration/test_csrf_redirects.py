"""Every state-changing route needs a valid CSRF token; no redirect target leaves the gallery.

The routes come from the app's own URL map, so a new POST route is covered (or fails
here) without anyone remembering to add it.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest

from gallery import create_app
from gallery.access.albums import create_album
from gallery.access.shares import create_share
from gallery.access.users import create_user, find_user
from gallery.extensions import db
from gallery.store.models import Album, AlbumStudy, AuditEvent, ShareLink, User
from scripts.embedded import remove_storage, start_orthanc
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.web import ADMIN_PASSWORD, ADMIN_USER, client_for, csrf_token

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = "The form could not be accepted"


@pytest.fixture(scope="module")
def csrf_app(app_config, tmp_path_factory):
    """An app over an Orthanc of its own (the delete routes get real IDs), with a user and a share link."""
    server = start_orthanc(tmp_path_factory.mktemp("csrf-orthanc"))
    app = create_app(
        app_config(server, LOGIN_LIMIT_PER_ACCOUNT="1000 per minute", LOGIN_LIMIT_PER_ADDRESS="1000 per minute")
    )
    study = StudyInfo(PatientInfo("Csrf^Target", "CSRF-1"), "csrf", "20250101", "", "CSRF study")
    stored = app.extensions["orthanc"].store_instance(next(small_study(study, size=8)))
    with app.app_context():
        create_user("viewer", "viewer-password-1", "viewer")
        share, token = create_share("study", stored["ParentStudy"], "x", find_user("admin"), timedelta(days=1), False)
        album = create_album("csrf", "", find_user("admin"))
        db.session.add(AlbumStudy(album_id=album.id, study_id=stored["ParentStudy"], added_by=album.created_by))
        db.session.commit()
        values = {
            "patient_id": stored["ParentPatient"],
            "study_id": stored["ParentStudy"],
            "series_id": stored["ParentSeries"],
            "instance_id": stored["ID"],
            "user_id": find_user("viewer").id,
            "share_id": share.id,
            "token": token,
            "album_id": album.id,
        }
    app.config["CSRF_VALUES"] = values
    yield app
    remove_storage(server)


def unsafe_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, url, method) of every rule accepting an unsafe method, with real values in it."""
    values = app.config["CSRF_VALUES"]
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & UNSAFE):
            assert set(rule.arguments) <= set(values), f"{rule.rule}: add a value for its arguments"
            url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
            found.append((rule.endpoint, url, method))
    return found


def state(app) -> tuple:
    """Everything a forged request could change: users, share links, the audit log, albums, Orthanc's content."""
    with app.app_context():
        users = [(u.username, u.role, u.session_version, u.password_hash) for u in db.session.scalars(db.select(User))]
        shares = [(s.id, s.revoked_at, s.use_count) for s in db.session.scalars(db.select(ShareLink))]
        audit = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
        albums = [(a.id, a.name, a.description) for a in db.session.scalars(db.select(Album))]
        members = [(m.album_id, m.study_id) for m in db.session.scalars(db.select(AlbumStudy))]
    orthanc = app.extensions["orthanc"]
    return sorted(users), shares, audit, albums, members, orthanc.get_json("/instances")


FORM = {
    "username": "mallory",
    "password": "a-long-password-1",
    "role": "admin",
    "expires_in": "86400",
    "next": "/",
}


def forged_posts(app):
    """(description, client, extra form fields, headers) for each kind of forged or unsigned request."""
    other = client_for(app)  # the same account, another session: its token is not this session's
    yield "no token", {}, {}
    yield "an empty token", {"csrf_token": ""}, {}
    yield "a wrong token", {"csrf_token": "IjAwMDAi.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"}, {}
    yield "another session's token", {"csrf_token": csrf_token(other)}, {}
    yield "no token, asking for JSON", {}, {"Accept": "application/json"}


def test_every_unsafe_route_refuses_a_missing_wrong_or_foreign_token_and_changes_nothing(csrf_app):
    routes = unsafe_routes(csrf_app)
    assert len(routes) >= 12
    assert all(method == "POST" for _, _, method in routes)  # a PUT/DELETE route would be walked here too
    before = state(csrf_app)
    checked = 0
    for _endpoint, url, method in routes:
        for role in ("admin", "viewer", "anonymous"):
            for how, fields, headers in forged_posts(csrf_app):
                client = csrf_app.test_client() if role == "anonymous" else client_for(csrf_app, role)
                response = client.open(url, method=method, data={**FORM, **fields}, headers=headers)
                where = f"{role} {method} {url} with {how} -> {response.status_code}"
                if response.status_code == 400:
                    message = (
                        response.get_json()["error"]["message"] if response.is_json else response.get_data(as_text=True)
                    )
                    assert CSRF_MESSAGE in message and "CSRF" in message, where
                else:  # refused before the token is looked at: no access
                    assert response.status_code in (302, 401, 403), where
                    assert role != "admin", where
                checked += 1
    assert checked == len(routes) * 3 * 5
    assert state(csrf_app) == before


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [basic(ADMIN_USER, "wrong-password"), basic("nobody", "x"), "Basic !!!not-base64", "Bearer abc", "garbage"],
)
def test_an_authorization_header_that_does_not_sign_in_exempts_nothing(csrf_app, authorization):
    before = state(csrf_app)
    values = csrf_app.config["CSRF_VALUES"]
    headers = {"Authorization": authorization, "Accept": "application/json"}
    for url in ("/logout", "/login", f"/s/{values['token']}", f"/studies/{values['study_id']}/delete", "/upload"):
        for client in (csrf_app.test_client(), client_for(csrf_app)):  # anonymous, and a signed-in browser
            response = client.post(url, data=FORM, headers=headers)
            assert response.status_code in (400, 401), f"{url} -> {response.status_code}"
            assert response.is_json and response.get_json()["error"]["message"]
    assert state(csrf_app) == before


def test_valid_basic_credentials_are_exempt_as_scripts_need(csrf_app):
    """The exemption itself: a script with the admin's credentials changes a role without a token."""
    viewer = csrf_app.config["CSRF_VALUES"]["user_id"]
    headers = {"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)}
    response = csrf_app.test_client().post(f"/admin/users/{viewer}/role", data={"role": "uploader"}, headers=headers)
    assert response.status_code == 302
    with csrf_app.app_context():
        assert find_user("viewer").role == "uploader"


# -- open redirects ---------------------------------------------------------------------------------

HOSTILE_TARGETS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\t//evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http:evil.example",
    "https:/evil.example",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "%5C%5Cevil.example",
    "/%09/evil.example",
    "//evil.example@gallery",
    "/\x00//evil.example",
    "/\x7f/evil.example",
    "\u3000//evil.example",
    "evil.example",
]


def stays_on_the_gallery(location: str) -> bool:
    """A path on this host, as a browser reads it: tabs and newlines dropped, backslashes as slashes."""
    as_browser = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    parts = urlsplit(as_browser)
    return (
        as_browser.startswith("/")
        and not as_browser.startswith("//")
        and not parts.scheme
        and not parts.netloc
        and not any(ord(c) < 32 for c in location)
    )


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_no_redirect_target_leaves_the_gallery(csrf_app, target):
    admin = client_for(csrf_app)
    signed_in_get = admin.get(f"/login?next={quote(target, safe='')}")
    anonymous = csrf_app.test_client()
    token = csrf_token(anonymous)
    signing_in = anonymous.post(
        "/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "next": target, "csrf_token": token}
    )
    share_id = csrf_app.config["CSRF_VALUES"]["share_id"]
    revoking = admin.post(f"/shares/{share_id}/revoke", data={"next": target, "csrf_token": csrf_token(admin)})
    switching = anonymous.get(f"/language/ko?next={quote(target, safe='')}")
    for name, response in (
        ("signed-in GET /login", signed_in_get),
        ("sign-in", signing_in),
        ("revoke", revoking),
        ("language switch", switching),
    ):
        assert response.status_code in (302, 303), f"{name}: {response.status_code}"
        location = response.headers["Location"]
        assert stays_on_the_gallery(location), f"{name} with next={target!r} -> {location!r}"


def test_local_targets_are_kept(csrf_app):
    """The refusal is not blanket: a plain local path (with its query) is where sign-in leads."""
    study = csrf_app.config["CSRF_VALUES"]["study_id"]
    target = f"/studies/{study}?page=2"
    anonymous = csrf_app.test_client()
    response = anonymous.post(
        "/login",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "next": target, "csrf_token": csrf_token(anonymous)},
    )
    assert response.headers["Location"] == target

"""Sign-in, sessions, roles, throttling, user management, audit log, deletion, headers."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import text

from gallery import create_app
from gallery.access.users import find_user
from gallery.extensions import db
from gallery.orthanc.client import OrthancClient
from gallery.orthanc.errors import OrthancNotFound
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.data import Archive
from ..support.web import ADMIN_PASSWORD, ADMIN_USER, add_user, client_for, csrf_token, sync_index


def sign_in(client, username: str, password: str, next_url: str = ""):
    token = csrf_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "next": next_url, "csrf_token": token}
    )


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "Accept": "application/json"}


def test_anonymous_pages_redirect_to_sign_in_and_back(app, archive: Archive):
    client = app.test_client()
    target = f"/studies/{archive.volume[0].study}"
    response = client.get(target)
    assert response.status_code == 302 and response.headers["Location"] == f"/login?next={target}"
    signed_in = sign_in(client, ADMIN_USER, ADMIN_PASSWORD, next_url=target)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == target
    assert client.get(target).status_code == 200


def test_sign_in_never_redirects_off_site(app):
    client = app.test_client()
    response = sign_in(client, ADMIN_USER, ADMIN_PASSWORD, next_url="//evil.example/x")
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_without_saying_which_part(app):
    client = app.test_client()
    for username in (ADMIN_USER, "nobody"):
        response = sign_in(client, username, "wrong-password")
        assert response.status_code == 401
        assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/patients").status_code == 302


def test_session_cookie_flags(app):
    client = app.test_client()
    cookie = sign_in(client, ADMIN_USER, ADMIN_PASSWORD).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client()
    token_page = secure.get("/login", base_url="https://gallery.example")
    token = re.search(r'name="csrf-token" content="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    response = secure.post(
        "/login",
        base_url="https://gallery.example",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token},
        headers={"Referer": "https://gallery.example/login"},
    )
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]


def test_sign_out_needs_a_post_with_csrf(app):
    client = client_for(app)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert client.get("/patients").status_code == 302


def test_failed_sign_ins_are_throttled_per_account(app):
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, ADMIN_USER, "wrong-password").status_code == 401
    blocked = sign_in(client, ADMIN_USER, ADMIN_PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.get_data(as_text=True)
    add_user(app, "other", "viewer")
    assert sign_in(client, "other", "user-password-1").status_code == 302  # other accounts are not blocked


def test_failed_sign_ins_are_throttled_per_address(app):
    client = app.test_client()
    for n in range(20):
        assert sign_in(client, f"user{n}", "wrong-password").status_code == 401
    assert sign_in(client, "someone-else", "wrong-password").status_code == 429
    elsewhere = app.test_client()
    response = sign_in(elsewhere, ADMIN_USER, ADMIN_PASSWORD)
    assert response.status_code == 429  # same test address
    other_address = app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in(other_address, ADMIN_USER, ADMIN_PASSWORD).status_code == 302


def test_scripts_use_basic_auth_and_are_throttled_too(app):
    client = app.test_client()
    response = client.get("/patients", headers=basic(ADMIN_USER, ADMIN_PASSWORD))
    assert response.status_code == 200 and response.get_json()["patients"]["total"] > 0
    assert "Set-Cookie" not in response.headers or "gallery_session" not in response.headers["Set-Cookie"]
    assert client.get("/patients", headers=basic(ADMIN_USER, "wrong-password")).status_code == 401
    bearer = client.get("/patients", headers={"Authorization": "Bearer abc", "Accept": "application/json"})
    assert bearer.status_code == 401 and "Basic" in bearer.get_json()["error"]["message"]
    for _ in range(5):
        client.get("/patients", headers=basic("viewer-x", "wrong-password"))
    assert client.get("/patients", headers=basic("viewer-x", "wrong-password")).status_code == 429


def test_basic_auth_posts_need_no_csrf_token(app, archive: Archive):
    client = app.test_client()
    response = client.post(
        f"/studies/{archive.volume[0].study}/share",
        data={"expires_in": 3600},
        headers=basic(ADMIN_USER, ADMIN_PASSWORD),
    )
    assert response.status_code == 201


def test_password_reset_and_role_change_end_sessions(app):
    add_user(app, "carol", "uploader")
    carol = client_for(app, "carol")
    assert carol.get("/patients").status_code == 200
    admin = client_for(app)
    user_id = _user_id(app, "carol")
    response = admin.post(
        f"/admin/users/{user_id}/password", data={"password": "a-new-password", "csrf_token": csrf_token(admin)}
    )
    assert response.status_code == 302
    assert carol.get("/patients").status_code == 302  # signed out
    assert sign_in(app.test_client(), "carol", "a-new-password").status_code == 302


def _user_id(app, username: str) -> int:
    with app.app_context():
        return find_user(username).id


def test_roles_are_checked_on_the_server(app, archive: Archive):
    add_user(app, "vic", "viewer")
    viewer = client_for(app, "vic")
    study = archive.volume[0].study
    assert viewer.get(f"/studies/{study}").status_code == 200
    assert viewer.get(f"/instances/{archive.volume[0].instance}/file").status_code == 200
    page = viewer.get(f"/studies/{study}").get_data(as_text=True)
    assert f"/studies/{study}/share" not in page and "/admin/users" not in page  # hidden ...
    assert viewer.get(f"/studies/{study}/share").status_code == 403  # ... and refused
    assert viewer.get("/admin/users").status_code == 403
    assert viewer.get(f"/studies/{study}/delete").status_code == 403


def test_admin_manages_users(app):
    admin = client_for(app)
    token = csrf_token(admin)
    created = admin.post(
        "/admin/users",
        data={"username": "Dana", "role": "uploader", "password": "", "csrf_token": token},
        follow_redirects=True,
    )
    assert created.status_code == 200
    shown = re.search(r"Their password is (\S+) — it is shown only now", created.get_data(as_text=True)).group(1)
    assert sign_in(app.test_client(), "dana", shown).status_code == 302
    dana = _user_id(app, "dana")
    assert admin.post(f"/admin/users/{dana}/role", data={"role": "viewer", "csrf_token": token}).status_code == 302
    with app.app_context():
        assert find_user("dana").role == "viewer"
    duplicate = admin.post(
        "/admin/users", data={"username": "dana", "role": "viewer", "password": "long-enough-pw", "csrf_token": token}
    )
    assert duplicate.status_code == 400 and "already exists" in duplicate.get_data(as_text=True)
    assert admin.post(f"/admin/users/{dana}/delete", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert find_user("dana") is None


def test_the_last_admin_cannot_be_demoted(app):
    admin = client_for(app)
    response = admin.post(
        f"/admin/users/{_user_id(app, ADMIN_USER)}/role",
        data={"role": "viewer", "csrf_token": csrf_token(admin)},
        follow_redirects=True,
    )
    assert "The last admin cannot lose the admin role." in response.get_data(as_text=True)


def test_users_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "eve", "--role", "uploader"])
    assert result.exit_code == 0 and "Created eve (uploader) with password:" in result.output
    password = result.output.rsplit(": ", 1)[1].strip()
    assert sign_in(app.test_client(), "eve", password).status_code == 302
    assert runner.invoke(args=["users", "set-role", "eve", "admin"]).exit_code == 0
    reset = runner.invoke(args=["users", "reset-password", "eve", "--password", "eve-password-2"])
    assert reset.exit_code == 0
    assert sign_in(app.test_client(), "eve", "eve-password-2").status_code == 302
    assert "eve" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "remove", "eve"]).exit_code == 0
    missing = runner.invoke(args=["users", "remove", "eve"])
    assert missing.exit_code != 0 and "No user named 'eve'" in missing.output
    short = runner.invoke(args=["users", "add", "frank", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_first_admin_comes_from_the_environment_once(app_config, orthanc_server):
    config = app_config(orthanc_server, GALLERY_ADMIN_USER="root", GALLERY_ADMIN_PASSWORD="root-password-1")
    app = create_app(config)
    assert sign_in(app.test_client(), "root", "root-password-1").status_code == 302
    again = create_app({**config, "GALLERY_ADMIN_USER": "second", "GALLERY_ADMIN_PASSWORD": "second-password"})
    with again.app_context():
        assert find_user("second") is None  # an admin exists: nothing is created


def test_audit_log_records_views_downloads_and_sign_ins(app, archive: Archive):
    client = app.test_client()
    sign_in(client, ADMIN_USER, ADMIN_PASSWORD)
    client.get(f"/studies/{archive.volume[0].study}")
    client.get(f"/instances/{archive.volume[0].instance}/file").close()
    client.get(f"/instances/{archive.volume[0].instance}/thumbnail")  # images are not logged
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "login" in log and archive.volume[0].study in log and "download" in log
    json = client.get("/admin/audit?action=view", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert archive.volume[0].study in json
    assert client.get("/admin/audit?action=view").status_code == 200
    add_user(app, "vera", "viewer")
    assert client_for(app, "vera").get("/admin/audit").status_code == 403


def test_sqlite_commits_do_not_wait_for_the_disk(app):
    """WAL with synchronous=NORMAL: each page view's audit row would otherwise hold SQLite's one write lock
    for an fsync, and under load (bench/load.py, 4 workers) writers queued past the busy timeout."""
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # 1 = NORMAL (2 = FULL, the default)
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_admin_deletes_a_study_after_confirming(app_config, fresh_orthanc):
    orthanc = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    study = StudyInfo(PatientInfo("Delete^Me", "DEL-1"), "d1", "20240101", "", "To delete")
    keep = StudyInfo(PatientInfo("Delete^Me", "DEL-1"), "d2", "20240202", "", "To keep")
    stored = [orthanc.store_instance(data) for data in small_study(study, size=16)]
    orthanc.store_instance(next(small_study(keep, size=16)))
    study_id, patient_id = stored[0]["ParentStudy"], stored[0]["ParentPatient"]
    app = create_app(app_config(fresh_orthanc))
    sync_index(app)
    admin = client_for(app)
    assert "To delete" in admin.get("/studies").get_data(as_text=True)
    confirm = admin.get(f"/studies/{study_id}/delete")
    assert confirm.status_code == 200 and "Delete permanently" in confirm.get_data(as_text=True)
    assert admin.post(f"/studies/{study_id}/delete").status_code == 400  # no CSRF token
    done = admin.post(f"/studies/{study_id}/delete", data={"csrf_token": csrf_token(admin)})
    assert done.status_code == 302 and done.headers["Location"] == f"/patients/{patient_id}"
    with pytest.raises(OrthancNotFound):
        orthanc.get_json(f"/studies/{study_id}")
    listing = admin.get("/studies", headers={"Accept": "application/json"}).get_json()["studies"]["items"]
    assert [s["description"] for s in listing] == ["To keep"]  # gone from the index at once, not after a sync
    found = admin.get("/studies?q=to delete", headers={"Accept": "application/json"}).get_json()["studies"]
    assert found["total"] == 0  # and from its search structures
    patients = admin.get("/patients", headers={"Accept": "application/json"}).get_json()["patients"]["items"]
    assert [p["study_count"] for p in patients] == [1]
    assert "delete" in admin.get("/admin/audit?action=delete").get_data(as_text=True)


def test_deleting_the_only_series_of_a_study_removes_the_study_from_the_lists_at_once(app_config, fresh_orthanc):
    orthanc = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    lone = StudyInfo(PatientInfo("Lone^Series", "LONE-1"), "l1", "20240101", "", "One series")
    pair = StudyInfo(PatientInfo("Lone^Series", "LONE-1"), "l2", "20240202", "", "Two series")
    only = [orthanc.store_instance(data) for data in small_study(lone, size=16)][0]
    both = [orthanc.store_instance(data) for data in small_study(pair, size=16, series=2)]
    app = create_app(app_config(fresh_orthanc))
    sync_index(app)
    admin = client_for(app)
    token = csrf_token(admin)
    assert admin.post(f"/series/{only['ParentSeries']}/delete", data={"csrf_token": token}).status_code == 302
    assert admin.post(f"/series/{both[0]['ParentSeries']}/delete", data={"csrf_token": token}).status_code == 302
    listing = admin.get("/studies", headers={"Accept": "application/json"}).get_json()["studies"]["items"]
    assert [(s["description"], s["series_count"]) for s in listing] == [("Two series", 1)]


def test_security_headers_on_every_response(client, archive: Archive):
    for url in ("/", "/login", f"/instances/{archive.volume[0].instance}/thumbnail", "/nope", "/healthz"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"


def test_no_inline_scripts_or_styles_in_pages(client, archive: Archive):
    for url in ("/", "/patients", f"/studies/{archive.volume[0].study}", f"/instances/{archive.volume[0].instance}"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html and "<style" not in html, url


def test_uid_permalinks_redirect_to_orthanc_ids(client, archive: Archive, orthanc_client):
    study = orthanc_client.get_json(f"/studies/{archive.volume[0].study}")["MainDicomTags"]["StudyInstanceUID"]
    series = orthanc_client.get_json(f"/series/{archive.volume_series}")["MainDicomTags"]["SeriesInstanceUID"]
    instance = orthanc_client.get_json(f"/instances/{archive.volume[0].instance}")["MainDicomTags"]["SOPInstanceUID"]
    assert client.get(f"/studies/uid/{study}").headers["Location"] == f"/studies/{archive.volume[0].study}"
    assert client.get(f"/series/uid/{series}").headers["Location"] == f"/series/{archive.volume_series}"
    assert client.get(f"/instances/uid/{instance}").headers["Location"] == f"/instances/{archive.volume[0].instance}"
    assert client.get(f"/series/uid/{study}").status_code == 404  # a study UID is not a series
    assert client.get("/studies/uid/1.2.3.4.5.6.7.999").status_code == 404
    bad = client.get("/studies/uid/abc.def")
    assert bad.status_code == 404 and "not a DICOM UID" in bad.get_data(as_text=True)


def test_health_check_is_public_and_leaks_nothing(app, orthanc_server):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    health = response.get_json()
    index = health.pop("index")
    assert health == {"status": "ok", "orthanc": True, "database": True}
    assert index["phase"] == "current" and index["studies_indexed"] == index["studies_in_orthanc"] > 0
    assert "holder" not in index and "last_error" not in index  # host names and errors: /admin/index only
    assert str(orthanc_server.port).encode() not in response.data

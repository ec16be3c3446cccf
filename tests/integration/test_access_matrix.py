"""Every route × every role, from the app's own URL map: a new route without a rule fails here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gallery.access.albums import create_album
from gallery.access.permissions import ROLE_PERMISSIONS, Permission, Role, permission_of
from gallery.access.shares import create_share
from gallery.access.users import find_user

from ..support.data import Archive
from ..support.web import add_user, client_for

ROLES = ["anonymous", "viewer", "uploader", "admin"]


@pytest.fixture
def matrix_app(app, archive: Archive):
    add_user(app, "viewer", "viewer")
    add_user(app, "uploader", "uploader")
    with app.app_context():
        admin = find_user("admin")
        share, token = create_share("study", archive.volume[0].study, "x", admin, timedelta(days=1), False)
        album = create_album("matrix", "", find_user("uploader"))  # its creator and admins may change it
        values = {
            "patient_id": archive.volume[0].patient,
            "study_id": archive.volume[0].study,
            "series_id": archive.volume_series,
            "instance_id": archive.volume[0].instance,
            "token": token,
            "share_id": share.id,
            "album_id": album.id,
            "user_id": find_user("viewer").id,
            "level": "studies",
            "uid": "1.2.3",
            "filename": "css/gallery.css",
            "code": "ko",
        }
    app.config["MATRIX_VALUES"] = values
    return app


def routes(app):
    """(rule, url, methods, permission) for every route, with real values in its arguments."""
    values = app.config["MATRIX_VALUES"]
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: add a value for {missing} to the access matrix"
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        found.append((rule, url, rule.methods - {"HEAD", "OPTIONS"}, permission_of(app.view_functions[rule.endpoint])))
    return found


def client_as(app, role: str):
    return app.test_client() if role == "anonymous" else client_for(app, role)


def allowed(role: str, permission: Permission) -> bool:
    if permission is Permission.PUBLIC:
        return True
    return role != "anonymous" and permission in ROLE_PERMISSIONS[Role(role)]


@pytest.mark.parametrize("role", ROLES)
def test_every_route_enforces_its_permission(matrix_app, role):
    client = client_as(matrix_app, role)
    checked = 0
    for rule, url, methods, permission in routes(matrix_app):
        assert permission is not None, f"{rule.rule} declares no permission"
        for method in sorted(methods):
            # POSTs are sent without a CSRF token: an allowed role then gets 400 from the CSRF
            # check (which runs after the access check) and nothing is changed.
            response = client.open(url, method=method, headers={"Accept": "text/html"})
            status = response.status_code
            where = f"{role} {method} {rule.rule} -> {status}"
            if allowed(role, permission):
                assert status not in (401, 403) and not is_login_redirect(response), where
                if method == "POST" and rule.endpoint not in ("accounts.logout",):
                    assert status == 400 and b"CSRF" in response.data, where
            elif role == "anonymous":
                assert is_login_redirect(response) or status == 401, where
            else:
                assert status == 403, where
            checked += 1
    assert checked >= 30


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_anonymous_scripts_get_401_json(matrix_app):
    client = matrix_app.test_client()
    response = client.get("/patients", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert "Sign in" in response.get_json()["error"]["message"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200

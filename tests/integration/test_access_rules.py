"""Every route declares who may use it; an undeclared one is closed."""

from __future__ import annotations

from gallery.access.permissions import permission_of

from ..support.web import client_for


def test_every_endpoint_declares_a_permission(app):
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and permission_of(app.view_functions[rule.endpoint]) is None
    ]
    assert missing == []


def test_an_undeclared_view_is_refused(app):
    app.add_url_rule("/undeclared", "undeclared", lambda: "should not be served")
    response = client_for(app).get("/undeclared")
    assert response.status_code == 403
    assert b"should not be served" not in response.data

"""Form base class and forms shared by several blueprints."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_wtf import FlaskForm


class Form(FlaskForm):
    """Every gallery form: Flask-WTF with the CSRF policy of gallery.web.guards.

    Scripts that sign in with valid HTTP Basic credentials send no CSRF token (a
    browser cannot forge that header), so their forms skip the check
    (gallery.web.guards.check_csrf has verified them before any view runs).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if has_request_context() and g.get("basic_auth_user"):
            kwargs.setdefault("meta", {})["csrf"] = False
        super().__init__(*args, **kwargs)


class ConfirmForm(Form):
    """A button that POSTs with a CSRF token: sign out, revoke, delete."""

"""Form base class and forms shared by several blueprints."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_wtf import FlaskForm


class Form(FlaskForm):
    """Every gallery form: Flask-WTF with the CSRF policy of gallery.security.

    Scripts that authenticate with an Authorization header send no CSRF token (a
    browser cannot forge that header), so their forms skip the check.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if has_request_context() and request.headers.get("Authorization"):
            kwargs.setdefault("meta", {})["csrf"] = False
        super().__init__(*args, **kwargs)


class ConfirmForm(Form):
    """A button that POSTs with a CSRF token: sign out, revoke, delete."""

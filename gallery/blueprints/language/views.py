"""`/language/<code>`: remember the chosen interface language in a cookie."""

from __future__ import annotations

from flask import Response, redirect, request

from ...access.permissions import Permission, requires
from ...web.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES
from ...web.redirects import safe_next
from . import bp


@bp.get("/language/<code>")
@requires(Permission.PUBLIC)
def switch(code: str) -> Response:
    """Remember the chosen language for a year and go back to the page it was chosen on."""
    response = redirect(safe_next(request.args.get("next")), code=303)
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure)
    return response

"""Request guards: the per-view permission check and the CSRF policy.

CSRF: browser form posts must carry Flask-WTF's token. Scripts authenticate with an
`Authorization` header (see README) and are exempt: a browser never attaches that
header to a cross-site request by itself, so such a request cannot be forged.
"""

from __future__ import annotations

from flask import Flask, abort, g, request

from .access import Permission, permission_of
from .extensions import csrf

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def uses_authorization_header() -> bool:
    return bool(request.headers.get("Authorization"))


def check_csrf() -> None:
    if request.method in UNSAFE_METHODS and not uses_authorization_header():
        csrf.protect()


def check_permission(app: Flask) -> None:
    if request.endpoint is None or request.endpoint == "static":
        return  # no route matched (404/405 follow), or a static file
    permission = permission_of(app.view_functions.get(request.endpoint))
    if permission is None:
        abort(403, "This address has no access rule, so it is closed.")
    g.permission = permission
    if permission is Permission.PUBLIC:
        return


def register_guards(app: Flask) -> None:
    app.before_request(lambda: check_permission(app))
    app.before_request(check_csrf)

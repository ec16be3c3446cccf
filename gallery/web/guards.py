"""Request guards: who is asking, may they, CSRF, and the security headers.

Who: a signed-in user (session cookie), a script sending HTTP Basic credentials of a
gallery account, or a visitor holding a share-link grant in their session.

CSRF: browser form posts must carry Flask-WTF's token. Requests that sign in with valid
HTTP Basic credentials are exempt: a browser never attaches that header to a cross-site
request by itself (the gallery never asks browsers for Basic credentials), so such a
request cannot be forged. A header that does not sign in (wrong password, another
scheme, garbage) exempts nothing.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from ..access import throttle
from ..access.permissions import Permission, Principal, permission_of
from ..access.shares import ShareRefused, share_for_request
from ..access.users import authenticate, load_principal
from ..extensions import csrf, login_manager
from ..orthanc.errors import OrthancError
from .responses import wants_json
from .vocabulary import role_name

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BASIC_CACHE_SECONDS = 300
BASIC_CACHE_SIZE = 1000

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class AutoSecureSessionInterface(SecureCookieSessionInterface):
    """Session cookies are `Secure` whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


# -- who is asking --------------------------------------------------------------

#: Scripts send Basic credentials on every request; checking scrypt each time would cost
#: ~50 ms, so a verified (user, password) pair is remembered briefly (per app), by a salted digest.


def _verified() -> dict[str, tuple[int, int, float]]:
    return current_app.extensions.setdefault("verified_basic", {})


def _digest(username: str, password: str) -> str:
    secret = str(current_app.config["SECRET_KEY"])
    return hashlib.sha256(f"{secret}\0{username.lower()}\0{password}".encode()).hexdigest()


def load_user(user_id: str) -> Principal | None:
    """Flask-Login's session loader; the version part ends sessions after a password or role change."""
    number, _, version = user_id.partition(":")
    if not number.isdigit():
        return None
    user = load_principal(int(number))
    return user if user is not None and str(user.session_version) == version else None


def load_user_from_basic_auth(req: Any) -> Principal | None:
    """Flask-Login's request loader: HTTP Basic credentials of a gallery account (scripts, curl)."""
    auth = req.authorization
    if auth is None:
        return None
    g.basic_auth_user = False  # until the credentials are verified (see signed_in_by_header)
    if auth.type != "basic" or not auth.username:
        g.auth_error = (401, "Use HTTP Basic authentication with a gallery account (curl -u user:password).")
        return None
    digest = _digest(auth.username, auth.password or "")
    verified = _verified()
    remembered = verified.get(digest)
    if remembered and remembered[2] > time.monotonic():
        user = load_principal(remembered[0])
        if user is not None and user.session_version == remembered[1]:
            g.basic_auth_user = True
            return user
    wait = throttle.retry_after(auth.username)
    if wait:
        g.auth_error = (429, throttle.wait_message(wait))
        return None
    user = authenticate(auth.username, auth.password or "")
    if user is None:
        throttle.record_failure(auth.username)
        g.auth_error = (401, _("Wrong username or password."))
        return None
    if len(verified) >= BASIC_CACHE_SIZE:
        verified.clear()
    verified[digest] = (user.id, user.session_version, time.monotonic() + BASIC_CACHE_SECONDS)
    g.basic_auth_user = True
    return load_principal(user.id)


# -- may they ----------------------------------------------------------------------


def check_access(app: Flask) -> Response | None:
    if request.endpoint is None or request.endpoint == "static":
        return None  # no route matched (404/405 follow), or a static file
    permission = permission_of(app.view_functions.get(request.endpoint))
    if permission is None:
        abort(403, _("This address has no access rule, so it is closed."))
    g.permission = permission
    if permission is Permission.PUBLIC:
        return None
    if current_user.is_authenticated:
        g.actor = current_user.username
        if not current_user.can(permission):
            abort(
                403,
                _("Your role (%(role)s) does not allow this. Ask an administrator.", role=role_name(current_user.role)),
            )
        return None
    if "auth_error" in g:
        status, message = g.auth_error
        abort(status, message)
    try:
        share = share_for_request(permission, request.view_args or {})
    except ShareRefused as refused:
        abort(refused.status, refused.message)
    if share is not None:
        g.share, g.actor = share, f"share:{share.id}"
        return None
    if wants_json() or request.method != "GET":
        abort(401, _("Sign in first: use the sign-in page, or HTTP Basic credentials of a gallery account."))
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def may_open(url: str) -> bool:
    """Whether the current visitor may follow a link to `url`; templates hide the others.

    Share visitors see only links inside what was shared; users, what their role allows.
    """
    try:
        endpoint, args = current_app.url_map.bind("").match(url.split("?", 1)[0], method="GET")
    except HTTPException:
        return False
    permission = permission_of(current_app.view_functions.get(endpoint))
    if permission is None:
        return False
    if permission is Permission.PUBLIC:
        return True
    if current_user.is_authenticated:
        return current_user.can(permission)
    try:
        return share_for_request(permission, args) is not None
    except (ShareRefused, OrthancError):
        return False


def signed_in_by_header() -> bool:
    """Whether valid HTTP Basic credentials came with this request (a script, not a forged browser form)."""
    if request.authorization is None:
        return False
    if "basic_auth_user" not in g:  # a session user was loaded, so the header was not checked yet
        load_user_from_basic_auth(request)
    return bool(g.basic_auth_user)


def check_csrf() -> None:
    if request.method in UNSAFE_METHODS and not signed_in_by_header():
        csrf.protect()


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")  # share tokens must not leak via Referer
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype in ("text/html", "application/json") and "Cache-Control" not in headers:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    return response


def register_guards(app: Flask) -> None:
    app.session_interface = AutoSecureSessionInterface()
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_basic_auth)
    app.before_request(lambda: check_access(app))
    app.before_request(check_csrf)
    app.after_request(security_headers)

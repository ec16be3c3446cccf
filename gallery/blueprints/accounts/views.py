"""Sign in and sign out."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ...access import throttle
from ...access.audit import record
from ...access.permissions import Permission, Principal, requires
from ...access.users import authenticate, record_login
from ...web.redirects import safe_next
from . import bp
from .forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
def login() -> Response | tuple[str, int]:
    form = LoginForm(next=request.args.get("next", ""))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(safe_next(form.next.data))
    status, error = 200, ""
    if form.validate_on_submit():
        username = form.username.data.strip()
        wait = throttle.retry_after(username)
        user = None if wait else authenticate(username, form.password.data)
        if wait:
            status, error = 429, throttle.wait_message(wait)
        elif user is None:
            throttle.record_failure(username)
            record("login_failed", detail=f"username {username[:64]}", actor="anonymous")
            status, error = 401, _("Wrong username or password.")
        else:
            session.clear()  # no session fixation: a fresh session for the signed-in user
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without activity
            login_user(Principal.of(user))
            record_login(user)
            record("login", actor=user.username)
            return redirect(safe_next(form.next.data))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
@requires(Permission.PUBLIC)
def logout() -> Response:
    if current_user.is_authenticated:
        record("logout", actor=current_user.username)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "success")
    return redirect(url_for("accounts.login"))

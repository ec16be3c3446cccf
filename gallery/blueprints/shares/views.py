"""Share links: create from a study or series page, open as a visitor, list and revoke."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...access import throttle
from ...access.albums import find_album, may_change
from ...access.audit import record
from ...access.deidentified import burned_in_series
from ...access.permissions import Permission, requires
from ...access.shares import (
    ALBUM,
    create_share,
    find_share,
    may_manage,
    open_share,
    password_ok,
    refusal,
    revoke,
    visible_shares,
)
from ...archive.levels import Level
from ...archive.loaders import load_series, load_study
from ...extensions import db
from ...store.models import ShareLink
from ...web.forms import ConfirmForm
from ...web.redirects import page_url, safe_next
from ...web.responses import wants_json
from . import bp
from .forms import OpenShareForm, ShareForm
from .labels import ShareTarget, decode_label, encode_label, series_target, study_target


def _target(level: str, resource_id: str) -> tuple[ShareTarget, str]:
    """The shared resource (its label and breadcrumbs) and its page's URL."""
    if level == "study":
        return study_target(load_study(resource_id)), url_for("browse.study", study_id=resource_id)
    return series_target(load_series(resource_id)), url_for("browse.series", series_id=resource_id)


def _new_link(form: ShareForm, level: str, resource_id: str, label: str) -> tuple[ShareLink, str]:
    """Create the link the form asks for and audit it; returns the row and the link's address."""
    share, token = create_share(
        level,
        resource_id,
        label,
        current_user,
        timedelta(seconds=form.expires_in.data),
        form.allow_download.data,
        form.password.data or "",
        deidentified=form.deidentify.data,
        include_burned_in=form.include_burned_in.data,
    )
    kind = ", de-identified" if share.deidentified else ""
    record("share", level, resource_id, detail=f"link {share.id}{kind}, expires {share.expires_at:%Y-%m-%d %H:%M}")
    return share, url_for("shares.landing", token=token, _external=True)


def _burned_in(level: str, resource_id: str) -> int:
    """How many of the series to share say their pixels carry burned-in text (the form warns)."""
    series_ids = [card.id for card in load_study(resource_id).series] if level == "study" else [resource_id]
    return sum(burned_in_series(series_id) for series_id in series_ids)


def _create(level: str, resource_id: str) -> Response | tuple[str, int]:
    target, page_url = _target(level, resource_id)
    form = ShareForm()
    if form.validate_on_submit():
        share, link = _new_link(form, level, resource_id, encode_label(target.label))
        return render_template("shares/created.html", share=share, link=link, target=target, page_url=page_url), 201
    status = 400 if request.method == "POST" else 200
    burned_in = _burned_in(level, resource_id)
    page = render_template(
        "shares/new.html", form=form, level=level, target=target, page_url=page_url, burned_in=burned_in
    )
    return page, status


@bp.route("/studies/<oid:study_id>/share", methods=["GET", "POST"])
@requires(Permission.SHARE)
def share_study(study_id: str) -> Response | tuple[str, int]:
    return _create("study", study_id)


@bp.route("/series/<oid:series_id>/share", methods=["GET", "POST"])
@requires(Permission.SHARE)
def share_series(series_id: str) -> Response | tuple[str, int]:
    return _create("series", series_id)


@bp.route("/albums/<int:album_id>/share", methods=["GET", "POST"])
@requires(Permission.SHARE)
def share_album(album_id: int) -> Response | tuple[str, int]:
    """A link to the album as it is at each request (see access/shares.py)."""
    album = find_album(album_id)
    if album is None:
        abort(404, _("There is no album %(id)s. It may have been deleted.", id=album_id))
    if not may_change(current_user, album):
        abort(403, _("Only an admin or the person who created an album can share it."))
    page_url = url_for("albums.album", album_id=album.id)
    form = ShareForm()
    if form.validate_on_submit():
        share, link = _new_link(form, ALBUM, str(album.id), album.name)
        return render_template("shares/album_created.html", share=share, link=link, album=album, page_url=page_url), 201
    status = 400 if request.method == "POST" else 200
    return render_template("shares/album_new.html", form=form, album=album, page_url=page_url), status


def _shared_page(share: ShareLink) -> str:
    if share.level == ALBUM:
        return url_for("albums.album", album_id=int(share.resource_id))
    return page_url(Level(share.level), share.resource_id)


@bp.route("/s/<token>", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
def landing(token: str) -> Response | tuple[str, int]:
    """What a recipient (or a chat unfurler) sees: nothing about the patient until they open it.

    GET never counts as a use; opening is a POST (with the password, if any).
    """
    share = find_share(token)
    refused = refusal(share)
    if refused:
        if wants_json():
            abort(refused.status, refused.message)  # the JSON error every other refusal has
        return render_template("shares/refused.html", message=refused.message), refused.status
    form = OpenShareForm()
    status, error = 200, ""
    if form.validate_on_submit():
        key = f"share-{share.id}"
        wait = throttle.retry_after(key)
        if wait:
            status, error = 429, throttle.wait_message(wait)
        elif not password_ok(share, form.password.data or ""):
            throttle.record_failure(key)
            status, error = 403, _("That password is not right.")
        else:
            open_share(share)
            record("share_open", share.level, share.resource_id, detail=f"link {share.id}", actor=f"share:{share.id}")
            return redirect(_shared_page(share))
    elif request.method == "POST":
        status = 400
    return render_template("shares/landing.html", link=share, form=form, error=error), status


@bp.get("/shares")
@requires(Permission.SHARE)
def index() -> str:
    show_ended = request.args.get("ended") == "1"
    shares = visible_shares(current_user, include_ended=show_ended)
    return render_template(
        "shares/index.html",
        shares=shares,
        labels={s.id: decode_label(s.label) for s in shares},
        show_ended=show_ended,
        form=ConfirmForm(),
    )


@bp.post("/shares/<int:share_id>/revoke")
@requires(Permission.SHARE)
def revoke_share(share_id: str) -> Response:
    share = db.session.get(ShareLink, share_id)
    if share is None:
        abort(404, _("There is no such share link."))
    if not may_manage(current_user, share):
        abort(403, _("Only an admin or the person who created a link can revoke it."))
    revoke(share)
    record("revoke", share.level, share.resource_id, detail=f"link {share.id}")
    return redirect(safe_next(request.form.get("next")) if request.form.get("next") else url_for("shares.index"))

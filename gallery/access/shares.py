"""Share links: create, check and revoke read-only grants on one study, series or album.

An album link's scope is the album as it is at each request: membership is read again on
every request (access/albums.py), so a study added later is reachable and one removed is
refused at once.

The token (192 random bits) is shown once; only its SHA-256 is stored. Opening a link
puts a grant (the share's row ID) in the visitor's session; every request then
re-reads the row, so a revocation takes effect on the next request in every process.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import g, session
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..archive.levels import Level
from ..archive.loaders import parent_series, parent_study
from ..extensions import db
from ..store.clock import moment, utcnow
from ..store.models import ShareLink, User
from .albums import holds
from .deidentified import burned_in_series
from .permissions import Permission, Role, resource_of

SESSION_KEY = "share_grants"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")
#: What a link may share: a study, a series, or an album (its ID as text in resource_id).
ALBUM = "album"
SHAREABLE = (Level.STUDY, Level.SERIES, ALBUM)


@dataclass
class ShareRefused(Exception):
    """The visitor holds a grant, but not one that allows this request."""

    status: int
    message: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share(
    level: str,
    resource_id: str,
    label: str,
    creator: User,
    lifetime: timedelta,
    allow_download: bool,
    password: str = "",
    deidentified: bool = False,
    include_burned_in: bool = False,
) -> tuple[ShareLink, str]:
    """A new link; returns the row and the token, which is never stored.

    A de-identified link gets its own UID secret and date shift (1 to 10 years back, any day).
    """
    assert level in SHAREABLE
    token = secrets.token_urlsafe(24)
    share = ShareLink(
        token_hash=hash_token(token),
        level=level,
        resource_id=resource_id,
        label=label[:200],
        created_by=creator.id,
        created_at=utcnow(),
        expires_at=utcnow() + lifetime,
        allow_download=allow_download,
        password_hash=generate_password_hash(password) if password else None,
        deidentified=deidentified,
        day_shift=-(365 + secrets.randbelow(9 * 366)) if deidentified else 0,
        secret=secrets.token_hex(32) if deidentified else "",
        include_burned_in=deidentified and include_burned_in,
    )
    db.session.add(share)
    db.session.commit()
    return share, token


def find_share(token: str) -> ShareLink | None:
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    return db.session.scalar(select(ShareLink).where(ShareLink.token_hash == hash_token(token)))


def refusal(share: ShareLink | None) -> ShareRefused | None:
    """Why a link cannot be used (tampered, revoked, expired), or None if it is live."""
    if share is None:
        return ShareRefused(403, _("This share link is not valid. Check that it was copied completely."))
    if share.revoked_at is not None:
        return ShareRefused(410, _("This share link was revoked by the person who shared it."))
    if share.expires_at <= utcnow():
        return ShareRefused(410, _("This share link expired on %(when)s UTC.", when=moment(share.expires_at)))
    return None


def password_ok(share: ShareLink, password: str) -> bool:
    return share.password_hash is None or check_password_hash(share.password_hash, password)


def open_share(share: ShareLink) -> None:
    """Count a use and grant this browser session access to the shared resource."""
    share.use_count += 1
    share.last_used_at = utcnow()
    db.session.commit()
    grants = [g for g in session.get(SESSION_KEY, []) if g != share.id]
    session[SESSION_KEY] = [*grants[-9:], share.id]


def revoke(share: ShareLink) -> None:
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        db.session.commit()


def visible_shares(user: User, include_ended: bool = False) -> list[ShareLink]:
    """Links an admin (all) or their creator may see, newest first."""
    query = select(ShareLink).order_by(ShareLink.created_at.desc())
    if user.role != Role.ADMIN.value:
        query = query.where(ShareLink.created_by == user.id)
    if not include_ended:
        query = query.where(ShareLink.revoked_at.is_(None), ShareLink.expires_at > utcnow())
    return list(db.session.scalars(query))


def may_manage(user: User, share: ShareLink) -> bool:
    return user.role == Role.ADMIN.value or share.created_by == user.id


def covers(share: ShareLink, level: str, resource_id: str) -> bool:
    """Whether the shared study/series/album contains this resource (parents are looked up in Orthanc)."""
    if level == ALBUM or share.level == ALBUM:
        return _album_covers(share, level, resource_id)
    if level == "instance":
        level, resource_id = "series", parent_series(resource_id)
    if share.level == "series":
        return level == "series" and resource_id == share.resource_id
    if level == "series":
        level, resource_id = "study", parent_study(resource_id)
    return level == "study" and resource_id == share.resource_id


def _album_covers(share: ShareLink, level: str, resource_id: str) -> bool:
    """The album itself, or a study it holds now (with that study's series and instances)."""
    if share.level != ALBUM:
        return False
    if level == ALBUM:
        return resource_id == share.resource_id
    if level == "instance":
        level, resource_id = "series", parent_series(resource_id)
    if level == "series":
        level, resource_id = "study", parent_study(resource_id)
    return level == "study" and holds(int(share.resource_id), resource_id)


def _left_out(share: ShareLink, level: str, resource_id: str) -> bool:
    """A series (or an image of one) that a de-identified link leaves out for its burned-in text."""
    if not share.deidentified or share.include_burned_in or level not in ("series", "instance"):
        return False
    return burned_in_series(parent_series(resource_id) if level == "instance" else resource_id)


def _resource(view_args: dict[str, Any]) -> tuple[str, str] | None:
    """What a request addresses: an Orthanc resource, or an album (by `album_id`)."""
    resource = resource_of(view_args)
    if resource is None and view_args.get("album_id") is not None:
        return ALBUM, str(view_args["album_id"])
    return resource


def _granted_rows(grant_ids: list[int]) -> list[ShareLink]:
    """The session's share rows, read once per request (templates ask about every link on a page)."""
    if g.get("share_rows_for") != grant_ids:
        g.share_rows = list(db.session.scalars(select(ShareLink).where(ShareLink.id.in_(grant_ids))))
        g.share_rows_for = list(grant_ids)
    return g.share_rows


def share_for_request(permission: Permission, view_args: dict[str, Any]) -> ShareLink | None:
    """The live grant in this session that allows the request, if any.

    Raises ShareRefused when the session holds grants but none allows it, so the
    visitor learns why (revoked, expired, out of scope) instead of seeing a sign-in page.
    """
    grant_ids = session.get(SESSION_KEY) or []
    if not grant_ids:
        return None
    shares = _granted_rows(grant_ids)
    live = [s for s in shares if refusal(s) is None]
    if not live:
        session.pop(SESSION_KEY, None)
        raise refusal(shares[0]) if shares else ShareRefused(403, _("This share link is no longer valid."))
    resource = _resource(view_args)
    if permission not in (Permission.VIEW, Permission.DOWNLOAD) or resource is None:
        raise ShareRefused(403, _("A share link opens only the study, series or album that was shared."))
    for share in live:
        if covers(share, *resource):
            if permission is Permission.DOWNLOAD and not share.allow_download:
                raise ShareRefused(403, _("Downloads are not allowed through this share link."))
            if _left_out(share, *resource):
                raise ShareRefused(
                    403,
                    _(
                        "This de-identified link leaves this series out: its images are marked as carrying "
                        "burned-in text, which de-identification cannot remove."
                    ),
                )
            return share
    raise ShareRefused(403, _("A share link opens only the study, series or album that was shared."))

"""The audit log: who viewed, downloaded, uploaded, deleted and shared what, and when.

Page views and downloads are recorded for every route by one after-request hook
(images are not: a series page loads hundreds). Uploads, deletions, shares and
sign-ins are recorded where they happen. Rows hold usernames and Orthanc IDs, no PHI.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..archive.paging import Page
from ..extensions import db
from ..store.models import AuditEvent
from .permissions import Permission, resource_of

log = logging.getLogger(__name__)

PAGE_TYPES = frozenset({"text/html", "application/json"})


def record(action: str, level: str = "", resource_id: str = "", detail: str = "", actor: str | None = None) -> None:
    event = AuditEvent(
        actor=(actor or g.get("actor") or "anonymous")[:80],
        action=action,
        level=level,
        resource_id=resource_id,
        detail=detail[:300],
        address=(request.remote_addr or "")[:64],
    )
    try:
        db.session.add(event)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not write the audit log")


def record_request(response: Response) -> Response:
    """Log successful page views (HTML or JSON) and downloads of signed-in users and share visitors."""
    permission = g.get("permission")
    if request.method != "GET" or response.status_code != 200 or "actor" not in g:
        return response
    if permission is Permission.DOWNLOAD:
        record("download", *(resource_of(request.view_args) or ("", "")), detail=request.endpoint or "")
    elif permission is Permission.VIEW and response.mimetype in PAGE_TYPES:
        level, resource_id = resource_of(request.view_args) or ("", "")
        record("view", level, resource_id, detail="" if resource_id else request.path)
    return response


def events(page_number: int, size: int, actor: str = "", action: str = "") -> Page[AuditEvent]:
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).offset((page_number - 1) * size).limit(size)).all()
    return Page(items=list(rows), number=page_number, size=size, total=total)


def register_audit(app: Flask) -> None:
    app.after_request(record_request)

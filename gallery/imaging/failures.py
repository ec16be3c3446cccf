"""Images Orthanc cannot render, remembered in the database so no process asks again.

Two reasons are kept per (instance, frame):

- "crash": rendering it ended with Orthanc gone. The call's connection was made and then
  dropped with no answer, Orthanc then refused connections, and it answered again within
  RENDER_CRASH_WAIT seconds (restarted by a supervisor). Asking again would take it down
  again, for every visitor, so the gallery serves a placeholder until an admin clears it.
- "unsupported": Orthanc answered 415, so pages can say so next to the image.

A refused connection (Orthanc down, breaker open) never implicates an image: a visitor
cannot record arbitrary instances while Orthanc is merely stopped. The list is read whole
into a per-process memo, trusted for RENDER_FAILURES_MEMO seconds, so checking it before
every rendering call costs a dictionary lookup.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..archive.loaders import load_instance
from ..extensions import db, orthanc
from ..orthanc.errors import OrthancNotFound, OrthancUnavailable
from ..store.clock import utcnow
from ..store.models import RenderFailure

log = logging.getLogger(__name__)

CRASH, UNSUPPORTED = "crash", "unsupported"


@dataclass(frozen=True)
class Failure:
    """One row of the admin list: a plain copy, so templates touch no session."""

    instance: str
    frame: int
    reason: str
    patient: str
    patient_name: str
    patient_code: str
    study: str
    study_description: str
    series: str
    series_description: str
    modality: str
    first_at: datetime
    last_at: datetime
    count: int


class _Memo:
    """{(instance, frame): reason} of one app, reloaded from the database when older than `ttl`."""

    def __init__(self) -> None:
        self.reasons: dict[tuple[str, int], str] = {}
        self.loaded = -1e9
        self.lock = threading.Lock()

    def get(self) -> dict[tuple[str, int], str]:
        if time.monotonic() - self.loaded < current_app.config["RENDER_FAILURES_MEMO"]:
            return self.reasons
        with self.lock:
            if time.monotonic() - self.loaded >= current_app.config["RENDER_FAILURES_MEMO"]:
                try:
                    rows = db.session.execute(select(RenderFailure.instance, RenderFailure.frame, RenderFailure.reason))
                    self.reasons = {(i, f): r for i, f, r in rows}
                except SQLAlchemyError:
                    db.session.rollback()
                    log.exception("could not read the render failures")
                self.loaded = time.monotonic()
        return self.reasons

    def expire(self) -> None:
        self.loaded = -1e9


def _memo() -> _Memo:
    return current_app.extensions.setdefault("render_failures", _Memo())


def known(instance: str, frame: int = 0) -> str | None:
    """The recorded reason why (instance, frame) is not asked of Orthanc, or None."""
    return _memo().get().get((instance, frame))


def failed_instances() -> dict[str, str]:
    """{instance: reason} for frame 0 of every recorded image: what cards can say without a request."""
    return {i: r for (i, f), r in _memo().get().items() if f == 0}


def crashed(error: OrthancUnavailable) -> bool:
    """Whether Orthanc died under the call that raised `error` and is back now.

    Only a dropped connection counts; then Orthanc must refuse a probe right away (a dropped
    idle keep-alive connection leaves it answering) and answer one within RENDER_CRASH_WAIT.
    """
    if not error.dropped:
        return False
    client = orthanc()
    if client.answers(error.node):
        return False
    deadline = time.monotonic() + current_app.config["RENDER_CRASH_WAIT"]
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if client.answers(error.node):
            return True
    log.warning("Orthanc did not come back after %s", error.path)
    return False


def remember(instance: str, frame: int, reason: str) -> None:
    """Record (or count again) a failure; the instance must exist (checked with Orthanc)."""
    try:
        context = load_instance(instance)
    except OrthancNotFound:
        return
    values = {
        "reason": reason,
        "patient": context.patient.id,
        "patient_name": context.patient.name[:200],
        "patient_code": context.patient.patient_id[:64],
        "study": context.study.id,
        "study_description": context.study.description[:200],
        "series": context.series.id,
        "series_description": context.series.description[:200],
        "modality": context.series.modality[:16],
    }
    try:
        row = db.session.scalar(select(RenderFailure).filter_by(instance=instance, frame=frame))
        if row is None:
            db.session.add(RenderFailure(instance=instance, frame=frame, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.last_at, row.count = utcnow(), row.count + 1
        db.session.commit()
    except IntegrityError:  # another process recorded it first
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not record the render failure of %s", instance)
    if reason == CRASH:
        log.error("Orthanc died rendering instance %s frame %s; it will not be asked again", instance, frame)
    _memo().expire()


def forget(instance: str, frame: int) -> bool:
    """Clear a record so the image is asked of Orthanc again; False when there was none."""
    result = db.session.execute(delete(RenderFailure).filter_by(instance=instance, frame=frame))
    db.session.commit()
    _memo().expire()
    return bool(result.rowcount)


def listing(reason: str = "") -> list[Failure]:
    """Recorded failures, most recent first; only one `reason` when given."""
    query = select(RenderFailure).order_by(RenderFailure.last_at.desc(), RenderFailure.id.desc())
    if reason:
        query = query.where(RenderFailure.reason == reason)
    return [
        Failure(**{name: getattr(row, name) for name in Failure.__dataclass_fields__})
        for row in db.session.scalars(query)
    ]

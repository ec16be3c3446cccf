"""How far the index is: what `/healthz`, `/admin/index`, `flask index status` and list pages' notice show.

Read from `index_state` and `index_lease` only (two small queries), never from Orthanc, so a list
page can say "the list may be behind" precisely when Orthanc does not answer.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection

from .lease import read_lease
from .state import read_state

INITIAL, CURRENT, BEHIND, STOPPED = "initial", "current", "behind", "stopped"


@dataclass(frozen=True, slots=True)
class IndexStatus:
    phase: str  # initial · current · behind · stopped
    studies_indexed: int
    studies_in_orthanc: int  # as the last /statistics said
    rate: float  # studies per second during the initial sync
    lag: float | None  # seconds since the last successful poll of Orthanc (None: never)
    last_error: str | None  # REST path and Orthanc's message; never a URL
    holder: str | None  # host:pid:random of the live syncer, None when none holds the lease

    @property
    def to_go(self) -> int:
        return max(0, self.studies_in_orthanc - self.studies_indexed)

    @property
    def behind(self) -> bool:
        """List pages show a notice (the macro index_notice) unless the index is current."""
        return self.phase != CURRENT

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "to_go": self.to_go}

    def for_lists(self) -> IndexStatus:
        """What list pages (and their JSON) show every signed-in user: no host names, no error texts."""
        return replace(self, holder=None, last_error=None)

    def public(self) -> dict[str, Any]:
        """For `/healthz`, which anyone may read: no host names (holder) and no error texts."""
        return {k: v for k, v in self.as_dict().items() if k not in ("holder", "last_error")}


def index_status(connection: Connection, behind_after: float = 10.0, now: float | None = None) -> IndexStatus:
    """The phase, counts, rate and lag; `behind_after`: seconds without a successful poll (INDEX_BEHIND_SECONDS)."""
    now = time.time() if now is None else now
    checkpoint = read_state(connection, "checkpoint") or {}
    progress = read_state(connection, "progress") or {}
    lease = read_lease(connection)
    holder = lease.holder if lease is not None and lease.alive(now) else None
    last_success = progress.get("last_success")
    lag = max(0.0, now - last_success) if last_success else None
    failing = bool(progress.get("last_error")) and (progress.get("error_at") or 0) >= (last_success or 0)
    if holder is None and (lag is None or lag > behind_after):
        phase = STOPPED
    elif checkpoint.get("phase") != "current":
        phase = INITIAL if not failing else BEHIND
    elif failing or lag is None or lag > behind_after:
        phase = BEHIND
    else:
        phase = CURRENT
    return IndexStatus(
        phase=phase,
        studies_indexed=int(progress.get("studies_indexed") or 0),
        studies_in_orthanc=int(progress.get("orthanc_studies") or 0),
        rate=float(progress.get("rate") or 0.0),
        lag=round(lag, 1) if lag is not None else None,
        last_error=progress.get("last_error") if failing else None,
        holder=holder,
    )


def current_status() -> IndexStatus:
    """index_status() for the current app (a page, /healthz): on the app's database, with its settings."""
    from flask import current_app

    from ...extensions import db

    with db.engine.connect() as connection:
        return index_status(connection, float(current_app.config["INDEX_BEHIND_SECONDS"]))

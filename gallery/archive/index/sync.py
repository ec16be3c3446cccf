"""The one syncer that keeps the index current: initial sync in pages, then Orthanc's change feed.

Work happens in steps (`Syncer.step`), each one bounded Orthanc answer written in one transaction
together with the checkpoint in `index_state`, so a `kill -9` loses at most the step in flight:
1. start: read `/changes?last` (where the feed will be followed from) and `/statistics`;
2. `/series?expand&limit=P&since=K` pages, then `/studies?expand&limit=P&since=K` pages (insertion
   order; never the whole archive in one answer);
3. follow `/changes` in batches: each touched study is refreshed with 2 calls; then `/statistics`
   (1 call): when the index holds more studies or series than Orthanc, a deletion happened outside
   the gallery (the feed does not record them) and a sweep of IDs-only pages finds which.
Only the process holding the lease (lease.py) runs steps; page requests never do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, not_, select, update
from sqlalchemy.engine import Engine

from ...orthanc.errors import OrthancNotFound, is_orthanc_id, require_id
from . import tables, writer
from .fetch import fetch_studies, write_fetched
from .lease import Lease
from .records import series_record, study_record
from .state import error_text, index_counts, merge_state, read_state, write_state

if TYPE_CHECKING:
    from ...orthanc.client import OrthancClient

log = logging.getLogger(__name__)

CHANGES_PAGE = 1000  # changes read per step while following the feed
STUDY_CHANGES = {"NewStudy", "StableStudy", "ModifiedStudy", "UpdatedAttachment"}
SERIES_CHANGES = {"NewSeries", "StableSeries", "CompletedSeries", "ModifiedSeries"}


@dataclass(frozen=True, slots=True)
class Settings:
    page_size: int = 250
    sweep_page_size: int = 10_000
    poll_seconds: float = 1.0
    lease_seconds: float = 5.0

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(
            page_size=int(config["INDEX_PAGE_SIZE"]),
            sweep_page_size=int(config["INDEX_SWEEP_PAGE_SIZE"]),
            poll_seconds=float(config["INDEX_POLL_SECONDS"]),
            lease_seconds=float(config["INDEX_LEASE_SECONDS"]),
        )


class Syncer:
    """One step at a time, writing only while `lease` is held (LeaseLost otherwise)."""

    def __init__(self, engine: Engine, client: OrthancClient, lease: Lease, settings: Settings = Settings()) -> None:
        self.engine = engine
        self.client = client
        self.lease = lease
        self.settings = settings
        self.calls: Counter[str] = Counter()  # Orthanc calls by kind, for the CLI's summary and tests
        self._count_lock = threading.Lock()
        self.pages = 0  # initial-sync pages read by this process
        self._statistics: dict[str, int] | None = None
        self._swept_for: dict[str, int] | None = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        kind = path.strip("/").split("/")[0] + ("/…" if path.count("/") > 1 else "")
        with self._count_lock:  # fetch.py calls from several threads
            self.calls[kind] += 1
        return self.client.get_json(path, params)

    def checkpoint(self) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            return read_state(connection, "checkpoint")

    def step(self) -> bool:
        """Do one bounded piece of work; True while more is waiting (initial pages, a long feed)."""
        checkpoint = self.checkpoint()
        if checkpoint is None:
            self._start()
            return True
        if checkpoint["phase"] in ("series", "studies"):
            self._page(checkpoint)
            return True
        more = self._follow(checkpoint)
        if not more:
            self._check_deletions()
        return more

    def run_until_current(self, progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Steps until the index is current (tests, `flask index sync --once`)."""
        while self.step():
            if progress is not None:
                progress(self.checkpoint() or {})

    def record_error(self, error: Exception) -> None:
        with self.engine.begin() as connection:
            merge_state(connection, "progress", last_error=error_text(error), error_at=time.time())

    # -- initial sync --

    def _start(self) -> None:
        last = self.get("/changes", {"last": ""}).get("Last", 0)
        statistics = self._read_statistics()
        now = time.time()
        with self.engine.begin() as connection:
            self.lease.confirm(connection)
            write_state(
                connection,
                "checkpoint",
                {"phase": "series", "since": 0, "seq": last, "series": 0, "studies": 0, "started_at": now},
            )
            write_state(connection, "orthanc_statistics", statistics)
            merge_state(
                connection,
                "progress",
                orthanc_studies=statistics["studies"],
                studies_indexed=0,
                rate=0.0,
                last_success=now,
                last_error=None,
            )

    def _page(self, checkpoint: dict[str, Any]) -> None:
        kind, size, since = checkpoint["phase"], self.settings.page_size, checkpoint["since"]
        started = time.perf_counter()
        page = self.get(f"/{kind}", {"expand": "", "limit": size, "since": since})
        self.pages += 1
        valid = [item for item in page if is_orthanc_id(item.get("ID", ""))]
        if kind == "series":
            studies, series = [], [series_record(s) for s in valid if is_orthanc_id(s.get("ParentStudy", ""))]
        else:
            studies, series = [study_record(s) for s in valid if is_orthanc_id(s.get("ParentPatient", ""))], []
        checkpoint = {**checkpoint, "since": since + len(page), kind: checkpoint[kind] + len(valid)}
        if len(page) < size:
            checkpoint.update(phase="studies" if kind == "series" else "current", since=0)
        now = time.time()
        with self.engine.begin() as connection:
            self.lease.confirm(connection)
            writer.upsert(connection, studies, series)
            write_state(connection, "checkpoint", checkpoint)
            progress = read_state(connection, "progress") or {}
            values: dict[str, Any] = {"last_success": now, "studies_indexed": checkpoint["studies"]}
            if studies:
                rate = len(studies) / max(time.perf_counter() - started, 1e-6)
                values["rate"] = round(0.7 * (progress.get("rate") or rate) + 0.3 * rate, 1)
            if checkpoint["phase"] == "current":
                values["initial_seconds"] = round(now - checkpoint["started_at"], 1)
            merge_state(connection, "progress", **values)

    # -- keeping current --

    def _follow(self, checkpoint: dict[str, Any]) -> bool:
        """Apply one batch of the change feed; True when more changes are waiting."""
        seq = checkpoint["seq"]
        page = self.get("/changes", {"since": seq, "limit": CHANGES_PAGE})
        studies, series, deleted = set(), set(), set()
        for change in page.get("Changes", []):
            kind, resource = change.get("ChangeType"), change.get("ID", "")
            if not is_orthanc_id(resource):
                continue
            if change.get("ResourceType") == "Study" and kind == "Deleted":
                deleted.add(resource)
            elif kind in STUDY_CHANGES and change.get("ResourceType") == "Study":
                studies.add(resource)
            elif kind in SERIES_CHANGES and change.get("ResourceType") == "Series":
                series.add(resource)
        fetched = fetch_studies(self.get, studies - deleted)
        # a new series usually comes with its NewStudy: the study's answer names it, so no /series/{id} call
        series -= {s.id for s in fetched.series}
        more_studies = self._studies_of(series) - studies - deleted
        if more_studies:
            extra = fetch_studies(self.get, more_studies)
            fetched.studies += extra.studies
            fetched.series += extra.series
            fetched.gone += extra.gone
        studies |= more_studies
        fetched.gone += sorted(deleted)
        more = not page.get("Done", True)
        with self.engine.begin() as connection:
            self.lease.confirm(connection)
            write_fetched(connection, fetched)
            write_state(connection, "checkpoint", {**checkpoint, "seq": page.get("Last", seq)})
            merge_state(connection, "progress", last_success=time.time(), changes_applied=bool(studies or deleted))
        return more

    def _studies_of(self, series_ids: set[str]) -> set[str]:
        """The studies of these series: from the index when known, else 1 call each."""
        if not series_ids:
            return set()
        known: dict[str, str] = {}
        with self.engine.connect() as connection:
            ids = sorted(series_ids)
            for start in range(0, len(ids), writer.BATCH):
                chunk = ids[start : start + writer.BATCH]
                query = select(tables.series.c.id, tables.series.c.study).where(tables.series.c.id.in_(chunk))
                known.update({row.id: row.study for row in connection.execute(query)})
        found = set(known.values())
        for series_id in sorted(series_ids - known.keys()):
            try:
                parent = self.get(f"/series/{require_id(series_id)}").get("ParentStudy", "")
            except OrthancNotFound:
                continue
            if is_orthanc_id(parent):
                found.add(parent)
        return found

    def _read_statistics(self) -> dict[str, int]:
        data = self.get("/statistics")
        return {
            "patients": int(data.get("CountPatients", 0)),
            "studies": int(data.get("CountStudies", 0)),
            "series": int(data.get("CountSeries", 0)),
            "instances": int(data.get("CountInstances", 0)),
            "disk_size": int(data.get("TotalDiskSize", 0)),
        }

    def _check_deletions(self) -> None:
        """1 call per poll; counting the index's rows only when something changed since the last poll."""
        statistics = self._read_statistics()
        with self.engine.begin() as connection:
            progress = read_state(connection, "progress") or {}
            counted = "index_series" in progress and not progress.get("changes_applied")
            if statistics != self._statistics or not counted:
                counts = index_counts(connection)
                merge_state(
                    connection,
                    "progress",
                    orthanc_studies=statistics["studies"],
                    studies_indexed=counts["studies"],
                    index_series=counts["series"],
                    changes_applied=False,
                    last_success=time.time(),
                    last_error=None,
                )
                write_state(connection, "orthanc_statistics", statistics)
            else:
                merge_state(connection, "progress", last_success=time.time(), last_error=None)
                counts = {"studies": progress["studies_indexed"], "series": progress["index_series"]}
        excess = counts["studies"] > statistics["studies"] or counts["series"] > statistics["series"]
        # The index lacks rows while Orthanc's counts stay still (two polls alike, the feed applied):
        # a study skipped by the initial sync's paging as Orthanc deleted others meanwhile.
        lacking = (
            statistics == self._statistics
            and statistics != self._swept_for
            and (counts["studies"] < statistics["studies"] or counts["series"] < statistics["series"])
        )
        self._statistics = statistics
        if excess or lacking:
            self._swept_for = statistics  # one sweep per state of Orthanc for what the index lacks
            self.sweep(statistics)

    def sweep(self, before: dict[str, int]) -> int:
        """Find rows Orthanc deleted: mark what Orthanc lists (IDs only, in pages), delete the rest.

        Listed studies and series the index lacks are indexed on the way (2 calls per study).

        Offsets shift if Orthanc changes meanwhile, so the result is applied only when Orthanc's counts
        are the same after the listing as before it (else the next poll sweeps again). Returns the
        rows deleted.
        """
        started = time.time()
        with self.engine.begin() as connection:
            number = (read_state(connection, "sweep") or {}).get("n", 0) + 1
        for kind, table in (("studies", tables.studies), ("series", tables.series)):
            since, size = 0, self.settings.sweep_page_size
            while True:
                ids = [i for i in self.get(f"/{kind}", {"limit": size, "since": since}) if is_orthanc_id(i)]
                missing: set[str] = set()
                with self.engine.begin() as connection:
                    self.lease.confirm(connection)
                    for start in range(0, len(ids), writer.BATCH):
                        chunk = ids[start : start + writer.BATCH]
                        marked = connection.execute(update(table).where(table.c.id.in_(chunk)).values(sweep=number))
                        if marked.rowcount != len(chunk):
                            known = set(connection.scalars(select(table.c.id).where(table.c.id.in_(chunk))))
                            missing |= set(chunk) - known
                if missing:
                    studies = missing if kind == "studies" else self._studies_of(missing)
                    fetched = fetch_studies(self.get, studies)
                    with self.engine.begin() as connection:
                        self.lease.confirm(connection)
                        write_fetched(connection, fetched)
                since += size
                if len(ids) < size:
                    break
        if self._read_statistics() != before:
            log.info("index sweep %d discarded: Orthanc changed while it was listed", number)
            return 0
        deleted = 0
        with self.engine.begin() as connection:
            self.lease.confirm(connection)
            s, r = tables.studies.c, tables.series.c
            recent = select(s.id).where(s.indexed_at >= started)
            studies = list(connection.scalars(select(s.id).where(s.sweep < number, s.indexed_at < started)))
            series = list(connection.scalars(select(r.id).where(and_(r.sweep < number, not_(r.study.in_(recent))))))
            writer.delete_studies(connection, studies)
            writer.delete_series(connection, series)
            deleted = len(studies) + len(series)
            counts = index_counts(connection)
            seconds = round(time.time() - started, 2)
            write_state(
                connection,
                "sweep",
                {"n": number, "at": started, "seconds": seconds, "studies": len(studies), "series": len(series)},
            )
            merge_state(connection, "progress", studies_indexed=counts["studies"], index_series=counts["series"])
        log.info("index sweep %d: %d rows deleted in %.1f s", number, deleted, time.time() - started)
        return deleted


def reset(engine: Engine) -> None:
    """Forget the whole index and its checkpoint: the syncer starts over (`flask index reset`)."""
    with engine.begin() as connection:
        for table in (
            tables.terms,
            tables.study_modalities,
            tables.series,
            tables.studies,
            tables.patients,
            tables.state,
        ):
            connection.execute(delete(table))

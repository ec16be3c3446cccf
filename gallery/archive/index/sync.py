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

import atexit
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, not_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ...orthanc.errors import OrthancError, OrthancNotFound, is_orthanc_id, require_id
from . import tables, writer
from .lease import Lease, LeaseLost
from .records import SeriesRecord, StudyRecord, series_record, study_record

if TYPE_CHECKING:
    from flask import Flask

    from ...orthanc.client import OrthancClient

log = logging.getLogger(__name__)

CHANGES_PAGE = 1000  # changes read per step while following the feed
STUDY_CHANGES = {"NewStudy", "StableStudy", "ModifiedStudy", "UpdatedAttachment"}
SERIES_CHANGES = {"NewSeries", "StableSeries", "CompletedSeries", "ModifiedSeries"}


# -- index_state: small JSON values by key ------------------------------------------


def read_state(connection: Connection, key: str) -> Any:
    value = connection.scalar(select(tables.state.c.value).where(tables.state.c.key == key))
    return json.loads(value) if value is not None else None


def write_state(connection: Connection, key: str, value: Any) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(tables.state).values(key=key, value=json.dumps(value))
    update_value = {"value": statement.excluded.value}
    connection.execute(statement.on_conflict_do_update(index_elements=["key"], set_=update_value))


def merge_state(connection: Connection, key: str, **values: Any) -> dict[str, Any]:
    current = read_state(connection, key) or {}
    current.update(values)
    write_state(connection, key, current)
    return current


def error_text(error: Exception) -> str:
    """What the status may show: the REST path and Orthanc's message, never a URL or host."""
    if isinstance(error, OrthancError):
        return f"{error.path}: {error.message}"
    return type(error).__name__


# -- fetching and writing studies (the feed, uploads) ---------------------------------


@dataclass
class Fetched:
    studies: list[StudyRecord] = field(default_factory=list)
    series: list[SeriesRecord] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # studies Orthanc no longer has


def fetch_studies(get: Callable[..., Any], study_ids: Iterable[str]) -> Fetched:
    """2 calls per study: its JSON and its series (expanded); a 404 means it was deleted."""
    fetched = Fetched()
    for study_id in sorted(set(study_ids)):
        require_id(study_id)
        try:
            data = get(f"/studies/{study_id}")
            members = get(f"/studies/{study_id}/series")
        except OrthancNotFound:
            fetched.gone.append(study_id)
            continue
        fetched.studies.append(study_record(data))
        fetched.series += [series_record(s) for s in members]
    return fetched


def write_fetched(connection: Connection, fetched: Fetched) -> None:
    """Replace the fetched studies' rows (series Orthanc dropped go too) and delete the gone ones."""
    if fetched.gone:
        writer.delete_studies(connection, fetched.gone)
    by_study: dict[str, list[str]] = {s.id: [] for s in fetched.studies}
    for s in fetched.series:
        by_study.setdefault(s.study, []).append(s.id)
    for study_id, keep in by_study.items():
        connection.execute(
            delete(tables.series).where(tables.series.c.study == study_id, tables.series.c.id.not_in(keep))
        )
    writer.upsert(connection, fetched.studies, fetched.series)


def index_studies_now(study_ids: Iterable[str]) -> None:
    """Index these studies at once (uploads, inside the request): 2 Orthanc calls per study.

    Needs an app context. No lease: upserts are idempotent, and the syncer refreshes the same
    studies again when their changes reach it.
    """
    from ...extensions import db, orthanc

    fetched = fetch_studies(orthanc().get_json, study_ids)
    with db.engine.begin() as connection:
        write_fetched(connection, fetched)


# -- the syncer ----------------------------------------------------------------------


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
        self.pages = 0  # initial-sync pages read by this process
        self._statistics: dict[str, int] | None = None
        self._swept_for: dict[str, int] | None = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        kind = path.strip("/").split("/")[0] + ("/…" if path.count("/") > 1 else "")
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


def index_counts(connection: Connection) -> dict[str, int]:
    """Studies and series in the index, from the trigger-kept index_counts (no count(*) at any size)."""
    c = tables.counts.c
    rows = dict(connection.execute(select(c.name, c.rows)).all())
    return {"studies": int(rows.get("index_studies", 0)), "series": int(rows.get("index_series", 0))}


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


# -- the syncer inside gallery processes ----------------------------------------------


class SyncThread:
    """The syncer of one process: steps while this process holds the lease, else waits for it.

    A heartbeat thread renews the lease every third of its lifetime, so a slow Orthanc answer does
    not lose it; when the process dies the renewals stop and another process takes over.
    """

    def __init__(self, syncer: Syncer) -> None:
        self.syncer = syncer
        self.lease = syncer.lease
        self.pid = os.getpid()
        self.held = threading.Event()
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._heartbeat, name="index-lease", daemon=True),
            threading.Thread(target=self._work, name="index-sync", daemon=True),
        ]

    def start(self) -> SyncThread:
        for thread in self.threads:
            thread.start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """On a clean exit: stop stepping and free the lease for the next process."""
        self.stopped.set()
        if self.held.is_set():
            try:
                self.lease.release()
            except Exception as error:  # noqa: BLE001 - exiting anyway; the lease expires
                log.info("index lease not released: %s", error_text(error))

    def _heartbeat(self) -> None:
        interval = self.lease.seconds / 3
        while not self.stopped.is_set():
            try:
                held = self.lease.acquire()
            except Exception as error:  # noqa: BLE001 - the database may be back next time
                log.warning("index lease renewal failed: %s", error_text(error))
                held = False
            (self.held.set if held else self.held.clear)()
            self.stopped.wait(interval)

    def _work(self) -> None:
        poll = self.syncer.settings.poll_seconds
        while not self.stopped.is_set():
            if not self.held.wait(timeout=1.0):
                continue
            try:
                more = self.syncer.step()
            except LeaseLost:
                self.held.clear()
                continue
            except Exception as error:  # noqa: BLE001 - a background thread has no one else to tell
                log.warning("index sync step failed: %s", error_text(error))
                try:
                    self.syncer.record_error(error)
                except Exception:  # noqa: BLE001
                    log.warning("index sync error not recorded")
                self.stopped.wait(max(poll, 1.0))
                continue
            if not more:
                self.stopped.wait(poll)


def make_syncer(app: Flask, holder: str | None = None) -> Syncer:
    """A Syncer over the app's database and Orthanc client (call in an app context)."""
    from ...extensions import db

    settings = Settings.from_config(app.config)
    client = app.extensions.get("orthanc")
    if client is None:
        raise RuntimeError("ORTHANC_URL is not configured")
    return Syncer(db.engine, client, Lease(db.engine, holder, settings.lease_seconds), settings)


_start_lock = threading.Lock()


def start_syncer(app: Flask) -> SyncThread | None:
    """Start this process's syncer thread once (INDEX_SYNC="auto"); a forked child starts its own.

    Called by the first request of a process and by gunicorn's post_worker_init, never at import
    and never in gunicorn's master, whose threads would not survive the fork.
    """
    if app.config["INDEX_SYNC"] != "auto" or app.extensions.get("orthanc") is None:
        return None
    running = app.extensions.get("index_sync")
    if running is not None and running.pid == os.getpid():
        return running
    with _start_lock:
        running = app.extensions.get("index_sync")
        if running is None or running.pid != os.getpid():
            with app.app_context():
                running = SyncThread(make_syncer(app)).start()
            app.extensions["index_sync"] = running
    return running


def init_syncer(app: Flask) -> None:
    """Start the syncer lazily, on the first request each process serves (no sync work in requests)."""
    if app.config["INDEX_SYNC"] not in ("auto", "off"):
        raise ValueError(f"INDEX_SYNC must be 'auto' or 'off', not {app.config['INDEX_SYNC']!r}")
    app.before_request(lambda: start_syncer(app) and None)

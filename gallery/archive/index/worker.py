"""The syncer inside gallery processes: a thread that steps while its process holds the lease.

By default (INDEX_SYNC="auto") every gallery process starts one on its first request, so `make run`,
`flask run` and gunicorn keep the index current with nothing else to start; only the lease holder
steps. `flask index sync` runs the same thread in a process of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING

from .lease import Lease, LeaseLost
from .state import error_text
from .sync import Settings, Syncer

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


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

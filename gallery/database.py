"""Database set-up: the URL default, SQLite tuning, and schema creation."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from .extensions import db

log = logging.getLogger(__name__)


def database_url(app: Flask) -> str:
    """The configured URL, SQLite under instance/ by default, psycopg 3 for PostgreSQL."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(app.instance_path) / 'gallery.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _tune_sqlite(engine: Engine) -> None:
    """WAL and a busy timeout let several threads and processes share one SQLite file.

    synchronous=NORMAL: in WAL mode a commit then no longer waits for an fsync (still
    consistent after a crash; a power cut may drop the last commits). With FULL, every
    page view's audit row held the write lock for an fsync (4–16 ms on a busy disk), and
    under the load test (bench/load.py, 4 workers) writers queued past the busy timeout:
    "database is locked", audit rows lost and 10-second page views.
    """

    @event.listens_for(engine, "connect")
    def on_connect(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def init_db() -> None:
    """Create missing tables. Safe when several processes start at once."""
    from . import render_failures  # noqa: F401 - registers the table
    from .accounts import models  # noqa: F401 - registers the tables

    try:
        db.create_all()
    except (OperationalError, ProgrammingError) as error:  # another process created them first
        log.info("schema creation raced with another process: %s", error.__class__.__name__)
        db.session.rollback()
        db.create_all()


def init_database(app: Flask) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)
        init_db()
        _bootstrap_admin(app)


def _bootstrap_admin(app: Flask) -> None:
    from .accounts.users import bootstrap_admin

    user = bootstrap_admin(app.config["GALLERY_ADMIN_USER"], app.config["GALLERY_ADMIN_PASSWORD"])
    if user is not None:
        current_app.logger.info("created the first admin account from GALLERY_ADMIN_USER")

"""Database set-up: the URL default, SQLite tuning, and schema migrations under a lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from ..extensions import db
from .schema import migrate

#: PostgreSQL advisory lock key of schema_lock() (any constant 64-bit number unique to the
#: gallery within its database; Orthanc's PostgreSQL plugin keeps its index in its own database).
SCHEMA_LOCK_KEY = 0x6F67_616C_6C65_7279  # "ogallery"


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
        cursor.execute("PRAGMA busy_timeout=10000")  # first: switching a new file to WAL may wait for a sibling
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _tune_postgresql(engine: Engine) -> None:
    """No JIT compilation: every gallery query reads a few index ranges and at most a page of rows.

    PostgreSQL JIT-compiles any statement whose estimated cost passes jit_above_cost (100,000), as
    the count of a search over a million studies does: the compilation (LLVM, loaded afresh by each
    new connection) cost far more than the query. With it on, a fresh worker's first study list took
    527 ms and searches 200–400 ms at 200,000 studies (docs/benchmarks.md, "Archive index").
    """

    @event.listens_for(engine, "connect")
    def on_connect(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("SET jit = off")
        cursor.close()
        connection.commit()


@contextmanager
def schema_lock() -> Iterator[Connection]:
    """Hold the database-wide schema lock for the block, in one transaction on db.session.

    Every gallery process creates the schema and the first admin at start; gunicorn's
    workers (and galleries on other hosts) start together, so without a lock they all
    found no admin and all inserted one (UNIQUE constraint failed: worker failed to boot).
    PostgreSQL: pg_advisory_xact_lock, released by the commit or rollback (or when a
    crashed process's connection closes). SQLite: BEGIN IMMEDIATE takes the file's write
    lock, so siblings wait up to the busy timeout (10 s). The yielded connection is the
    session's: DDL (the migrations) and ORM writes inside the block share the
    locked transaction, which commits when the block ends and rolls back on an error.
    """
    session = db.session()  # this thread's Session (the scoped proxy lacks in_transaction)
    if session.in_transaction():
        raise RuntimeError("schema_lock() needs a session without an open transaction")
    connection = session.connection()
    dialect = connection.dialect.name
    try:
        if dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        elif dialect == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection
        session.commit()
    except BaseException:
        session.rollback()
        raise


def init_db() -> None:
    """Bring the schema to the newest migration (store/schema.py). Safe when several processes start at once."""
    with schema_lock() as connection:
        migrate(connection)


def init_database(app: Flask, after_schema: Callable[[], None] | None = None) -> None:
    """Connect, then migrate the schema and run `after_schema` as one locked step.

    create_app passes the first-admin bootstrap (access/users.py) as `after_schema`, so it
    shares the schema lock's transaction without the store importing the layers above it.
    """
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)
        elif db.engine.dialect.name == "postgresql":
            _tune_postgresql(db.engine)
        with schema_lock() as connection:
            migrate(connection)
            if after_schema is not None:
                after_schema()

"""Production start on a new database: gunicorn with 4 workers, and two galleries at once.

Every worker creates the schema and the first admin when it boots. Before schema_lock()
they all saw no admin, all inserted one, and all but one died with "UNIQUE constraint
failed: users.username" ("Worker failed to boot": gunicorn exited).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gallery import create_app
from gallery.access.users import bootstrap_admin
from gallery.extensions import db
from gallery.store.database import SCHEMA_LOCK_KEY, schema_lock
from gallery.store.models import User
from scripts.embedded import EmbeddedOrthanc, free_port
from scripts.launch import GalleryServer, start_gunicorn

from ..support.services import gallery_get, missing_services, start_postgresql
from ..support.web import ADMIN_PASSWORD, ADMIN_USER

pytestmark = pytest.mark.services

WORKERS = 4
#: The worker's PID in each access-log line (test only: production logs keep their format).
ACCESS_LOG = re.compile(r'^<(\d+)> "GET /admin/users" (\d{3})$', re.MULTILINE)
BOOTED = re.compile(r"Booting worker with pid: (\d+)")


@pytest.fixture(scope="module")
def postgresql() -> Iterator[object]:
    if reason := missing_services():
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    server = start_postgresql()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest) -> str:
    """The URL of a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if request.param == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="gallery-startup-"))
        request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
        return f"sqlite:///{folder / 'gallery.db'}"
    return request.getfixturevalue("postgresql").create_database(f"startup_{uuid.uuid4().hex[:12]}")


def gallery_env(orthanc: EmbeddedOrthanc, database: str, workers: int = WORKERS) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database,
        "GALLERY_ADMIN_USER": ADMIN_USER,
        "GALLERY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ORTHANC_URL": orthanc.url,
        "ORTHANC_USER": orthanc.user,
        "ORTHANC_PASSWORD": orthanc.password,
        "SECRET_KEY": "startup-test",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": "4",
        "GUNICORN_CMD_ARGS": "--access-logformat='%(p)s \"%(m)s %(U)s\" %(s)s'",
    }


def start_together(env: dict[str, str], logs: list[Path], stack: ExitStack) -> list[GalleryServer]:
    """Start one gunicorn per log file at the same instant; each is stopped when `stack` closes."""
    with ThreadPoolExecutor(len(logs)) as pool:
        futures = [pool.submit(start_gunicorn, env, free_port(), log=log, timeout=90) for log in logs]
        errors = [future.exception() for future in futures]
    for future in futures:
        if future.exception() is None:
            stack.callback(future.result().stop)
    for error, log in zip(errors, logs, strict=True):
        assert error is None, f"{error}\n{log.read_text()[-4000:]}"
    return [future.result() for future in futures]


def serve_until_every_worker_answered(gallery: GalleryServer, log: Path) -> set[int]:
    """Ask for the users page (the admin's Basic credentials, a new connection each time)
    until every live worker has answered one, or 400 requests; the PIDs that answered."""
    workers = set(gallery.worker_pids())
    answered: set[int] = set()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(50):
            pages = list(pool.map(lambda _: gallery_get(gallery.url + "/admin/users"), range(8)))
            assert [page.status_code for page in pages] == [200] * 8
            assert all(f"<td>{ADMIN_USER} " in page.text for page in pages)
            answered = {int(pid) for pid, status in ACCESS_LOG.findall(log.read_text()) if status == "200"}
            if workers <= answered:
                break
    return answered


def assert_every_worker_booted_and_serves(gallery: GalleryServer, log: Path, workers: int = WORKERS) -> None:
    answered = serve_until_every_worker_answered(gallery, log)
    time.sleep(0.5)  # a worker that died at boot would be gone, and the master with it
    output = log.read_text()
    assert gallery.process.poll() is None, output[-4000:]
    assert "failed to boot" not in output and "Traceback" not in output, output[-4000:]
    booted = {int(pid) for pid in BOOTED.findall(output)}
    assert len(booted) == workers, output[-4000:]  # no worker died and was replaced
    assert set(gallery.worker_pids()) == booted == answered


def user_rows(database: str) -> list[tuple[str, str]]:
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT username, role FROM users"))]
    finally:
        engine.dispose()


def test_four_workers_boot_and_serve_on_a_new_database(orthanc_server, new_database: str, tmp_path: Path):
    log = tmp_path / "gunicorn.log"
    with ExitStack() as stack:
        [gallery] = start_together(gallery_env(orthanc_server, new_database), [log], stack)
        assert_every_worker_booted_and_serves(gallery, log)
    assert user_rows(new_database) == [(ADMIN_USER, "admin")]


def test_two_galleries_started_together_on_one_new_database(orthanc_server, new_database: str, tmp_path: Path):
    """Two workers each (as on two 1-core hosts): four processes race, as in the test above."""
    logs = [tmp_path / "gallery-1.log", tmp_path / "gallery-2.log"]
    with ExitStack() as stack:
        galleries = start_together(gallery_env(orthanc_server, new_database, workers=2), logs, stack)
        for gallery, log in zip(galleries, logs, strict=True):
            assert_every_worker_booted_and_serves(gallery, log, workers=2)
    assert user_rows(new_database) == [(ADMIN_USER, "admin")]


def test_schema_lock_keeps_every_other_writer_out_until_the_block_ends(app_config, orthanc_server, new_database: str):
    """The lock is the database's own (SQLite's write lock, a PostgreSQL advisory lock), so other
    processes see it: here another engine, i.e. other connections, stand for them."""
    app = create_app(app_config(orthanc_server, SQLALCHEMY_DATABASE_URI=new_database))
    other = create_engine(database_url_of(app))

    def other_gets_the_lock() -> bool:
        with other.connect() as connection:
            if other.dialect.name == "postgresql":
                got = connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                connection.rollback()
                return bool(got)
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except OperationalError as error:
                assert "locked" in str(error)
                return False
            connection.exec_driver_sql("ROLLBACK")
            return True

    try:
        with app.app_context():
            with schema_lock():
                assert not other_gets_the_lock()
            assert other_gets_the_lock()
            with pytest.raises(ZeroDivisionError), schema_lock():
                1 / 0  # noqa: B018 - an error inside the block releases the lock too
            assert other_gets_the_lock()
    finally:
        other.dispose()


def test_an_admin_inserted_by_a_writer_outside_the_lock_first_is_success(app_config, orthanc_server, new_database: str):
    """`flask users add` (or an older gallery) inserts the admin between our check and our insert."""
    app = create_app(app_config(orthanc_server, SQLALCHEMY_DATABASE_URI=new_database, GALLERY_ADMIN_USER=""))
    other = create_engine(database_url_of(app))
    inserted = []

    def insert_first(_connection, _cursor, statement: str, *_args) -> None:
        if statement.startswith("INSERT INTO users") and not inserted:
            inserted.append(statement)
            with Session(other) as session:
                session.add(User(username=ADMIN_USER, password_hash="elsewhere", role="admin"))
                session.commit()

    try:
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", insert_first)
            assert bootstrap_admin(ADMIN_USER, ADMIN_PASSWORD) is None
            assert inserted  # the race did happen
            db.session.commit()  # the caller's transaction survived the conflict
            assert db.session.scalar(select(func.count()).select_from(User)) == 1
        assert user_rows(new_database) == [(ADMIN_USER, "admin")]
    finally:
        other.dispose()


def database_url_of(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]

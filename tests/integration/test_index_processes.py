"""The syncer as separate processes: `flask index sync` killed half-way resumes from its checkpoint, and two
gunicorn galleries on one PostgreSQL index share one syncer that passes on when its process is killed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from gallery.archive.index import tables
from gallery.orthanc.client import OrthancClient
from scripts.embedded import free_port
from scripts.launch import start_gunicorn
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.services import gallery_get, missing_services, start_postgresql
from ..support.web import ADMIN_PASSWORD, ADMIN_USER

ROOT = Path(__file__).resolve().parents[2]
STUDIES = 300
PAGE = 3


def store_studies(client: OrthancClient, first: int, count: int) -> list[str]:
    def one(n: int) -> str:
        patient = PatientInfo(f"Kill^Patient{n:04d}", f"KILL-{n:04d}", "19700101", "M")
        info = StudyInfo(patient, f"kill-{n}", "20230101", "080000", f"Study {n}", f"ACC-K{n:04d}")
        return client.store_instance(next(small_study(info, size=8)))["ParentStudy"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(first, first + count)))


def environment(server, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "ORTHANC_URL": server.url,
        "ORTHANC_USER": server.user,
        "ORTHANC_PASSWORD": server.password,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "index-process-test",
        "GALLERY_ADMIN_USER": ADMIN_USER,
        "GALLERY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **extra,
    }


def flask_index(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "index", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def checkpoint(engine) -> dict:
    try:
        with engine.connect() as connection:
            value = connection.scalar(select(tables.state.c.value).where(tables.state.c.key == "checkpoint"))
    except OperationalError:  # the command has not created the tables yet
        return {}
    return json.loads(value) if value else {}


def indexed(engine, table=tables.studies) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(table.c.id)))


def test_a_syncer_killed_half_way_through_the_initial_sync_resumes_from_its_checkpoint(new_database_url, fresh_orthanc):
    client = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    studies = set(store_studies(client, 0, STUDIES))
    url = new_database_url()
    env = environment(fresh_orthanc, url, INDEX_SYNC="off", INDEX_PAGE_SIZE=str(PAGE))
    engine = create_engine(url)
    first = flask_index(env, "sync", "--once")
    try:
        deadline = time.monotonic() + 120
        while not (checkpoint(engine).get("phase") == "studies" and checkpoint(engine)["since"] >= STUDIES // 3):
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = checkpoint(engine)
    assert at_kill["phase"] == "studies" and STUDIES // 3 <= at_kill["since"] < STUDIES
    assert len(indexed(engine)) == at_kill["since"]  # the checkpoint and the rows were written together
    second = flask_index(env, "sync", "--once")
    output = second.communicate(timeout=120)[0]
    assert second.returncode == 0, output
    assert f"{STUDIES} of {STUDIES}" in output  # the progress bar's last state
    pages = int(re.search(r"(\d+) pages", output).group(1))
    # only the studies not indexed yet were read again: no series page, no study page twice
    assert pages == (STUDIES - at_kill["since"]) // PAGE + 1
    full = (len(client.get_json("/series")) // PAGE + 1) + (STUDIES // PAGE + 1)
    assert pages < full / 2
    assert indexed(engine) == studies
    assert len(indexed(engine, tables.series)) == STUDIES
    assert checkpoint(engine)["phase"] == "current"
    status = flask_index(env, "status").communicate(timeout=60)[0]
    assert re.search(rf"studies_indexed\s+{STUDIES}\b", status)
    assert fresh_orthanc.url not in status


@pytest.mark.services
def test_two_galleries_on_one_postgresql_index_one_syncs_and_the_other_takes_over(fresh_orthanc, tmp_path):
    if reason := missing_services():
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    postgresql = start_postgresql()
    galleries = []
    try:
        url = postgresql.create_database("gallery")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        client = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
        store_studies(client, 0, 5)
        env = environment(fresh_orthanc, url, GUNICORN_WORKERS="1", GUNICORN_THREADS="4")
        for n in (1, 2):
            galleries.append(start_gunicorn(env, free_port(), log=tmp_path / f"gallery-{n}.log"))

        def holder_pid() -> int | None:
            with engine.connect() as connection:
                row = connection.execute(select(tables.lease)).first()
            return int(row.holder.split(":")[1]) if row and row.holder and row.expires_at > time.time() else None

        deadline = time.monotonic() + 30
        while holder_pid() is None or len(indexed(engine)) < 5:
            assert time.monotonic() < deadline, "no gallery indexed the archive"
            time.sleep(0.1)
        syncing = next(g for g in galleries if holder_pid() in g.worker_pids())
        other = next(g for g in galleries if g is not syncing)
        for gallery in galleries:  # both serve, from the one index
            health = gallery_get(gallery.url + "/healthz", json=True).json()
            assert health["index"]["phase"] == "current" and health["index"]["studies_indexed"] == 5
        killed = holder_pid()
        os.kill(syncing.process.pid, signal.SIGKILL)  # the master first, so it starts no new worker
        os.kill(killed, signal.SIGKILL)
        syncing.process.wait()
        stored_at = time.monotonic()
        added = store_studies(client, 100, 1)[0]
        while added not in indexed(engine):
            assert time.monotonic() - stored_at < 15, "the other gallery did not take over"
            time.sleep(0.1)
        assert holder_pid() in other.worker_pids() and holder_pid() != killed
        assert gallery_get(other.url + "/healthz", json=True).json()["index"]["studies_indexed"] == 6
    finally:
        for gallery in galleries:
            if gallery.process.poll() is None:
                gallery.stop()
        postgresql.stop()

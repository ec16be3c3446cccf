"""The one syncer (gallery/archive/index/: sync, fetch, state, worker, lease, status), real Orthanc and database.

Initial sync in bounded pages, the change feed, deletions outside the gallery (the sweep), uploads
indexed at once, the lease, and what the status shows when Orthanc stops answering.
"""

from __future__ import annotations

import math
import time

import pytest
from sqlalchemy import func, select

from gallery import create_app
from gallery.archive.index import tables, writer
from gallery.archive.index.fetch import index_studies_now
from gallery.archive.index.lease import Lease, LeaseLost
from gallery.archive.index.state import read_state
from gallery.archive.index.status import index_status
from gallery.archive.index.sync import Settings, Syncer
from gallery.archive.index.worker import SyncThread, make_syncer
from gallery.extensions import db
from gallery.orthanc.client import OrthancClient
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.web import client_for, sync_index


def orthanc_of(server) -> OrthancClient:
    return OrthancClient(server.url, server.user, server.password)


def store_study(client: OrthancClient, n: int, series: int = 1, instances: int = 1) -> dict:
    patient = PatientInfo(f"Sync^Patient{n:04d}", f"SYNC-{n:04d}", "19800101", "F")
    info = StudyInfo(patient, f"sync-{n}", "20240102", "101500", f"Sync study {n}", f"ACC-S{n:04d}")
    answers = [client.store_instance(d) for d in small_study(info, series=series, instances=instances, size=16)]
    return answers[-1]


def indexed_ids(app, table=tables.studies) -> set[str]:
    with app.app_context(), db.engine.connect() as connection:
        return set(connection.scalars(select(table.c.id)))


def wait_for(condition, seconds: float, step: float = 0.05) -> float:
    """Seconds until `condition()` held; fails the test after `seconds`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(step)
    return time.monotonic() - started


def test_initial_sync_reads_bounded_pages_and_indexes_exactly_what_orthanc_holds(app_config, orthanc_server, archive):
    app = create_app(app_config(orthanc_server, INDEX_PAGE_SIZE=7))
    syncer = sync_index(app)
    client = orthanc_of(orthanc_server)
    studies, series = client.get_json("/studies"), client.get_json("/series")
    assert indexed_ids(app) == set(studies)
    assert indexed_ids(app, tables.series) == set(series)
    # every page was bounded: pages of 7 over series then studies (each phase ends on a short page)
    assert syncer.pages == (len(series) // 7 + 1) + (len(studies) // 7 + 1)
    assert syncer.calls["series"] + syncer.calls["studies"] == syncer.pages
    # start (/changes?last, /statistics) + pages + one poll (/changes, /statistics): no per-study calls
    assert sum(syncer.calls.values()) == syncer.pages + 4
    assert sum(syncer.calls.values()) / len(studies) < 1  # Orthanc calls per indexed study
    with app.app_context(), db.engine.connect() as connection:
        row = connection.execute(select(tables.studies).where(tables.studies.c.id == archive.two_series[0].study)).one()
        assert row.series_count == 2 and row.instance_count == 6 and row.thumbnail is not None
        status = index_status(connection)
        later = index_status(connection, behind_after=10, now=time.time() + 11)
    assert status.phase == "current" and status.holder is None
    assert later.phase == "stopped"  # no process holds the lease, and the last poll is old
    assert status.studies_indexed == status.studies_in_orthanc == len(studies)


def test_a_current_index_costs_two_calls_per_idle_poll(app_config, orthanc_server, archive):
    app = create_app(app_config(orthanc_server))
    sync_index(app)
    with app.app_context():
        syncer = make_syncer(app)
        assert syncer.lease.acquire()
        syncer.step()  # first poll of this process counts the index once
        syncer.calls.clear()
        for _ in range(3):
            assert syncer.step() is False
    assert dict(syncer.calls) == {"changes": 3, "statistics": 3}


def test_uploads_are_indexed_at_once_with_two_calls_per_study(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc))
    sync_index(app)
    client = orthanc_of(fresh_orthanc)
    answer = store_study(client, 1, series=2, instances=2)
    calls = []
    with app.test_request_context():
        app.extensions["orthanc"].observer = lambda method, path, seconds: calls.append(path)
        index_studies_now([answer["ParentStudy"]])
    assert calls == [f"/studies/{answer['ParentStudy']}", f"/studies/{answer['ParentStudy']}/series"]
    assert indexed_ids(app) == {answer["ParentStudy"]}
    assert len(indexed_ids(app, tables.series)) == 2
    client.delete(f"/studies/{answer['ParentStudy']}")
    with app.test_request_context():
        index_studies_now([answer["ParentStudy"]])  # a 404 means deleted: the rows go
    assert indexed_ids(app) == set() and indexed_ids(app, tables.patients) == set()


def test_index_studies_now_refuses_what_is_not_an_orthanc_id(app_config, fresh_orthanc):
    from gallery.orthanc.errors import OrthancNotFound

    app = create_app(app_config(fresh_orthanc))
    with app.test_request_context(), pytest.raises(OrthancNotFound):
        index_studies_now(["../../tools/reset"])


def test_the_change_feed_adds_studies_and_series_and_the_sweep_removes_deleted_ones(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc, INDEX_SWEEP_PAGE_SIZE=3))
    client = orthanc_of(fresh_orthanc)
    kept = [store_study(client, n)["ParentStudy"] for n in range(5)]
    sync_index(app)
    added = store_study(client, 10, series=2)["ParentStudy"]
    sync_index(app)
    assert indexed_ids(app) == {*kept, added}
    # deleted through Orthanc's own REST API: the feed does not say so; the statistics do
    client.delete(f"/studies/{kept[0]}")
    client.delete(f"/series/{client.get_json(f'/studies/{added}')['Series'][0]}")
    syncer = sync_index(app)
    assert indexed_ids(app) == set(kept[1:]) | {added}
    assert indexed_ids(app, tables.series) == set(client.get_json("/series"))
    # the sweep listed IDs in pages of 3 (never expanded), once for studies and once for series
    assert syncer.calls["studies"] == math.ceil(len(kept) / 3) + (len(kept) % 3 == 0)
    with app.app_context(), db.engine.connect() as connection:
        sweep = read_state(connection, "sweep")
    assert (sweep["n"], sweep["studies"], sweep["series"]) == (1, 1, 2)  # the study's series, and one more


def test_the_change_feed_costs_two_calls_per_new_study_whatever_its_series(app_config, fresh_orthanc):
    """A new series arrives with its NewStudy: the study's answer lists it, so no `/series/{id}` lookup
    (3 calls per one-series study before, which made 1,000 new studies take ~40 s to show)."""
    app = create_app(app_config(fresh_orthanc))
    client = orthanc_of(fresh_orthanc)
    store_study(client, 1)
    sync_index(app)
    added = [store_study(client, n, series=2)["ParentStudy"] for n in range(20, 24)]
    syncer = sync_index(app)
    assert indexed_ids(app) >= set(added)
    assert indexed_ids(app, tables.series) == set(client.get_json("/series"))
    assert syncer.calls["series/…"] == 0
    assert syncer.calls["studies/…"] == 2 * len(added)
    # a new series of a study already indexed still finds its study (1 call), then the study (2 calls)
    client.delete(f"/series/{client.get_json(f'/studies/{added[0]}')['Series'][0]}")
    sync_index(app)
    again = store_study(client, 20, series=2)["ParentStudy"]
    syncer = sync_index(app)
    assert again == added[0] and indexed_ids(app, tables.series) == set(client.get_json("/series"))


def test_a_study_the_index_lacks_while_orthanc_stands_still_is_found_by_the_sweep(app_config, fresh_orthanc):
    """The initial sync pages by offset: a deletion during it can make it skip a study. Once Orthanc's
    counts stand still for two polls and the index holds fewer, one sweep lists the IDs and indexes it."""
    app = create_app(app_config(fresh_orthanc, INDEX_SWEEP_PAGE_SIZE=2))
    client = orthanc_of(fresh_orthanc)
    studies = [store_study(client, n)["ParentStudy"] for n in range(5)]
    sync_index(app)
    with app.app_context():
        with db.engine.begin() as connection:  # as if the initial sync had skipped it
            writer.delete_studies(connection, [studies[2]])
        assert studies[2] not in indexed_ids(app)
        syncer = make_syncer(app)
        assert syncer.lease.acquire()
        try:
            syncer.run_until_current()  # first poll: Orthanc's counts are new to this syncer
            assert studies[2] not in indexed_ids(app)
            syncer.run_until_current()  # second poll, same counts, fewer rows: sweep
            assert indexed_ids(app) == set(studies)
            assert indexed_ids(app, tables.series) == set(client.get_json("/series"))
            swept = syncer.calls["studies"]
            syncer.run_until_current()  # nothing lacking any more: no further listing
            assert syncer.calls["studies"] == swept
        finally:
            syncer.lease.release()


def test_the_lease_has_one_holder_and_passes_on_when_it_expires(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc))
    with app.app_context():
        first, second = Lease(db.engine, "a", seconds=0.6), Lease(db.engine, "b", seconds=0.6)
        assert first.acquire() and not second.acquire()
        assert first.acquire()  # renewal
        time.sleep(0.7)
        assert second.acquire() and not first.acquire()
        with db.engine.begin() as connection, pytest.raises(LeaseLost):
            first.confirm(connection)  # a write by the old holder is refused
        second.release()
        assert first.acquire()


def test_a_study_stored_directly_in_orthanc_is_indexed_within_5_s_by_the_app_syncer(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc, INDEX_SYNC="auto", INDEX_POLL_SECONDS=1.0))
    client = orthanc_of(fresh_orthanc)
    store_study(client, 1)
    with app.test_client() as web:
        web.get("/healthz")  # the first request starts this process's syncer
    runner = app.extensions["index_sync"]
    try:
        wait_for(lambda: len(indexed_ids(app)) == 1, 10)
        study = store_study(client, 2)["ParentStudy"]
        assert wait_for(lambda: study in indexed_ids(app), 5) < 5
        client.delete(f"/studies/{study}")
        assert wait_for(lambda: study not in indexed_ids(app), 5) < 5
        with app.app_context(), db.engine.connect() as connection:
            status = index_status(connection)
        assert status.phase == "current" and status.holder == runner.lease.holder
        listed = client_for(app).get("/patients", headers={"Accept": "application/json"})
        host = runner.lease.holder.split(":")[0]
        assert listed.get_json()["index"]["holder"] is None and f'"{host}:' not in listed.get_data(as_text=True)
    finally:
        runner.stop()


def test_orthanc_stopped_the_status_says_behind_without_its_address(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc, INDEX_BEHIND_SECONDS=2.0))
    store_study(orthanc_of(fresh_orthanc), 1)
    sync_index(app)
    with app.app_context():
        syncer = Syncer(db.engine, app.extensions["orthanc"], Lease(db.engine, "test"), Settings())
        runner = SyncThread(syncer).start()
    try:
        wait_for(runner.held.is_set, 5)
        fresh_orthanc.stop(fast=True)
        web = client_for(app)
        wait_for(lambda: web.get("/healthz").get_json()["index"]["phase"] == "behind", 10)
        health = web.get("/healthz")
        assert health.status_code == 503
        assert "holder" not in health.get_json()["index"] and "last_error" not in health.get_json()["index"]
        page = web.get("/admin/index", headers={"Accept": "application/json"})
        assert page.status_code == 200
        status = page.get_json()["index"]
        assert status["phase"] == "behind" and status["last_error"]
        assert status["studies_indexed"] == 1
        html = web.get("/admin/index").get_data(as_text=True)
        assert "The list may be behind: Orthanc has not answered for" in html
        for body in (health.get_data(as_text=True), page.get_data(as_text=True), html):
            assert fresh_orthanc.url.split("//")[1] not in body and str(fresh_orthanc.port) not in body
    finally:
        runner.stop()


def test_list_pages_say_so_while_the_initial_sync_is_running(app_config, orthanc_server, archive):
    app = create_app(app_config(orthanc_server, INDEX_PAGE_SIZE=5))
    with app.app_context():
        syncer = make_syncer(app)
        assert syncer.lease.acquire()
        for _ in range(3 + math.ceil(len(orthanc_of(orthanc_server).get_json("/series")) / 5)):
            syncer.step()  # all series pages and the first studies pages
    web = client_for(app)
    html = web.get("/studies").get_data(as_text=True)
    with app.app_context(), db.engine.connect() as connection:
        indexed = connection.scalar(select(func.count()).select_from(tables.studies))
    total = len(orthanc_of(orthanc_server).get_json("/studies"))
    assert 0 < indexed < total
    assert f"Indexing: {indexed} of {total} studies." in html
    status = web.get("/healthz").get_json()["index"]
    assert status["phase"] == "initial" and status["to_go"] == total - indexed


def test_no_page_request_does_sync_work_when_index_sync_is_off(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc))
    store_study(orthanc_of(fresh_orthanc), 1)
    web = client_for(app)
    web.get("/studies")
    web.get("/patients")
    assert "index_sync" not in app.extensions
    assert indexed_ids(app) == set()
    with app.app_context(), db.engine.connect() as connection:
        assert read_state(connection, "checkpoint") is None
    assert "no process is keeping the index current" in web.get("/patients").get_data(as_text=True)

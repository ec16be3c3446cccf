"""What a new user gets from `make run`: demo data that renders, and an Orthanc that stays up."""

from __future__ import annotations

import contextlib
import signal
import time

import pytest

from gallery import create_app
from gallery.orthanc.client import OrthancClient
from gallery.orthanc.errors import OrthancUnavailable
from scripts.demo import ORTHANC_KILLERS, load_demo_data, pydicom_test_files, warm_images
from scripts.embedded import remove_storage, start_orthanc

from ..support.web import client_for, sync_index


@pytest.fixture(scope="module")
def demo_orthanc(app_config, new_database_url, tmp_path_factory):
    """An Orthanc loaded and warmed as `make run` does on first start, supervised as there.

    Warming renders every image once: a file that kills this Orthanc version (1.12.7:
    US1_J2KR.dcm) does it then, is recorded in the database, and is never asked for again.
    """
    server = start_orthanc(tmp_path_factory.mktemp("demo") / "orthanc")
    stop_watching = server.supervise(interval=0.2)
    client = OrthancClient(server.url, server.user, server.password)
    counts = load_demo_data(client)
    assert counts["Success"] >= 250 and set(counts) <= {"Success", "AlreadyStored", "rejected"}
    database = new_database_url()
    with create_app(app_config(server, SQLALCHEMY_DATABASE_URI=database, RENDER_CRASH_WAIT=30.0)).app_context():
        warmed = warm_images()
    assert warmed["rendered"] >= 150 and not warmed["failed"], warmed
    yield server, client, database
    stop_watching.set()
    remove_storage(server)


def demo_browser(app_config, server, database):
    app = create_app(app_config(server, SQLALCHEMY_DATABASE_URI=database))
    sync_index(app)  # the lists read the index
    return client_for(app)


def test_every_demo_image_renders_without_bringing_orthanc_down(app_config, demo_orthanc):
    server, client, database = demo_orthanc
    assert not ORTHANC_KILLERS & {p.name for p in pydicom_test_files()}
    browser, pid = demo_browser(app_config, server, database), server.process.pid
    statuses = {}
    for instance in client.get_json("/instances"):
        response = browser.get(f"/instances/{instance}/thumbnail")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert server.running and server.process.pid == pid, f"Orthanc died rendering {instance}"
    assert set(statuses) == {200}  # images, or the placeholder for what Orthanc cannot render
    html = browser.get("/").get_data(as_text=True)
    assert "Brain Volunteer" in html and "Jürgen Müller" in html  # English: given name first


def test_every_demo_page_answers_without_a_server_error(app_config, demo_orthanc):
    server, client, database = demo_orthanc
    browser, pid = demo_browser(app_config, server, database), server.process.pid
    urls = ["/", "/patients", "/studies"]
    urls += [f"/patients/{p}" for p in client.get_json("/patients")]
    urls += [f"/studies/{s}" for s in client.get_json("/studies")]
    for series in client.get_json("/series"):
        urls += [f"/series/{series}", f"/series/{series}/thumbnail", f"/series/{series}/view"]
    urls += [f"/instances/{i}" for i in client.get_json("/instances")[::7]]
    failures = {}
    for url in urls:
        status = browser.get(url).status_code
        if status >= 500 or status in (401, 403):
            failures[url] = status
        assert server.running and server.process.pid == pid, f"Orthanc died on {url}"
    assert failures == {}
    assert len(urls) > 200


def test_the_embedded_orthanc_is_restarted_when_it_dies(fresh_orthanc):
    stop_watching = fresh_orthanc.supervise(interval=0.1)
    try:
        first = fresh_orthanc.process.pid
        fresh_orthanc.process.send_signal(signal.SIGKILL)
        # No breaker here: the polls below meet refused connections until the new process listens.
        client = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password, breaker_failures=10**6)
        system = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and system is None:
            time.sleep(0.1)
            if fresh_orthanc.process.pid != first:
                with contextlib.suppress(OrthancUnavailable):  # restarted, not listening yet
                    system = client.get_json("/system")
        assert fresh_orthanc.process.pid != first
        assert system is not None and system["Name"] == "OrthancGallery"
    finally:
        stop_watching.set()
    time.sleep(0.3)
    fresh_orthanc.stop(fast=True)
    time.sleep(0.5)
    assert not fresh_orthanc.running  # once told to stop watching, it stays stopped

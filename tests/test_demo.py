"""What a new user gets from `make run`: demo data that renders, and an Orthanc that stays up."""

from __future__ import annotations

import signal
import time

from gallery import create_app
from gallery.demo import ORTHANC_KILLERS, load_demo_data, pydicom_test_files
from gallery.orthanc import OrthancClient

from .conftest import app_config, client_for


def test_every_demo_image_renders_without_bringing_orthanc_down(fresh_orthanc):
    client = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
    counts = load_demo_data(client)
    assert counts["Success"] >= 250 and set(counts) <= {"Success", "AlreadyStored", "rejected"}
    assert not ORTHANC_KILLERS & {p.name for p in pydicom_test_files()}
    browser = client_for(create_app(app_config(fresh_orthanc)))
    statuses = {}
    for instance in client.get_json("/instances"):
        response = browser.get(f"/instances/{instance}/thumbnail")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert fresh_orthanc.running, f"Orthanc died rendering {instance}"
    assert set(statuses) == {200}  # images, or the placeholder for what Orthanc cannot render
    html = browser.get("/").get_data(as_text=True)
    assert "Volunteer, Brain" in html and "Müller, Jürgen" in html


def test_the_embedded_orthanc_is_restarted_when_it_dies(fresh_orthanc):
    stop_watching = fresh_orthanc.supervise(interval=0.1)
    try:
        first = fresh_orthanc.process.pid
        fresh_orthanc.process.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (fresh_orthanc.running and fresh_orthanc.process.pid != first):
            time.sleep(0.1)
        assert fresh_orthanc.process.pid != first
        client = OrthancClient(fresh_orthanc.url, fresh_orthanc.user, fresh_orthanc.password)
        assert client.get_json("/system")["Name"] == "OrthancGallery"
    finally:
        stop_watching.set()
    time.sleep(0.3)
    fresh_orthanc.stop(fast=True)
    time.sleep(0.5)
    assert not fresh_orthanc.running  # once told to stop watching, it stays stopped

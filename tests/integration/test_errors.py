"""Bad input and a failing Orthanc get clear 4xx/5xx answers, never a trace or a leak."""

from __future__ import annotations

import time

import pytest

from gallery import create_app
from gallery.access.permissions import Permission, requires

from ..support.data import Archive
from ..support.web import client_for

UNKNOWN = "00000000-00000000-00000000-00000000-00000000"


@pytest.mark.parametrize(
    "url",
    [
        "/patients/not-an-id",
        f"/patients/{UNKNOWN}",
        f"/studies/{UNKNOWN}",
        f"/series/{UNKNOWN}",
        f"/instances/{UNKNOWN}",
        f"/instances/{UNKNOWN}/file",
        "/patients/..%2F..%2Fsystem",
        "/instances/%2e%2e%2fsystem/preview",
        "/studies/00000000-00000000-00000000-00000000-0000000%2F",
        "/series/ABCDEF00-00000000-00000000-00000000-00000000",  # upper case is not Orthanc's form
        "/instances/00000000-00000000-00000000-00000000-00000000-00000000",
        f"/series/{UNKNOWN}/thumbnail",
    ],
)
def test_unknown_or_malformed_ids_are_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)
    json = client.get(url, headers={"Accept": "application/json"})
    assert json.status_code == 404 and json.get_json()["error"]["status"] == 404


def test_unknown_address_and_wrong_method(client):
    assert client.get("/no/such/page").status_code == 404
    response = client.post("/patients")
    assert response.status_code in (400, 405)  # CSRF may answer first; never a 500


def test_stopped_orthanc_is_503_within_the_timeout_then_recovers(app_config, fresh_orthanc):
    app = create_app(app_config(fresh_orthanc, ORTHANC_BREAKER_COOLDOWN=0.5))
    client = client_for(app)
    assert client.get(f"/studies/{UNKNOWN}").status_code == 404
    fresh_orthanc.stop(fast=True)
    for url in (f"/studies/{UNKNOWN}", f"/patients/{UNKNOWN}", f"/instances/{UNKNOWN}/thumbnail"):
        started = time.monotonic()
        response = client.get(url)
        assert response.status_code == 503, url
        assert time.monotonic() - started < 3
        assert "Orthanc cannot be reached" in response.get_data(as_text=True)
    error = client.get(f"/studies/{UNKNOWN}", headers={"Accept": "application/json"}).get_json()["error"]
    assert error["status"] == 503
    for url in ("/", "/patients", "/studies?q=volume"):  # lists answer from the index, Orthanc or not
        assert client.get(url).status_code == 200, url
    fresh_orthanc.start()
    time.sleep(0.5)  # the circuit breaker opened: Orthanc is asked again once its cooldown is over
    assert client.get(f"/studies/{UNKNOWN}").status_code == 404


def test_orthanc_that_never_answers_is_503_after_the_read_timeout(app_config, orthanc_server):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        app = create_app(
            app_config(
                orthanc_server, ORTHANC_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/", ORTHANC_READ_TIMEOUT=0.5
            )
        )
        started = time.monotonic()
        response = client_for(app).get(f"/studies/{UNKNOWN}")
        assert response.status_code == 503
        assert time.monotonic() - started < 3
    finally:
        silent.close()


def test_wrong_orthanc_credentials_are_502_with_a_reason(app_config, orthanc_server):
    app = create_app(app_config(orthanc_server, ORTHANC_PASSWORD="wrong"))
    response = client_for(app).get(f"/studies/{UNKNOWN}")
    assert response.status_code == 502
    assert "credentials" in response.get_data(as_text=True)


def test_unconfigured_orthanc_is_503(app_config, orthanc_server):
    app = create_app(app_config(orthanc_server, ORTHANC_URL=""))
    assert client_for(app).get(f"/studies/{UNKNOWN}").status_code == 503
    assert client_for(app).get("/").status_code == 200  # the home page reads the index alone


def test_unexpected_errors_are_a_plain_500_without_trace(app_config, orthanc_server, archive):
    app = create_app(app_config(orthanc_server, TESTING=False))

    @requires(Permission.VIEW)
    def broken():
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", "broken", broken)
    response = client_for(app).get("/broken")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body
    assert "unexpected error" in body


def test_no_orthanc_address_or_credential_reaches_any_response(client, orthanc_server, archive: Archive):
    secrets = [orthanc_server.url, f":{orthanc_server.port}", orthanc_server.password, "127.0.0.1"]
    urls = [
        "/",
        "/patients",
        "/studies",
        "/patients?q=volume",
        f"/patients/{archive.volume[0].patient}",
        f"/studies/{archive.volume[0].study}",
        f"/series/{archive.volume_series}",
        f"/instances/{archive.volume[0].instance}",
        f"/instances/{archive.volume[0].instance}/thumbnail",
        f"/instances/{archive.volume[0].instance}/preview",
        f"/series/{archive.volume_series}/thumbnail",
        f"/instances/{archive.structured_report.instance}/preview",
        f"/patients/{UNKNOWN}",
        "/studies?from=bad",
        "/upload",
    ]
    for url in urls:
        for accept in ("text/html", "application/json"):
            response = client.get(url, headers={"Accept": accept})
            blob = response.get_data() + str(response.headers).encode()
            for secret in secrets:
                assert secret.encode() not in blob, (url, secret)

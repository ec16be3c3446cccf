"""The Orthanc client against the real server: errors, prefixes, failover, timeouts."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from gallery.orthanc.client import OrthancClient
from gallery.orthanc.errors import (
    OrthancBadRequest,
    OrthancNotFound,
    OrthancUnauthorized,
    OrthancUnavailable,
    is_orthanc_id,
    require_id,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefixProxy:
    """A real reverse proxy serving Orthanc under /orthanc/, as hospitals deploy it."""

    def __init__(self, target: str) -> None:
        self.paths: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy.paths.append(self.path)
                if not self.path.startswith("/orthanc/"):
                    self.send_error(404)
                    return
                upstream = requests.get(
                    target + self.path[len("/orthanc/") :],
                    headers={"Authorization": self.headers.get("Authorization", "")},
                    timeout=10,
                )
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/orthanc/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_errors_map_to_the_exception_tree(orthanc_server, orthanc_client):
    with pytest.raises(OrthancNotFound) as not_found:
        orthanc_client.get_json("/patients/00000000-00000000-00000000-00000000-00000000")
    assert not_found.value.path.startswith("/patients/") and not_found.value.status == 404
    with pytest.raises(OrthancBadRequest) as bad:
        orthanc_client.store_instance(b"this is not DICOM")
    assert "invalid dicom" in bad.value.message.lower()
    wrong = OrthancClient(orthanc_server.url, orthanc_server.user, "wrong")
    with pytest.raises(OrthancUnauthorized):
        wrong.get_json("/system")


def test_answers_are_not_gzipped(orthanc_client):
    response = orthanc_client.request("GET", "/system")
    assert "Content-Encoding" not in response.headers


def test_a_path_prefix_in_the_url_is_kept(orthanc_server):
    proxy = PrefixProxy(orthanc_server.url)
    try:
        client = OrthancClient(proxy.url, orthanc_server.user, orthanc_server.password)
        assert client.get_json("/system")["Name"] == "OrthancGallery"
        assert proxy.paths == ["/orthanc/system"]
    finally:
        proxy.close()


def test_unreachable_nodes_are_skipped(orthanc_server):
    dead = f"http://127.0.0.1:{closed_port()}/"
    client = OrthancClient(f"{dead},{orthanc_server.url}", orthanc_server.user, orthanc_server.password, retries=0)
    for _ in range(4):  # round-robin starts on each node in turn
        assert client.get_json("/system")["Name"] == "OrthancGallery"


def test_connection_refused_is_unavailable_quickly():
    client = OrthancClient(f"http://127.0.0.1:{closed_port()}/", retries=2)
    started = time.monotonic()
    with pytest.raises(OrthancUnavailable):
        client.get_json("/system")
    assert time.monotonic() - started < 2


def test_read_timeout_is_unavailable():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        client = OrthancClient(f"http://127.0.0.1:{silent.getsockname()[1]}/", read_timeout=0.3, retries=0)
        started = time.monotonic()
        with pytest.raises(OrthancUnavailable):
            client.get_json("/system")
        assert time.monotonic() - started < 2
    finally:
        silent.close()


def test_a_read_timeout_is_not_retried():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    accepted = []

    def accept() -> None:
        while True:
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        client = OrthancClient(f"http://127.0.0.1:{silent.getsockname()[1]}/", read_timeout=0.3, retries=2)
        with pytest.raises(OrthancUnavailable):
            client.get_json("/system")
        assert len(accepted) == 1  # asked once: a busy Orthanc is not asked three times
    finally:
        silent.close()
        for connection in accepted:
            connection.close()


def test_a_connect_timeout_is_not_retried():
    """A host that never completes the handshake: a listener whose backlog is full drops new SYNs."""
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    waiting = [socket.socket() for _ in range(3)]
    for sock in waiting:
        sock.setblocking(False)
        sock.connect_ex(full.getsockname())
    try:
        client = OrthancClient(f"http://127.0.0.1:{full.getsockname()[1]}/", connect_timeout=0.5, retries=2)
        started = time.monotonic()
        with pytest.raises(OrthancUnavailable) as failed:
            client.get_json("/system")
        assert not failed.value.reached
        assert time.monotonic() - started < 1.2  # one connect timeout, not three
    finally:
        full.close()
        for sock in waiting:
            sock.close()


def test_a_get_on_a_connection_orthanc_dropped_is_sent_again(orthanc_server, monkeypatch):
    """Orthanc closes idle keep-alive connections after 1 s; the list index polls every 1 s.

    urllib3 usually notices a closed connection before reusing it; this makes it miss,
    as it does when Orthanc closes the connection while the request is on its way.
    """
    client = OrthancClient(orthanc_server.url, orthanc_server.user, orthanc_server.password)
    assert client.get_json("/system")
    monkeypatch.setattr("urllib3.connectionpool.is_connection_dropped", lambda conn: False)
    time.sleep(1.3)
    assert client.get_json("/statistics")["CountInstances"] >= 0


def test_proxy_settings_of_the_environment_do_not_apply(orthanc_server, monkeypatch):
    dead_proxy = f"http://127.0.0.1:{closed_port()}/"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = OrthancClient(orthanc_server.url, orthanc_server.user, orthanc_server.password, retries=0)
    assert client.get_json("/system")["Name"] == "OrthancGallery"


def test_observer_sees_every_call(orthanc_server):
    seen = []
    client = OrthancClient(
        orthanc_server.url,
        orthanc_server.user,
        orthanc_server.password,
        observer=lambda method, path, seconds: seen.append((method, path)),
    )
    client.get_json("/system")
    client.get_json("/statistics")
    assert seen == [("GET", "/system"), ("GET", "/statistics")]


@pytest.mark.parametrize(
    "value, valid",
    [
        ("0a1b2c3d-00000000-ffffffff-12345678-9abcdef0", True),
        ("0A1B2C3D-00000000-ffffffff-12345678-9abcdef0", False),
        ("0a1b2c3d-00000000-ffffffff-12345678", False),
        ("../system", False),
        ("0a1b2c3d-00000000-ffffffff-12345678-9abcdef0/../x", False),
        ("", False),
        ("0a1b2c3d-00000000-ffffffff-12345678-9abcdef0\n", False),
    ],
)
def test_id_validation(value, valid):
    assert is_orthanc_id(value) is valid
    if not valid:
        with pytest.raises(OrthancNotFound):
            require_id(value)

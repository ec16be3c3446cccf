"""Orthanc stopped, restarted, slow or failing, with the gallery served as in production.

A real Orthanc sits behind tests/support/faultproxy.py, which stops it answering on demand. The
time bounds below are correctness bounds (an answer within the configured timeouts, or at
once when the circuit breaker is open), generous on purpose: they are not speed benchmarks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from gallery import create_app
from scripts.embedded import EmbeddedOrthanc, free_port, remove_storage, start_orthanc
from scripts.launch import start_gunicorn

from ..support.faultproxy import FaultProxy
from ..support.web import ADMIN_PASSWORD, ADMIN_USER, client_for

#: Generous slack on top of a configured timeout, for a loaded 2-core machine.
SLACK = 2.0


def unknown_instance(n: int) -> str:
    """A page that always asks Orthanc (an unknown ID is never cached): 404 when Orthanc answers."""
    return f"/instances/{n:08x}-00000000-00000000-00000000-00000000"


@pytest.fixture
def proxy(fresh_orthanc: EmbeddedOrthanc) -> Iterator[FaultProxy]:
    proxy = FaultProxy(fresh_orthanc.port)
    yield proxy
    proxy.close()


#: The served gallery's settings: small timeouts and limits, so that every fault shows within seconds.
SETTINGS = {
    "GUNICORN_WORKERS": "1",  # breaker and bulkhead are per process: one process sees every request
    "GUNICORN_THREADS": "4",
    "ORTHANC_CONNECT_TIMEOUT": "1",
    "ORTHANC_READ_TIMEOUT": "3",
    "ORTHANC_BREAKER_FAILURES": "3",
    "ORTHANC_BREAKER_COOLDOWN": "3",
    "ORTHANC_MAX_CONCURRENT": "2",
    "ORTHANC_QUEUE_WAIT": "0.2",
}


@dataclass
class Served:
    """A real Orthanc, the fault proxy in front of it, and the gallery under gunicorn using the proxy."""

    orthanc: EmbeddedOrthanc
    proxy: FaultProxy
    url: str


@pytest.fixture(scope="module")
def served_stack(new_database_url, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("faults")
    orthanc = start_orthanc(folder / "orthanc")
    proxy = FaultProxy(orthanc.port)
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": new_database_url(),
        "GALLERY_ADMIN_USER": ADMIN_USER,
        "GALLERY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SECRET_KEY": "faults-test",
        "ORTHANC_URL": proxy.url,
        "ORTHANC_USER": orthanc.user,
        "ORTHANC_PASSWORD": orthanc.password,
        "GUNICORN_LOGLEVEL": "warning",
        **SETTINGS,
    }
    server = start_gunicorn(env, free_port(), log=folder / "gallery.log")
    try:
        yield Served(orthanc, proxy, server.url)
    finally:
        server.stop()
        proxy.close()
        orthanc.stop(fast=True)
        remove_storage(orthanc)


@pytest.fixture
def served(served_stack: Served) -> Served:
    """The served stack, with Orthanc running and the proxy passing everything through."""
    served_stack.proxy.pass_through()
    served_stack.orthanc.start()
    return served_stack


def http_session(auth: tuple[str, str] | None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.auth = auth
    session.headers["Connection"] = "close"  # each request on its own connection, as many browsers would
    return session


_admin, _anonymous = http_session((ADMIN_USER, ADMIN_PASSWORD)), http_session(None)


def timed_get(url: str, signed_in: bool = True, **headers: str) -> tuple[requests.Response, float]:
    """GET as the admin (HTTP Basic, as scripts do), or anonymously."""
    started = time.monotonic()
    response = (_admin if signed_in else _anonymous).get(url, headers=headers, timeout=30)
    return response, time.monotonic() - started


def assert_no_orthanc_address(response: requests.Response, *servers: EmbeddedOrthanc | FaultProxy) -> None:
    blob = response.content + str(response.headers).encode()
    for secret in ["127.0.0.1", *(f":{s.port}" for s in servers)]:
        assert secret.encode() not in blob, secret


def assert_unavailable(response: requests.Response, *servers: EmbeddedOrthanc | FaultProxy) -> None:
    assert response.status_code == 503, response.text[:300]
    assert "Orthanc cannot be reached" in response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 10
    assert_no_orthanc_address(response, *servers)


def test_stopped_orthanc_opens_the_breaker_and_the_gallery_recovers_without_restart(served: Served):
    orthanc, proxy = served.orthanc, served.proxy
    assert timed_get(served.url + "/patients")[0].status_code == 200
    orthanc.stop(fast=True)
    for n in range(3):  # ORTHANC_BREAKER_FAILURES: each of these waits for Orthanc, and fails
        response, seconds = timed_get(served.url + unknown_instance(n))
        assert_unavailable(response, orthanc, proxy)
        assert seconds < 1 + SLACK  # the connect timeout
    connections = proxy.connections
    opened = time.monotonic()
    for n in range(3, 13):  # the breaker is open: answered at once, without a connection to Orthanc
        response, seconds = timed_get(served.url + unknown_instance(n), Accept="application/json")
        assert response.status_code == 503 and response.json()["error"]["status"] == 503
        assert seconds < SLACK
        assert_no_orthanc_address(response, orthanc, proxy)
    assert proxy.connections == connections
    orthanc.start()
    response, _ = timed_get(served.url + unknown_instance(13))
    assert time.monotonic() - opened < 3  # so still within the cooldown: Orthanc is back, but not asked yet
    assert response.status_code == 503 and proxy.connections == connections
    time.sleep(max(0.0, 3.1 - (time.monotonic() - opened)))  # ORTHANC_BREAKER_COOLDOWN
    response, _ = timed_get(served.url + unknown_instance(14))
    assert response.status_code == 404 and "Not found" in response.text  # Orthanc answered: the trial closed it
    assert proxy.connections > connections
    for n in range(15, 20):
        assert timed_get(served.url + unknown_instance(n))[0].status_code == 404
    assert timed_get(served.url + "/patients")[0].status_code == 200


def test_slow_orthanc_times_out_and_leaves_threads_for_pages_that_need_no_orthanc(served: Served):
    orthanc, proxy = served.orthanc, served.proxy
    assert timed_get(served.url + "/login", signed_in=False)[0].status_code == 200  # warm: loads templates
    proxy.slow(20)
    slow: list[tuple[requests.Response, float]] = []

    def ask(n: int) -> None:
        slow.append(timed_get(served.url + unknown_instance(100 + n)))

    askers = [threading.Thread(target=ask, args=(n,)) for n in range(8)]  # twice the worker's 4 threads
    for asker in askers:
        asker.start()
    time.sleep(0.3)
    for url, status in (("/static/css/gallery.css", 200), ("/login", 200), ("/healthz", 503)):
        response, seconds = timed_get(served.url + url, signed_in=False)
        assert response.status_code == status, url
        # Without the bulkhead it waits behind two rounds of slow requests on the 4 threads: 2 × 3 s.
        assert seconds < 2.5, (url, seconds)
        assert_no_orthanc_address(response, orthanc, proxy)
    for asker in askers:
        asker.join()
    assert len(slow) == 8
    for response, seconds in slow:
        assert_unavailable(response, orthanc, proxy)
        assert seconds < 3 + SLACK  # the read timeout, not the 20 s Orthanc takes
    waited = [seconds for _, seconds in slow if seconds >= 3]
    assert 1 <= len(waited) <= 4  # the calls let through waited for the read timeout; the rest were turned away
    proxy.pass_through()
    response, seconds = timed_get(served.url + unknown_instance(199))
    assert response.status_code == 404 and seconds < 1 + SLACK


def test_orthanc_answering_500_is_a_502_and_does_not_open_the_breaker(app_config, fresh_orthanc, proxy):
    app = create_app(
        app_config(fresh_orthanc, ORTHANC_URL=proxy.url, ORTHANC_BREAKER_FAILURES=2, ORTHANC_BREAKER_COOLDOWN=30)
    )
    client = client_for(app)
    proxy.fail()
    for n in range(6):
        response = client.get(unknown_instance(n))
        assert response.status_code == 502
        body = response.get_data(as_text=True)
        assert "Orthanc could not complete the request" in body
        assert "127.0.0.1" not in body and str(proxy.port) not in body + str(response.headers)
    assert len(proxy.requests) == 6  # every request reached Orthanc's side: Orthanc is alive, only failing
    proxy.pass_through()
    assert client.get(unknown_instance(7)).status_code == 404


def test_breaker_is_per_node_so_failover_goes_on(app_config, fresh_orthanc):
    node_a, node_b = FaultProxy(fresh_orthanc.port), FaultProxy(fresh_orthanc.port)
    try:
        app = create_app(
            app_config(
                fresh_orthanc,
                ORTHANC_URL=f"{node_a.url},{node_b.url}",
                ORTHANC_BREAKER_FAILURES=3,
                ORTHANC_BREAKER_COOLDOWN=1,
            )
        )
        client = client_for(app)
        node_a.drop()
        for n in range(8):  # node A fails, node B answers every request
            assert client.get(unknown_instance(n)).status_code == 404
        tried_a = node_a.connections
        for n in range(8, 16):  # A's breaker is open: A is not even tried
            assert client.get(unknown_instance(n)).status_code == 404
        assert node_a.connections == tried_a
        node_a.pass_through()
        asked_a = len(node_a.requests)
        time.sleep(1.1)
        for n in range(16, 24):
            assert client.get(unknown_instance(n)).status_code == 404
        assert len(node_a.requests) > asked_a  # after the cooldown, A is back in the round-robin
    finally:
        node_a.close()
        node_b.close()

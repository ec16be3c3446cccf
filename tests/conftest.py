"""Fixtures: a real Orthanc per session (plus disposable ones), the app, clients, a browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from gallery import create_app
from gallery.embedded import EmbeddedOrthanc, remove_storage, start_orthanc
from gallery.orthanc import OrthancClient

from .data import Archive, load_archive

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedOrthanc]:
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    remove_storage(server)


@pytest.fixture(scope="session")
def orthanc_client(orthanc_server: EmbeddedOrthanc) -> OrthancClient:
    return OrthancClient(orthanc_server.url, orthanc_server.user, orthanc_server.password)


@pytest.fixture(scope="session")
def archive(orthanc_client: OrthancClient) -> Archive:
    return load_archive(orthanc_client)


def app_config(server: EmbeddedOrthanc, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "ORTHANC_URL": server.url,
        "ORTHANC_USER": server.user,
        "ORTHANC_PASSWORD": server.password,
        "CACHE_TYPE": "SimpleCache",
        "INDEX_POLL_SECONDS": 0,
        "ORTHANC_CONNECT_TIMEOUT": 2.0,
        "ORTHANC_READ_TIMEOUT": 10.0,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app(orthanc_server: EmbeddedOrthanc, archive: Archive):
    return create_app(app_config(orthanc_server))


def client_for(app):
    """A test client for `app` with whatever a browsing user needs (a session, once accounts exist)."""
    return app.test_client()


@pytest.fixture
def client(app):
    return client_for(app)


@pytest.fixture
def fresh_orthanc(tmp_path: Path) -> Iterator[EmbeddedOrthanc]:
    """An empty Orthanc of its own, for tests that upload, delete or stop it."""
    server = start_orthanc(tmp_path / "orthanc")
    yield server
    remove_storage(server)


class LiveServer:
    """The app served over real HTTP on a free loopback port, in a thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()

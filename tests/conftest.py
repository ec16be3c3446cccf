"""Fixtures: a real Orthanc per session (plus disposable ones), the app, clients, a browser."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from gallery import create_app
from gallery.access.users import create_user, find_user
from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc, remove_storage, start_orthanc

from .data import Archive, load_archive
from .indexing import fill_index

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


ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-password-1"
_DATABASES = tempfile.mkdtemp(prefix="gallery-test-db-")
atexit.register(shutil.rmtree, _DATABASES, ignore_errors=True)


def new_database_url() -> str:
    """A fresh SQLite file: every app in the tests gets its own real database."""
    handle, path = tempfile.mkstemp(suffix=".db", dir=_DATABASES)
    os.close(handle)
    return f"sqlite:///{path}"


def app_config(server: EmbeddedOrthanc, **overrides: Any) -> dict[str, Any]:
    config = {
        "SQLALCHEMY_DATABASE_URI": new_database_url(),
        "GALLERY_ADMIN_USER": ADMIN_USER,
        "GALLERY_ADMIN_PASSWORD": ADMIN_PASSWORD,
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
def app(orthanc_server: EmbeddedOrthanc, orthanc_client: OrthancClient, archive: Archive):
    app = create_app(app_config(orthanc_server))
    fill_index(app, orthanc_client)  # the lists read the index: complete it before the test reads them
    return app


def add_user(app, username: str, role: str, password: str = "user-password-1") -> None:
    with app.app_context():
        create_user(username, password, role)


def client_for(app, username: str = ADMIN_USER):
    """A test client signed in as `username` (the admin by default) through its session."""
    client = app.test_client()
    with app.app_context():
        user_id = find_user(username).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def orthanc_calls(response) -> int:
    """Orthanc calls the gallery made for a response, from its Server-Timing header (0 if none)."""
    match = re.search(r'desc="(\d+) calls"', response.headers.get("Server-Timing", ""))
    return int(match.group(1)) if match else 0


def csrf_token(client) -> str:
    """The CSRF token of the client's session, as every page carries it in a meta tag."""
    html = client.get("/no-such-page").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


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


def sign_in(page, base_url: str, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")


@pytest.fixture
def anonymous_page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def page(anonymous_page, live_server) -> Any:
    """A browser page signed in as the admin on `live_server`."""
    sign_in(anonymous_page, live_server.url)
    return anonymous_page

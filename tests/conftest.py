"""Shared fixtures. Nothing here starts at import or automatically: an Orthanc starts only for a test
that asks for one, so `pytest tests/unit` runs where Orthanc is not installed.

Real Orthanc servers (one per session, loaded once with the test archive, plus disposable empty ones),
the app over them with its own SQLite file, clients and a live server. Stateless helpers (signing in,
tokens, call counts) are plain functions in tests/support/web.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gallery import create_app
from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc, remove_storage, start_orthanc

from .support.data import Archive, load_archive
from .support.web import ADMIN_PASSWORD, ADMIN_USER, LiveServer, client_for, sync_index


@pytest.fixture(scope="session")
def new_database_url(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], str]:
    """A factory of fresh SQLite files: every app in the tests gets its own real database."""
    folder = tmp_path_factory.mktemp("databases")
    count = iter(range(1_000_000))

    def new() -> str:
        return f"sqlite:///{folder / f'gallery-{next(count)}.db'}"

    return new


@pytest.fixture(scope="session")
def app_config(new_database_url: Callable[[], str]) -> Callable[..., dict[str, Any]]:
    """A factory of test configurations over an Orthanc: `app_config(server, **overrides)`."""

    def config_for(server: EmbeddedOrthanc, **overrides: Any) -> dict[str, Any]:
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
            # No background syncer per test app: fixtures index synchronously (sync_index).
            "INDEX_SYNC": "off",
            "ORTHANC_CONNECT_TIMEOUT": 2.0,
            "ORTHANC_READ_TIMEOUT": 10.0,
        }
        config.update(overrides)
        return config

    return config_for


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


@pytest.fixture
def app(orthanc_server: EmbeddedOrthanc, archive: Archive, app_config):
    app = create_app(app_config(orthanc_server))
    sync_index(app)
    return app


@pytest.fixture
def client(app):
    return client_for(app)


@pytest.fixture
def fresh_orthanc(tmp_path: Path) -> Iterator[EmbeddedOrthanc]:
    """An empty Orthanc of its own, for tests that upload, delete or stop it."""
    server = start_orthanc(tmp_path / "orthanc")
    yield server
    remove_storage(server)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


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
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

"""Both database engines for tests that need no Orthanc: a fresh SQLite file or PostgreSQL database each.

`engine_url` is parametrised over "sqlite" and "postgresql"; PostgreSQL is Debian's, started once
per session by tests/services.py (a missing PostgreSQL fails these tests: it is a real part).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from gallery import create_app

from .conftest import new_database_url
from .services import PostgreSQL, start_postgresql

_names = itertools.count()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQL]:
    server = start_postgresql()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request) -> str:
    if request.param == "sqlite":
        return new_database_url()
    server = request.getfixturevalue("postgresql_server")
    return server.create_database(f"gallery_{next(_names)}")


def app_without_orthanc(url: str):
    """An app on this database with no Orthanc at all: whatever it shows comes from the database."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "ORTHANC_URL": "",
            "CACHE_TYPE": "SimpleCache",
            "GALLERY_ADMIN_USER": "",
        }
    )

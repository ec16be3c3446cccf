"""Integration fixtures: Debian's PostgreSQL for the database tests that tests/unit runs on SQLite."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from ..support.services import PostgreSQL, start_postgresql

_names = itertools.count()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQL]:
    """Debian's PostgreSQL, once per session (a missing PostgreSQL fails these tests: it is a real part)."""
    server = start_postgresql()
    yield server
    server.stop()


@pytest.fixture(params=["postgresql"])
def engine_url(request, postgresql_server: PostgreSQL) -> str:
    """A fresh PostgreSQL database (tests/unit runs the same tests on SQLite)."""
    return postgresql_server.create_database(f"gallery_{next(_names)}")

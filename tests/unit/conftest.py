"""Unit fixtures: nothing here needs Orthanc, a browser, PostgreSQL or Redis."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite"])
def engine_url(request, new_database_url) -> str:
    """A fresh SQLite database (tests/integration runs the same tests on PostgreSQL)."""
    return new_database_url()

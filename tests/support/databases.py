"""An app on a database alone, for tests of what the gallery reads from its database without Orthanc.

The `engine_url` fixture names the database: SQLite in tests/unit/conftest.py, PostgreSQL (Debian's,
started once per session by tests/support/services.py) in tests/integration/conftest.py; the
PostgreSQL tests are the SQLite ones, collected again there.
"""

from __future__ import annotations

from gallery import create_app


def app_without_orthanc(url: str, **overrides: object):
    """An app on this database with no Orthanc at all: whatever it shows comes from the database."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "ORTHANC_URL": "",
            "CACHE_TYPE": "SimpleCache",
            "GALLERY_ADMIN_USER": "",
            **overrides,
        }
    )

"""The schema-migration tests of tests/unit/test_migrations.py, run on PostgreSQL.

They are collected again here, so this folder's `engine_url` fixture (Debian's PostgreSQL) applies
instead of tests/unit's SQLite one: one test body, both engines.
"""

from ..unit.test_migrations import *  # noqa: F403 - the same tests and fixtures, collected again

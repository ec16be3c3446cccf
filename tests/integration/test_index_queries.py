"""The archive index's read-side tests of tests/unit/test_index_queries.py, run on PostgreSQL.

They are collected again here, so this folder's `engine_url` fixture (Debian's PostgreSQL) applies
instead of tests/unit's SQLite one: one test body, both engines.
"""

from ..unit.test_index_queries import *  # noqa: F403 - the same tests and fixtures, collected again

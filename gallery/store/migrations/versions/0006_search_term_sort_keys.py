"""Search terms carry their row's sort key, so a search counts and pages from one index range.

A 1–2 character or wildcard search found its rows' IDs in index_search_terms, then looked up every
matching row for its sort key, once to count and once to sort: at a million studies "서연" matches
~42,000 studies, ~300 ms on SQLite. With the sort key beside each term, the count and the page's
IDs come from a covering index over (kind, term) alone, and only the page's 50 rows are read.

- index_search_terms.sort_key: the patient's or study's sort_key (the writer rewrites a row's terms
  whenever it rewrites the row, so they never differ); terms of rows that no longer exist (left by
  `flask index reset` before this revision) are deleted.
- ix_index_studies_odd_date: a partial index of the studies whose date is not ISO-shaped (empty in
  practice), so a date filter knows in one probe that a sort_key range is exactly the date range.
- SQLite: ix_index_search_terms_sorted (kind, term, ref, sort_key), covering.
- PostgreSQL: ix_index_search_terms_pattern becomes (kind, term text_pattern_ops) INCLUDE (ref, sort_key),
  so LIKE 'prefix%' is an index-only scan whatever the database's collation.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ODD_DATE = "length(date) NOT IN (0, 10)"
LEVELS = (("index_patients", ("pl", "pw")), ("index_studies", ("sl", "sw")))


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("index_search_terms", sa.Column("sort_key", sa.String(length=480), nullable=False, server_default=""))
    if not postgresql:  # every row is rewritten: with SQLite's default 2 MB cache each update spilled a page
        op.execute("PRAGMA cache_size = -1000000")  # up to 1 GB, for this connection while it lives
    if postgresql:  # every row is rewritten: rebuilding the indexes once afterwards is much faster
        op.execute("DROP INDEX IF EXISTS ix_index_search_terms_pattern")
        op.drop_index("ix_index_search_terms_ref", table_name="index_search_terms")
        op.drop_constraint("index_search_terms_pkey", "index_search_terms", type_="primary")
    for table, kinds in LEVELS:
        listed = ", ".join(f"'{k}'" for k in kinds)
        op.execute(
            f"DELETE FROM index_search_terms WHERE kind IN ({listed})"
            f" AND NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.id = index_search_terms.ref)"
        )
        if postgresql:  # a hash join
            op.execute(
                f"UPDATE index_search_terms SET sort_key = {table}.sort_key FROM {table}"
                f" WHERE {table}.id = index_search_terms.ref AND index_search_terms.kind IN ({listed})"
            )
        else:  # SQLite's UPDATE FROM spilled a temporary table (70 GB written at 1,000,000 studies):
            # read the terms in table order (`+kind`: not through an index, which jumps around the
            # table) and probe the row's primary key for each
            op.execute(
                f"UPDATE index_search_terms SET sort_key = (SELECT sort_key FROM {table}"
                f" WHERE {table}.id = index_search_terms.ref) WHERE +kind IN ({listed})"
            )
    odd = sa.text(ODD_DATE)
    op.create_index("ix_index_studies_odd_date", "index_studies", ["date"], sqlite_where=odd, postgresql_where=odd)
    if postgresql:
        op.create_primary_key("index_search_terms_pkey", "index_search_terms", ["kind", "term", "ref"])
        op.create_index("ix_index_search_terms_ref", "index_search_terms", ["ref"])
        op.execute(
            "CREATE INDEX ix_index_search_terms_pattern ON index_search_terms"
            " (kind, term text_pattern_ops) INCLUDE (ref, sort_key)"
        )
    else:
        op.execute("CREATE INDEX ix_index_search_terms_sorted ON index_search_terms (kind, term, ref, sort_key)")
        op.execute("PRAGMA cache_size = -2000")  # SQLite's default again: the connection goes on serving pages


def downgrade() -> None:
    op.drop_index("ix_index_studies_odd_date", table_name="index_studies")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_index_search_terms_pattern")
        op.execute("CREATE INDEX ix_index_search_terms_pattern ON index_search_terms (kind, term text_pattern_ops)")
    else:
        op.execute("DROP INDEX IF EXISTS ix_index_search_terms_sorted")
    with op.batch_alter_table("index_search_terms") as batch:
        batch.drop_column("sort_key")

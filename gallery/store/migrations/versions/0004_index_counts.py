"""Row counts of the archive index kept by triggers: totals and statistics without count(*).

An unfiltered list's total and the home page's statistics counted every row (`count(*)`): about
160 ms at 1,000,000 studies and 3,000,000 series. `index_counts` holds one row per counted table,
kept exact by AFTER INSERT/DELETE triggers in the writer's own transaction (an upsert that updates
fires no INSERT trigger and is not in the INSERT transition table), so every write path — syncer,
uploads, deletions, COPY — keeps it right. On PostgreSQL every writing transaction locks the counter
row until it commits, so index writers take turns (they are few: the syncer and uploads).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COUNTED = ("index_patients", "index_studies", "index_series")


def upgrade() -> None:
    op.create_table(
        "index_counts",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    for table in COUNTED:
        op.execute(f"INSERT INTO index_counts (name, rows) SELECT '{table}', count(*) FROM {table}")
    if op.get_bind().dialect.name == "postgresql":
        # once per statement, over its transition table: a row trigger would update the one counter row
        # once per row, and PostgreSQL slows down quadratically on many updates of one row in a transaction
        for event, rows, sign in (("insert", "added", "+"), ("delete", "removed", "-")):
            op.execute(
                f"CREATE FUNCTION index_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"UPDATE index_counts SET rows = rows {sign} (SELECT count(*) FROM {rows}) "
                f"WHERE name = TG_TABLE_NAME AND EXISTS (SELECT 1 FROM {rows}); RETURN NULL; END $$"
            )
            for table in COUNTED:
                transition = "NEW" if event == "insert" else "OLD"
                op.execute(
                    f"CREATE TRIGGER {table}_count_{event} AFTER {event.upper()} ON {table} "
                    f"REFERENCING {transition} TABLE AS {rows} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION index_count_{event}()"
                )
        return
    for table in COUNTED:
        for event, delta in (("insert", "+ 1"), ("delete", "- 1")):
            op.execute(
                f"CREATE TRIGGER {table}_count_{event} AFTER {event.upper()} ON {table} BEGIN "
                f"UPDATE index_counts SET rows = rows {delta} WHERE name = '{table}'; END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in COUNTED:
        for event in ("insert", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_count_{event}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS index_count_insert()")
        op.execute("DROP FUNCTION IF EXISTS index_count_delete()")
    op.drop_table("index_counts")

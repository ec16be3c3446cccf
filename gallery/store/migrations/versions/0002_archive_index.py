"""The archive index: patients, studies, series, the modality filter, search, the syncer's state and lease.

Search (archive/index/queries.py): contains-search of 3+ characters through trigrams (SQLite FTS5
`tokenize='trigram'` external-content tables kept by triggers; PostgreSQL pg_trgm GIN indexes), and
index_search_terms for wildcards and 1–2 character queries (B-tree prefix ranges).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 44
SEARCHED = ("index_patients", "index_studies")


def upgrade() -> None:
    op.create_table(
        "index_patients",
        sa.Column("id", sa.String(length=ID), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("name_dicom", sa.String(length=400), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.String(length=10), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("sort_key", sa.String(length=480), nullable=False),
        sa.Column("study_count", sa.Integer(), nullable=False),
        sa.Column("latest_study_date", sa.String(length=10), nullable=False),
        sa.Column("thumbnail", sa.String(length=ID), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_patients_sort", "index_patients", ["sort_key", "id"])

    op.create_table(
        "index_studies",
        sa.Column("id", sa.String(length=ID), nullable=False),
        sa.Column("patient", sa.String(length=ID), nullable=False),
        sa.Column("patient_name", sa.String(length=400), nullable=False),
        sa.Column("patient_name_dicom", sa.String(length=400), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_birth_date", sa.String(length=10), nullable=False),
        sa.Column("patient_sex", sa.String(length=16), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("time", sa.String(length=8), nullable=False),
        sa.Column("sort_key", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(length=400), nullable=False),
        sa.Column("accession", sa.String(length=64), nullable=False),
        sa.Column("modalities", sa.String(length=200), nullable=False),
        sa.Column("series_count", sa.Integer(), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("thumbnail", sa.String(length=ID), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("sweep", sa.Integer(), nullable=False),
        sa.Column("indexed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_studies_patient", "index_studies", ["patient"])
    op.create_index("ix_index_studies_sort", "index_studies", ["sort_key", "id"])
    op.create_index("ix_index_studies_date", "index_studies", ["date", "sort_key"])

    op.create_table(
        "index_study_modalities",
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("sort_key", sa.String(length=80), nullable=False),
        sa.Column("study", sa.String(length=ID), nullable=False),
        sa.PrimaryKeyConstraint("modality", "sort_key", "study"),
    )
    op.create_index("ix_index_study_modalities_study", "index_study_modalities", ["study"])

    op.create_table(
        "index_series",
        sa.Column("id", sa.String(length=ID), nullable=False),
        sa.Column("study", sa.String(length=ID), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("middle_instance", sa.String(length=ID), nullable=True),
        sa.Column("viewable", sa.Boolean(), nullable=False),
        sa.Column("sweep", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_series_study", "index_series", ["study"])

    op.create_table(
        "index_search_terms",
        sa.Column("kind", sa.String(length=2), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("ref", sa.String(length=ID), nullable=False),
        sa.PrimaryKeyConstraint("kind", "term", "ref"),
    )
    op.create_index("ix_index_search_terms_ref", "index_search_terms", ["ref"])

    op.create_table(
        "index_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "index_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("acquired_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in SEARCHED:
            _sqlite_trigram_table(table)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in SEARCHED:
            op.execute(f"CREATE INDEX ix_{table}_search_trgm ON {table} USING gin (search_text gin_trgm_ops)")
        # LIKE 'prefix%' uses a B-tree only with pattern operators when the database collation is not C
        op.execute("CREATE INDEX ix_index_search_terms_pattern ON index_search_terms (kind, term text_pattern_ops)")


def _sqlite_trigram_table(table: str) -> None:
    """An FTS5 trigram index over `table.search_text` (external content: the text is stored once)."""
    fts = f"{table}_fts"
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', tokenize='trigram')")
    op.execute(
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} "
        f"WHEN old.search_text IS NOT new.search_text BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in SEARCHED:
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")  # its triggers go with the content tables
    for table in (
        "index_lease",
        "index_state",
        "index_search_terms",
        "index_series",
        "index_study_modalities",
        "index_studies",
        "index_patients",
    ):
        op.drop_table(table)

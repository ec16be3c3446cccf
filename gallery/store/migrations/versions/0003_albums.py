"""Albums: named sets of studies (issue 15); and render_failures, which the models had without a migration.

render_failures is created only where it is missing: galleries that ran before migrations
created it with create_all.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "render_failures" not in sa.inspect(op.get_bind()).get_table_names():
        _create_render_failures()
    op.create_table(
        "albums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_albums_created_by", "albums", ["created_by"])
    op.create_table(
        "album_studies",
        sa.Column("album_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=44), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["album_id"], ["albums.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("album_id", "study_id"),
    )
    op.create_index("ix_album_studies_study_id", "album_studies", ["study_id"])


def _create_render_failures() -> None:
    op.create_table(
        "render_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(length=44), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("patient", sa.String(length=44), nullable=False),
        sa.Column("patient_name", sa.String(length=200), nullable=False),
        sa.Column("patient_code", sa.String(length=64), nullable=False),
        sa.Column("study", sa.String(length=44), nullable=False),
        sa.Column("study_description", sa.String(length=200), nullable=False),
        sa.Column("series", sa.String(length=44), nullable=False),
        sa.Column("series_description", sa.String(length=200), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance", "frame"),
    )
    op.create_index("ix_render_failures_instance", "render_failures", ["instance"])


def downgrade() -> None:
    op.drop_index("ix_album_studies_study_id", table_name="album_studies")
    op.drop_table("album_studies")
    op.drop_index("ix_albums_created_by", table_name="albums")
    op.drop_table("albums")

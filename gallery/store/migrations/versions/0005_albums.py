"""Albums: named sets of studies (issue 15).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_index("ix_album_studies_study_id", table_name="album_studies")
    op.drop_table("album_studies")
    op.drop_index("ix_albums_created_by", table_name="albums")
    op.drop_table("albums")

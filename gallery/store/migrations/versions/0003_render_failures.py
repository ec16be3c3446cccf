"""Images that made Orthanc fail (imaging/failures.py): one row per instance and frame.

Galleries of the week before Alembic created this table with create_all, so it is created only
where it is missing.

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
    if sa.inspect(op.get_bind()).has_table("render_failures"):
        return
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
    op.drop_table("render_failures")

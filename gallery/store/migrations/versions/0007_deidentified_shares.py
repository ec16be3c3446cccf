"""De-identified share links: the link's date shift, UID secret and burned-in choice, and its pseudonyms (issue 15).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs with constant defaults (SQLite and PostgreSQL alike): existing links stay as they were.
    op.add_column("share_links", sa.Column("deidentified", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("share_links", sa.Column("day_shift", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("share_links", sa.Column("secret", sa.String(length=64), nullable=False, server_default=""))
    op.add_column(
        "share_links", sa.Column("include_burned_in", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "share_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("share_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["share_id"], ["share_links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("share_id", "subject_key"),
        sa.UniqueConstraint("share_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("share_subjects")
    with op.batch_alter_table("share_links") as table:
        for column in ("include_burned_in", "secret", "day_shift", "deidentified"):
            table.drop_column(column)

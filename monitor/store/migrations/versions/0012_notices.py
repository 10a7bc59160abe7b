"""Incidents and maintenance written by people (issue 16): ``notices`` and ``notice_updates``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("impact", sa.String(16), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("monitoring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notices_kind_created_at", "notices", ["kind", "created_at"])
    op.create_table(
        "notice_updates",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("notice_id", _ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notice_updates_notice_id", "notice_updates", ["notice_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notice_updates_notice_id", table_name="notice_updates")
    op.drop_table("notice_updates")
    op.drop_index("ix_notices_kind_created_at", table_name="notices")
    op.drop_table("notices")

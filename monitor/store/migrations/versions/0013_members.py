"""Replicas of a region share its checks: members with a heartbeat, and run claims (issue 17).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("region", sa.String(100), primary_key=True),
        sa.Column("member", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "run_claims",
        sa.Column("region", sa.String(100), primary_key=True),
        sa.Column("check", sa.String(200), primary_key=True),
        sa.Column("due_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("member", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
    )
    op.create_index("ix_run_claims_due_at", "run_claims", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_run_claims_due_at", table_name="run_claims")
    op.drop_table("run_claims")
    op.drop_table("members")

"""latest_results, result_stats (hourly and daily rollups) and incidents, backfilled from results.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.rollups import rebuild_statements

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "latest_results",
        sa.Column("check", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("result_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("check", "region"),
    )
    op.create_table(
        "result_stats",
        sa.Column("check", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errored", sa.Integer(), nullable=False),
        sa.Column("sum_ms", sa.Float(), nullable=False),
        sa.Column("max_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("check", "period", "bucket_start", "region"),
    )
    op.create_index(
        "ix_result_stats_period_bucket_start", "result_stats", ["period", "bucket_start"]
    )
    op.create_table(
        "incidents",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("check", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_incidents_open",
        "incidents",
        ["check", "region"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_incidents_started_at", "incidents", ["started_at"])
    for sql in rebuild_statements(op.get_context().dialect.name):
        op.execute(sa.text(sql))


def downgrade() -> None:
    op.drop_index("ix_incidents_started_at", table_name="incidents")
    op.drop_index("uq_incidents_open", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_result_stats_period_bucket_start", table_name="result_stats")
    op.drop_table("result_stats")
    op.drop_table("latest_results")

"""The run's wall time and waiting time beside the probe time (issue 11).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("wall_ms", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("wait_ms", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("wait_ms")
        batch.drop_column("wall_ms")

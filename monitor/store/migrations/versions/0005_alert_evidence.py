"""K-of-n evidence, recovery and flapping state on alert_states (issue 11).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # state gains "recovering" and notified "flapping": both fit the String(16) columns.
    with op.batch_alter_table("alert_states") as batch:
        batch.add_column(sa.Column("outage_started_at", _TS, nullable=True))
        batch.add_column(sa.Column("outage_ended_at", _TS, nullable=True))
        batch.add_column(sa.Column("flips", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("flapping_since", _TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_states") as batch:
        batch.drop_column("flapping_since")
        batch.drop_column("flips")
        batch.drop_column("outage_ended_at")
        batch.drop_column("outage_started_at")

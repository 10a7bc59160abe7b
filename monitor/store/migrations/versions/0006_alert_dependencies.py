"""Inhibition by dependencies and region control checks (issue 11).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# An ``inhibited`` alert (its check depends on one whose alert is active, or its region's
# control checks fail) names the alert holding it.  ``suspect`` results need no DDL: the
# status column is free text and the rollups tally them with ``errored``.
def upgrade() -> None:
    with op.batch_alter_table("alert_states") as batch:
        batch.add_column(sa.Column("inhibited_by", sa.String(400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_states") as batch:
        batch.drop_column("inhibited_by")

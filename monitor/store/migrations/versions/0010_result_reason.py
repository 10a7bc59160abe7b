"""The failure reason of a ``fail`` or ``error`` result (issue 13, README "Failure reasons").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_reason() -> bool:
    columns = sa.inspect(op.get_bind()).get_columns("results")
    return any(column["name"] == "reason" for column in columns)


def upgrade() -> None:
    # Idempotent: a database whose tables were created from the current schema has it.
    if _has_reason():
        return
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))


def downgrade() -> None:
    if not _has_reason():
        return
    with op.batch_alter_table("results") as batch:
        batch.drop_column("reason")

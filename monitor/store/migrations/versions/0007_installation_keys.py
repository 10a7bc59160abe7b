"""Installation id, outbox owners and claims by owner (issue 12).

``installation`` holds one row: a random id made when the schema is created, part of
every notification key, so two databases never make the same key.  ``outbox_owners``
holds each deliverer's heartbeat; ``outbox.claimed_by`` names the owner of a claim, so
a claim whose owner stopped heartbeating (or that its restarted owner finds again) is
taken back at once instead of after the lease.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("installation_id", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_installation_single_row"),
    )
    op.bulk_insert(
        installation,
        [{"id": 1, "installation_id": uuid.uuid4().hex, "created_at": datetime.now(UTC)}],
    )
    op.create_table(
        "outbox_owners",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("heartbeat_at", _TS, nullable=False),
    )
    op.add_column("outbox", sa.Column("claimed_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("outbox_owners")
    op.drop_table("installation")

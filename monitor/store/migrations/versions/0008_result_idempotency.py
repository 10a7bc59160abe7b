"""Results unique per run, check and region so a replayed spool never duplicates (issue 12).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.rollups import rebuild_statements

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Earlier versions could store one run twice (a retried write whose first attempt had
# committed).  The first copy (lowest id) is kept; the rollups are rebuilt only when a
# copy was deleted, so a clean database keeps rollups whose results were pruned.
_DUPLICATES = (
    "DELETE FROM results WHERE id NOT IN "
    '(SELECT min(id) FROM results GROUP BY run_id, "check", region)'
)


def upgrade() -> None:
    bind = op.get_bind()
    deleted = bind.execute(sa.text(_DUPLICATES)).rowcount
    if deleted:
        for sql in rebuild_statements(bind.dialect.name):
            bind.execute(sa.text(sql))
    op.create_index(
        "ux_results_run_check_region", "results", ["run_id", "check", "region"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_results_run_check_region", table_name="results")

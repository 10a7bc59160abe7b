"""Rewrite ``migrations/sqlite_head.sql`` after adding a migration (and bumping
``HEAD_REVISION``): ``uv run python -m monitor.store.rewrite_snapshot``.

It runs every migration through alembic on a new SQLite file and writes the statements
they leave (:mod:`monitor.store.fresh`); ``tests/store/test_fresh.py`` fails until then.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from monitor.store.engine import create_engine
from monitor.store.fresh import SNAPSHOT, render, schema_of
from monitor.store.migrate import HEAD_REVISION, migrate_with_alembic


def main() -> None:
    """Rewrite the snapshot from what the alembic migrations leave in a new database."""

    async def run(path: Path) -> list[str]:
        engine = create_engine(sa.make_url(f"sqlite+aiosqlite:///{path}"))
        try:
            await migrate_with_alembic(engine)
            async with engine.connect() as connection:
                return await connection.run_sync(schema_of)
        finally:
            await engine.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        statements = asyncio.run(run(Path(tmp) / "head.db"))
    SNAPSHOT.write_text(render(HEAD_REVISION, statements), encoding="utf-8")
    sys.stdout.write(f"wrote {SNAPSHOT}\n")


if __name__ == "__main__":
    main()

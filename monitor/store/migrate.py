"""Run the alembic migrations in ``monitor/store/migrations`` from code, no alembic.ini."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.engine import SQLITE_IMMEDIATE
from monitor.store.fresh import build

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "monitor.store:migrations"
# The newest revision in ``migrations/versions`` (a test holds it to alembic's head): a
# database already there opens without loading alembic and its migration scripts
# (~0.3 s of a ``run --once``).  Bump it with every new migration, and rewrite the
# snapshot a new SQLite database is made from: ``python -m monitor.store.rewrite_snapshot``.
HEAD_REVISION = "0013"
VERSION_TABLE = "alembic_version"

# Any fixed number: every instance that migrates one PostgreSQL takes this lock,
# so regions starting together migrate one after the other.
_PG_MIGRATION_LOCK = 0x736D6F6B  # "smok"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` for our migrations; ``env.py`` uses ``connection`` when given."""
    # Alembic loads when a store opens, not with the config (`validate` checks storage.url).
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` in one transaction; a no-op when already there.

    An empty SQLite database is brought to the head revision from the schema snapshot
    (:mod:`monitor.store.fresh`), without alembic."""
    if revision == "head" and await _at_head(engine):
        return
    await _migrate(engine, revision, snapshot=revision == "head")


async def migrate_with_alembic(engine: AsyncEngine, revision: str = "head") -> None:
    """:func:`upgrade` through the alembic migrations only, never from the snapshot
    (the snapshot is written, and tested, from what this leaves)."""
    await _migrate(engine, revision, snapshot=False)


async def _migrate(engine: AsyncEngine, revision: str, *, snapshot: bool) -> None:
    async with engine.connect() as connection:
        await connection.execution_options(**{SQLITE_IMMEDIATE: True})
        async with connection.begin():
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            await connection.run_sync(_upgrade, revision, snapshot)


def _upgrade(connection: Connection, revision: str, snapshot: bool) -> None:
    # Under the write lock: of two processes creating one file, the second finds tables.
    if snapshot and build(connection, HEAD_REVISION):
        return
    from alembic import command  # noqa: PLC0415

    command.upgrade(alembic_config(connection), revision)


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the database records exactly :data:`HEAD_REVISION`, read without a lock
    (revisions only move forward); anything else goes through alembic as before."""
    async with engine.connect() as connection:
        return await connection.run_sync(_records_head)


def _records_head(connection: Connection) -> bool:
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return False
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
    return list(rows.scalars()) == [HEAD_REVISION]

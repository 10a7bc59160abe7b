"""A new SQLite database made in one step, from the schema the migrations leave behind.

Running the thirteen alembic migrations on an empty SQLite file costs 0.25 to 0.3 s of
CPU (alembic and its ``batch`` table copies), which is a fifth of a one-check
``run --once`` in CI, where the store is often new.  ``migrations/sqlite_head.sql``
holds the ``CREATE`` statements that ``sqlite_master`` records once the migrations have
run, for :data:`~monitor.store.migrate.HEAD_REVISION`; an empty database replays them,
then writes the rows the migrations write (the installation's id, the alembic version).

The migrations stay the source of truth: ``tests/store/test_fresh.py`` builds a
database each way and requires the same ``sqlite_master`` and the same rows, and fails
with the command that rewrites the file (``python -m monitor.store.rewrite_snapshot``)
when a new migration changes the schema.  A snapshot of another revision is never replayed: the
database then goes through alembic as before.  PostgreSQL always does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SNAPSHOT = Path(__file__).with_name("migrations") / "sqlite_head.sql"
_REVISION_LINE = "-- revision: "
_SEPARATOR = ";\n\n"

# As migration 0007 writes it (a single row, id 1).
_installation = sa.table(
    "installation",
    sa.column("id", sa.Integer()),
    sa.column("installation_id", sa.String(32)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_version = sa.table("alembic_version", sa.column("version_num", sa.String(32)))


def schema_of(connection: Connection) -> list[str]:
    """The ``CREATE`` statements of a SQLite database: tables first, each kind in
    creation order, SQLite's own objects and implicit indexes left out."""
    rows = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY type != 'table', rowid"
    )
    return [str(sql) for (sql,) in rows]


def render(revision: str, statements: list[str]) -> str:
    """The snapshot file's text for ``statements`` at ``revision``."""
    for statement in statements:
        if ";" in statement:
            raise ValueError(f"a statement holds ';' and cannot be split back: {statement!r}")
    return f"{_REVISION_LINE}{revision}\n" + "".join(s + _SEPARATOR for s in statements)


def parse(text: str) -> tuple[str, list[str]]:
    """The revision and statements of a snapshot file's text."""
    first, _, body = text.partition("\n")
    if not first.startswith(_REVISION_LINE):
        raise ValueError(f"{SNAPSHOT.name} does not start with {_REVISION_LINE!r}")
    statements = [s for s in body.split(_SEPARATOR) if s.strip()]
    return first.removeprefix(_REVISION_LINE).strip(), statements


def build(connection: Connection, revision: str) -> bool:
    """Make an empty SQLite database ``revision``'s schema from the snapshot; whether it did.

    Runs inside the caller's write transaction.  Anything but an empty SQLite
    database, or a snapshot of another revision, is left to alembic (``False``).
    """
    if connection.dialect.name != "sqlite" or not SNAPSHOT.is_file():
        return False
    found = connection.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).scalar_one()
    if found:
        return False
    snapshot_revision, statements = parse(SNAPSHOT.read_text(encoding="utf-8"))
    if snapshot_revision != revision:
        return False
    for statement in statements:
        connection.exec_driver_sql(statement)
    connection.execute(
        sa.insert(_installation).values(
            id=1, installation_id=uuid.uuid4().hex, created_at=datetime.now(UTC)
        )
    )
    connection.execute(sa.insert(_version).values(version_num=revision))
    return True

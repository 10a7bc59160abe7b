"""Converting between :class:`ResultRecord` and rows, and the checks every write makes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import RowMapping, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.records import RESULT_FIELDS, ResultRecord
from probes.base import Status
from probes.reasons import FailureReason

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime, naming the argument: a zone is never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a tz-aware datetime, got {value.isoformat()}")


def upsert_insert(conn: AsyncConnection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An ``INSERT`` for the connection's dialect, which offers ``ON CONFLICT`` clauses."""
    return dialect_insert(conn.dialect.name, table)


def dialect_insert(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An ``INSERT`` for ``dialect`` (a connection's ``dialect.name``): PostgreSQL's or
    SQLite's, which offer ``ON CONFLICT`` clauses.

    The dialect's module is imported here, with a connection of it: SQLAlchemy has loaded
    the engine's own dialect already, and the other one is never needed.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite  # noqa: PLC0415

    return sqlite.insert(table)


# Every field but ``id``, which the database assigns.
_COLUMNS: Final = tuple(name for name in RESULT_FIELDS if name != "id")


def to_row(record: ResultRecord) -> dict[str, Any]:
    """The ``results`` row of ``record``: a column per field, enums as their values."""
    row = {name: getattr(record, name) for name in _COLUMNS}
    row["status"] = Status(record.status).value
    row["reason"] = None if record.reason is None else record.reason.value
    return row


def from_row(row: RowMapping) -> ResultRecord:
    """The record a ``results`` row holds (``id`` included)."""
    values = {name: row[name] for name in RESULT_FIELDS}
    values["status"] = Status(row["status"])
    values["reason"] = FailureReason(row["reason"]) if row["reason"] else None
    return ResultRecord(**values)

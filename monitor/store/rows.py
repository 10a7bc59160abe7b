"""Converting between :class:`ResultRecord` and rows, and the checks every write makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.records import ResultRecord
from probes.base import Status
from probes.reasons import FailureReason


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime, naming the argument: a zone is never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a tz-aware datetime, got {value.isoformat()}")


def upsert_insert(conn: AsyncConnection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An ``INSERT`` for the connection's dialect, which offers ``ON CONFLICT`` clauses."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def to_row(record: ResultRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "check": record.check,
        "kind": record.kind,
        "region": record.region,
        "started_at": record.started_at,
        "duration_ms": record.duration_ms,
        "wall_ms": record.wall_ms,
        "wait_ms": record.wait_ms,
        "status": Status(record.status).value,
        "attempts": record.attempts,
        "message": record.message,
        "reason": None if record.reason is None else record.reason.value,
        "timings": record.timings,
        "assertions": record.assertions,
        "details": record.details,
        "artifacts": record.artifacts,
    }


def from_row(row: RowMapping) -> ResultRecord:
    return ResultRecord(
        id=row["id"],
        run_id=row["run_id"],
        check=row["check"],
        kind=row["kind"],
        region=row["region"],
        started_at=row["started_at"],
        duration_ms=row["duration_ms"],
        wall_ms=row["wall_ms"],
        wait_ms=row["wait_ms"],
        status=Status(row["status"]),
        attempts=row["attempts"],
        message=row["message"],
        reason=FailureReason(row["reason"]) if row["reason"] else None,
        timings=row["timings"],
        assertions=row["assertions"],
        details=row["details"],
        artifacts=row["artifacts"],
    )

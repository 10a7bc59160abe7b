"""Incident rows: at most one open per (check, region), enforced by a partial unique index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.records import IncidentRecord
from monitor.store.rows import upsert_insert
from monitor.store.schema import OPEN_INCIDENT_WHERE, incidents


async def open_incident(
    conn: AsyncConnection, check: str, region: str, *, started_at: datetime, message: str
) -> int:
    """Open an incident unless one is open for (check, region); the open one's id either way."""
    insert = upsert_insert(conn, incidents).values(
        check=check, region=region, started_at=started_at, resolved_at=None, message=message
    )
    await conn.execute(
        insert.on_conflict_do_nothing(
            index_elements=[incidents.c.check, incidents.c.region],
            index_where=OPEN_INCIDENT_WHERE,
        )
    )
    found = await conn.scalar(select(incidents.c.id).where(*_open(check, region)))
    if found is None:  # the index guarantees a row: inserted now or already there
        raise RuntimeError(f"no open incident for {check!r} in {region!r} after opening one")
    return int(found)


async def resolve_incident(
    conn: AsyncConnection, check: str, region: str, *, resolved_at: datetime
) -> bool:
    """Resolve the open incident of (check, region); ``False`` if none was open."""
    outcome = await conn.execute(
        update(incidents).where(*_open(check, region)).values(resolved_at=resolved_at)
    )
    return outcome.rowcount > 0


async def list_incidents(
    conn: AsyncConnection,
    *,
    since: datetime | None = None,
    check: str | None = None,
    open_only: bool = False,
    limit: int = 50,
) -> list[IncidentRecord]:
    """Incidents newest first; ``since`` keeps those still open or resolved at or after it."""
    i = incidents.c
    query = select(incidents).order_by(i.started_at.desc(), i.id.desc()).limit(limit)
    if since is not None:
        query = query.where(or_(i.resolved_at.is_(None), i.resolved_at >= since))
    if check is not None:
        query = query.where(i.check == check)
    if open_only:
        query = query.where(i.resolved_at.is_(None))
    rows = (await conn.execute(query)).mappings().all()
    return [
        IncidentRecord(
            id=int(row["id"]),
            check=row["check"],
            region=row["region"],
            started_at=row["started_at"],
            resolved_at=row["resolved_at"],
            message=row["message"],
        )
        for row in rows
    ]


def _open(check: str, region: str) -> list[ColumnElement[bool]]:
    return [
        incidents.c.check == check,
        incidents.c.region == region,
        incidents.c.resolved_at.is_(None),
    ]

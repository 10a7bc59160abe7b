"""Incidents and scheduled maintenance written by people, with their timestamped updates.

A notice is an incident (Statuspage lifecycle investigating -> identified -> monitoring ->
resolved) or a maintenance (scheduled -> in_progress -> verifying -> completed).  Each
update a person posts is a row of ``notice_updates``; the notice keeps the newest status,
when it first reached ``monitoring`` and when it was resolved (or completed).  Alert-made
outages are not notices: they stay in ``incidents`` (:mod:`monitor.store.incidents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.rows import require_aware
from monitor.store.schema import notice_updates, notices
from monitor.store.store import ResultStore

NoticeKind = Literal["incident", "maintenance"]
INCIDENT_STATUSES: Final = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES: Final = ("scheduled", "in_progress", "verifying", "completed")
CLOSING: Final = frozenset({"resolved", "completed"})


@dataclass(frozen=True, slots=True)
class NoticeUpdate:
    """One timestamped update: the status it set and what the person wrote."""

    id: int
    notice_id: int
    status: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """An incident or maintenance as stored, with its updates oldest first."""

    id: int
    kind: NoticeKind
    name: str
    status: str
    impact: str
    components: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: tuple[NoticeUpdate, ...]

    @property
    def closed(self) -> bool:
        """Resolved (incident) or completed (maintenance) by a person."""
        return self.resolved_at is not None


# A ``notices`` column per field but ``updates`` (rows of ``notice_updates``, one a field).
_COLUMNS: Final = tuple(f.name for f in fields(NoticeRecord) if f.name != "updates")
_UPDATE_COLUMNS: Final = tuple(f.name for f in fields(NoticeUpdate))


class NoticeStore:
    """Reads and writes ``notices`` and ``notice_updates`` through one :class:`ResultStore`."""

    __slots__ = ("_store",)

    def __init__(self, store: ResultStore) -> None:
        self._store = store

    async def create(
        self,
        kind: NoticeKind,
        *,
        name: str,
        status: str,
        impact: str,
        components: Sequence[str],
        body: str,
        at: datetime,
        started_at: datetime | None = None,
        scheduled_for: datetime | None = None,
        scheduled_until: datetime | None = None,
    ) -> NoticeRecord:
        """Store a new notice and its first update (``body`` at ``at``); returns it."""
        require_aware(at, "at")
        began = started_at or scheduled_for or at
        async with self._store.connection(f"creating {kind} {name!r}", write=True) as conn:
            notice_id = (
                await conn.execute(
                    notices.insert()
                    .values(
                        kind=kind,
                        name=name,
                        status=status,
                        impact=impact,
                        components=list(components),
                        created_at=at,
                        updated_at=at,
                        started_at=began,
                        scheduled_for=scheduled_for,
                        scheduled_until=scheduled_until,
                        monitoring_at=at if status == "monitoring" else None,
                        resolved_at=at if status in CLOSING else None,
                    )
                    .returning(notices.c.id)
                )
            ).scalar_one()
            await _add_update(conn, int(notice_id), status, body, at)
            found = await _read(conn, [int(notice_id)])
        return found[0]

    async def add_update(
        self,
        notice_id: int,
        *,
        status: str,
        body: str,
        at: datetime,
        impact: str | None = None,
    ) -> NoticeRecord | None:
        """Post an update to notice ``notice_id``; the notice, or ``None`` if there is none."""
        require_aware(at, "at")
        async with self._store.connection(f"updating notice {notice_id}", write=True) as conn:
            row = (
                (await conn.execute(select(notices).where(notices.c.id == notice_id)))
                .mappings()
                .one_or_none()
            )
            if row is None:
                return None
            changes: dict[str, object] = {"status": status, "updated_at": at}
            if impact is not None:
                changes["impact"] = impact
            if status == "monitoring" and row["monitoring_at"] is None:
                changes["monitoring_at"] = at
            changes["resolved_at"] = (row["resolved_at"] or at) if status in CLOSING else None
            await conn.execute(update(notices).where(notices.c.id == notice_id).values(**changes))
            await _add_update(conn, notice_id, status, body, at)
            return (await _read(conn, [notice_id]))[0]

    async def get(self, notice_id: int, kind: NoticeKind | None = None) -> NoticeRecord | None:
        """Notice ``notice_id`` (of ``kind``, if given), or ``None``."""
        async with self._store.connection(f"reading notice {notice_id}") as conn:
            found = await _read(conn, [notice_id])
        if not found or (kind is not None and found[0].kind != kind):
            return None
        return found[0]

    async def list(
        self, kind: NoticeKind | None = None, *, open_only: bool = False, limit: int = 50
    ) -> list[NoticeRecord]:
        """Notices newest first (by creation); ``open_only``: not resolved or completed."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        n = notices.c
        query = select(n.id).order_by(n.created_at.desc(), n.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(n.kind == kind)
        if open_only:
            query = query.where(n.resolved_at.is_(None))
        async with self._store.connection("reading notices") as conn:
            ids = [int(i) for i in (await conn.execute(query)).scalars()]
            return await _read(conn, ids)


async def _add_update(
    conn: AsyncConnection, notice_id: int, status: str, body: str, at: datetime
) -> None:
    await conn.execute(
        notice_updates.insert().values(notice_id=notice_id, status=status, body=body, created_at=at)
    )


async def _read(conn: AsyncConnection, ids: list[int]) -> list[NoticeRecord]:
    """The notices ``ids`` in that order, each with its updates (two queries)."""
    if not ids:
        return []
    rows = {
        int(r["id"]): r
        for r in (await conn.execute(select(notices).where(notices.c.id.in_(ids)))).mappings()
    }
    u = notice_updates.c
    updates: dict[int, list[NoticeUpdate]] = {i: [] for i in ids}
    query = select(notice_updates).where(u.notice_id.in_(ids)).order_by(u.notice_id, u.id)
    for r in (await conn.execute(query)).mappings():
        updates[int(r["notice_id"])].append(NoticeUpdate(**{n: r[n] for n in _UPDATE_COLUMNS}))
    return [
        NoticeRecord(
            **{
                **{name: rows[i][name] for name in _COLUMNS},
                "components": tuple(rows[i]["components"]),
                "updates": tuple(updates[i]),
            }
        )
        for i in ids
        if i in rows
    ]

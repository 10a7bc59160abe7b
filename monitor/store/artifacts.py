"""Rows of the ``artifacts`` table: what a result's artifacts are, and which must go.

The bytes live in an artifact backend (``monitor.artifacts``); these functions only
read and write rows, on a connection from ``ResultStore.connection``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.rows import upsert_insert
from monitor.store.schema import artifacts, results


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """One stored artifact of one result; ``key`` names its bytes in the backend."""

    result_id: int
    check: str
    name: str
    size: int
    content_type: str
    key: str
    created_at: datetime


def _record(row: object) -> ArtifactRecord:
    mapping = row._mapping  # type: ignore[attr-defined]
    return ArtifactRecord(
        result_id=int(mapping["result_id"]),
        check=mapping["check"],
        name=mapping["name"],
        size=int(mapping["size"]),
        content_type=mapping["content_type"],
        key=mapping["key"],
        created_at=mapping["created_at"],
    )


async def upsert_artifact(conn: AsyncConnection, record: ArtifactRecord) -> None:
    """Record an artifact; one already recorded under its (result, name) is replaced (the
    backend's bytes under the same key were just replaced too)."""
    values = {
        "result_id": record.result_id,
        "check": record.check,
        "name": record.name,
        "size": record.size,
        "content_type": record.content_type,
        "key": record.key,
        "created_at": record.created_at,
    }
    changed = {k: v for k, v in values.items() if k not in ("result_id", "name")}
    statement = (
        upsert_insert(conn, artifacts)
        .values(**values)
        .on_conflict_do_update(index_elements=["result_id", "name"], set_=changed)
    )
    await conn.execute(statement)


async def result_artifacts(
    conn: AsyncConnection, result_ids: Sequence[int]
) -> dict[int, list[ArtifactRecord]]:
    """The artifacts of each of ``result_ids``, by name; results without any are left out."""
    if not result_ids:
        return {}
    query = (
        select(artifacts)
        .where(artifacts.c.result_id.in_(list(result_ids)))
        .order_by(artifacts.c.result_id, artifacts.c.name)
    )
    out: dict[int, list[ArtifactRecord]] = {}
    for row in (await conn.execute(query)).all():
        record = _record(row)
        out.setdefault(record.result_id, []).append(record)
    return out


async def result_exists(conn: AsyncConnection, result_id: int) -> bool:
    found = await conn.scalar(select(results.c.id).where(results.c.id == result_id))
    return found is not None


async def all_artifacts(conn: AsyncConnection) -> list[ArtifactRecord]:
    rows = (await conn.execute(select(artifacts).order_by(artifacts.c.id))).all()
    return [_record(row) for row in rows]


async def doomed_artifacts(
    conn: AsyncConnection, *, keep: int, older_than: datetime
) -> list[ArtifactRecord]:
    """Artifacts past retention: older than ``older_than``, beyond the ``keep`` newest
    results of their check that have artifacts, or of a result no longer stored."""
    ranked = select(
        artifacts.c.id,
        func.dense_rank()
        .over(partition_by=artifacts.c.check, order_by=artifacts.c.result_id.desc())
        .label("rank"),
    ).subquery()
    orphan = ~select(results.c.id).where(results.c.id == artifacts.c.result_id).exists()
    query = (
        select(artifacts)
        .join(ranked, ranked.c.id == artifacts.c.id)
        .where(or_(artifacts.c.created_at < older_than, ranked.c.rank > keep, orphan))
        .order_by(artifacts.c.id)
    )
    return [_record(row) for row in (await conn.execute(query)).all()]


async def delete_artifact_keys(conn: AsyncConnection, keys: Sequence[str]) -> int:
    if not keys:
        return 0
    result = await conn.execute(delete(artifacts).where(artifacts.c.key.in_(list(keys))))
    return int(result.rowcount or 0)

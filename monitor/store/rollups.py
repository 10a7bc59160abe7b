"""Rollups kept beside ``results``: the latest result per (check, region), hourly and daily stats.

Three ways they are written, all giving the same rows:

- :func:`record_rollups`, in the transaction that stores a burst of results
  (``ResultStore.add_many``), two upserts per burst;
- :func:`rebuild_rollups`, from every row of ``results`` (``INSERT ... SELECT ...
  GROUP BY``): migration 0002's backfill, and bulk seeding in ``bench/store.py``;
- :func:`prune`, which deletes old results and keeps both rollups consistent.

Buckets are UTC hours and UTC days, keyed by their start.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from monitor.store.records import Period, ResultRecord
from monitor.store.rows import dialect_insert
from monitor.store.schema import latest_results, result_stats, results
from probes.base import Status

PERIODS: dict[Period, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
_SUMMED = ("total", "passed", "degraded", "failed", "errored", "sum_ms")


def bucket_start(at: datetime, period: Period) -> datetime:
    """The UTC start of the hour or day ``at`` falls in."""
    if period not in PERIODS:
        raise ValueError(f"period must be 'hour' or 'day', got {period!r}")
    start = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if period == "day" else start


def record_rollups(conn: Connection, stored: Sequence[tuple[int, ResultRecord]]) -> None:
    """Point ``latest_results`` at the newest of the stored results and count them all in
    their hour and day buckets: two statements however many results, each executed for
    its rows (one row per key, so ``ON CONFLICT`` never meets one key twice)."""
    if not stored:
        return
    newest: dict[tuple[str, str], int] = {}
    buckets: dict[tuple[str, str, Period, datetime], dict[str, Any]] = {}
    for result_id, record in stored:
        pair = (record.check, record.region)
        newest[pair] = max(result_id, newest.get(pair, result_id))
        for period in PERIODS:
            key = (*pair, period, bucket_start(record.started_at, period))
            _count(buckets.setdefault(key, _empty_bucket(key)), record)
    # Each statement is built once per dialect, compiled once (and cached) and executed
    # for a list of rows: a multi-row VALUES would be compiled afresh for every burst,
    # ~0.5 ms a row, and building the upserts anew cost ~0.4 ms a burst.
    dialect = conn.dialect.name
    latest = [{"check": c, "region": r, "result_id": i} for (c, r), i in newest.items()]
    conn.execute(_latest_upsert(dialect), latest)
    conn.execute(_stats_upsert(dialect), list(buckets.values()))


@functools.cache
def _latest_upsert(dialect: str) -> Executable:
    latest = dialect_insert(dialect, latest_results)
    return latest.on_conflict_do_update(
        index_elements=[latest_results.c.check, latest_results.c.region],
        set_={"result_id": latest.excluded.result_id},
        # Two writers of one (check, region) may commit out of id order.
        where=latest_results.c.result_id < latest.excluded.result_id,
    )


@functools.cache
def _stats_upsert(dialect: str) -> Executable:
    stats = dialect_insert(dialect, result_stats)
    old, new = result_stats.c, stats.excluded
    return stats.on_conflict_do_update(
        index_elements=[old.check, old.period, old.bucket_start, old.region],
        set_={
            **{name: old[name] + new[name] for name in _SUMMED},
            # Spelled out: SQLite's two-argument max() is NULL if either side is.
            "max_ms": case(
                (new.max_ms.is_(None), old.max_ms),
                (old.max_ms.is_(None), new.max_ms),
                (new.max_ms > old.max_ms, new.max_ms),
                else_=old.max_ms,
            ),
        },
    )


def _empty_bucket(key: tuple[str, str, Period, datetime]) -> dict[str, Any]:
    check, region, period, start = key
    zeros: dict[str, Any] = {**dict.fromkeys(_SUMMED, 0), "sum_ms": 0.0}
    return {
        "check": check,
        "region": region,
        "period": period,
        "bucket_start": start,
        **zeros,
        "max_ms": None,
    }


def _count(bucket: dict[str, Any], record: ResultRecord) -> None:
    status = Status(record.status)
    bucket["total"] += 1
    bucket["passed"] += int(status is Status.PASS)
    bucket["degraded"] += int(status is Status.DEGRADED)
    bucket["failed"] += int(status is Status.FAIL)
    if not status.measured:
        bucket["errored"] += 1
        return
    bucket["sum_ms"] += record.duration_ms
    if bucket["max_ms"] is None or record.duration_ms > bucket["max_ms"]:
        bucket["max_ms"] = record.duration_ms


async def prune(conn: AsyncConnection, older_than: datetime) -> int:
    """Delete results started before ``older_than``; returns how many went.

    A bucket goes once all of it is before ``older_than`` (the one straddling it
    stays).  A (check, region) whose latest result went points at its newest
    remaining one, and has no latest row once none remains.
    """
    newest_going = (
        select(latest_results.c.check, latest_results.c.region)
        .join(results, results.c.id == latest_results.c.result_id)
        .where(results.c.started_at < older_than)
    )
    orphaned = (await conn.execute(newest_going)).all()
    deleted = await conn.execute(delete(results).where(results.c.started_at < older_than))
    for check, region in orphaned:
        pair = and_(latest_results.c.check == check, latest_results.c.region == region)
        newest = await conn.scalar(
            select(func.max(results.c.id)).where(
                results.c.check == check, results.c.region == region
            )
        )
        if newest is None:
            await conn.execute(delete(latest_results).where(pair))
        else:
            await conn.execute(update(latest_results).where(pair).values(result_id=newest))
    for period, length in PERIODS.items():
        await conn.execute(
            delete(result_stats).where(
                result_stats.c.period == period,
                result_stats.c.bucket_start <= older_than - length,
            )
        )
    return deleted.rowcount


# Migration 0002 runs this SQL: change it only together with a new migration.
_LATEST_SQL = """
INSERT INTO latest_results ("check", region, result_id)
SELECT "check", region, max(id) FROM results GROUP BY "check", region
"""

_STATS_SQL = """
INSERT INTO result_stats
    ("check", region, period, bucket_start,
     total, passed, degraded, failed, errored, sum_ms, max_ms)
SELECT "check", region, '{period}', {bucket},
    count(*),
    sum(CASE WHEN status = 'pass' THEN 1 ELSE 0 END),
    sum(CASE WHEN status = 'degraded' THEN 1 ELSE 0 END),
    sum(CASE WHEN status = 'fail' THEN 1 ELSE 0 END),
    sum(CASE WHEN status IN ('error', 'suspect') THEN 1 ELSE 0 END),
    coalesce(sum(CASE WHEN status NOT IN ('error', 'suspect') THEN duration_ms END), 0),
    max(CASE WHEN status NOT IN ('error', 'suspect') THEN duration_ms END)
FROM results
GROUP BY "check", region, {bucket}
"""

# The bucket start in SQL, equal to bucket_start() in Python.  SQLite keeps
# timestamps as UTC text in SQLAlchemy's format, microseconds always written, so the
# truncated text compares and parses like any other stored timestamp.
_BUCKET_SQL: dict[str, dict[Period, str]] = {
    "sqlite": {
        "hour": "strftime('%Y-%m-%d %H:00:00.000000', started_at)",
        "day": "strftime('%Y-%m-%d 00:00:00.000000', started_at)",
    },
    "postgresql": {
        "hour": "date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        "day": "date_trunc('day', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    },
}


def rebuild_statements(dialect: str) -> list[str]:
    """The SQL that recomputes ``latest_results`` and ``result_stats`` from all of ``results``."""
    buckets = _BUCKET_SQL.get(dialect)
    if buckets is None:
        raise ValueError(f"no rollup SQL for the {dialect!r} dialect")
    return [
        "DELETE FROM latest_results",
        "DELETE FROM result_stats",
        _LATEST_SQL,
        *(_STATS_SQL.format(period=period, bucket=bucket) for period, bucket in buckets.items()),
    ]


def rebuild_rollups(connection: Connection) -> None:
    """Run :func:`rebuild_statements` on a sync connection, in the caller's transaction.

    Writes from ``ResultStore.add`` while it runs would be lost: run it alone.
    """
    for sql in rebuild_statements(connection.dialect.name):
        connection.execute(text(sql))

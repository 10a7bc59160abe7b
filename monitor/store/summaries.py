"""Read-side summaries: hourly and daily buckets from ``result_stats``, uptime from ``results``.

Percentiles are nearest-rank (see :class:`UptimeSummary`): the ``ceil(p * n)``-th
smallest duration.  PostgreSQL computes them with ``percentile_disc``, which is
that definition; SQLite numbers the rows with ``row_number() OVER (ORDER BY
duration_ms)`` and picks the ranks, computed in Python with the same double
arithmetic as PostgreSQL, so both backends return the same value.  (One sort
serves the three percentiles, where ``ORDER BY ... LIMIT 1 OFFSET k - 1`` would sort
once for each; ``percentile_cont`` would interpolate between neighbours, which no
single row can match.)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.records import Period, StatsBucket, UptimeSummary
from monitor.store.rollups import bucket_start
from monitor.store.schema import result_stats, results
from probes.base import Status

PERCENTILES = (0.5, 0.95, 0.99)
# One bound parameter per check named: far under SQLite's and asyncpg's limits (32,766).
MAX_CHECKS_NAMED = 1000
_COUNTS = ("total", "passed", "degraded", "failed", "errored")
# "errored" counts every result that is no evidence about the target: error and suspect.
_STATUS_COUNTS: dict[str, tuple[Status, ...]] = {
    "passed": (Status.PASS,),
    "degraded": (Status.DEGRADED,),
    "failed": (Status.FAIL,),
    "errored": (Status.ERROR, Status.SUSPECT),
}


async def stats(
    conn: AsyncConnection,
    *,
    period: Period,
    since: datetime,
    check: str | None = None,
    region: str | None = None,
    checks: Collection[str] | None = None,
) -> list[StatsBucket]:
    """Buckets overlapping ``[since, ...)``, regions summed unless one is named; by check, start.

    ``checks``: only these checks' buckets (at most :data:`MAX_CHECKS_NAMED`).
    """
    s = result_stats.c
    query = (
        select(
            s.check,
            s.bucket_start,
            *(func.sum(s[name]).label(name) for name in _COUNTS),
            func.sum(s.sum_ms).label("sum_ms"),
            func.max(s.max_ms).label("max_ms"),
        )
        .where(s.period == period, s.bucket_start >= bucket_start(since, period))
        .group_by(s.check, s.bucket_start)
        .order_by(s.check, s.bucket_start)
    )
    if check is not None:
        query = query.where(s.check == check)
    if checks is not None:
        if len(checks) > MAX_CHECKS_NAMED:
            raise ValueError(f"at most {MAX_CHECKS_NAMED} checks can be named, not {len(checks)}")
        query = query.where(s.check.in_(sorted(checks)))
    if region is not None:
        query = query.where(s.region == region)
    rows = (await conn.execute(query)).all()
    return [_bucket(row) for row in rows]


def _bucket(row: Sequence[Any]) -> StatsBucket:
    # Positional, from a plain row: at thousands of buckets, this is a good part of the cost.
    check, start, total, passed, degraded, failed, errored, sum_ms, max_ms = row
    measured = int(total) - int(errored)
    return StatsBucket(
        check,
        start,
        int(total),
        int(passed),
        int(degraded),
        int(failed),
        int(errored),
        None if measured == 0 else float(sum_ms) / measured,
        max_ms,
    )


async def uptime(
    conn: AsyncConnection, check: str, *, since: datetime, region: str | None = None
) -> UptimeSummary:
    """Counts, mean, percentiles and max of ``check``'s results started at or after ``since``."""
    r = results.c
    scope: list[ColumnElement[bool]] = [r.check == check, r.started_at >= since]
    if region is not None:
        scope.append(r.region == region)
    measured = r.status.not_in([Status.ERROR.value, Status.SUSPECT.value])
    counts = select(
        func.count().label("total"),
        *(
            func.coalesce(
                func.sum(case((r.status.in_([s.value for s in statuses]), 1), else_=0)), 0
            ).label(name)
            for name, statuses in _STATUS_COUNTS.items()
        ),
        func.avg(case((measured, r.duration_ms))).label("avg_ms"),
        func.max(case((measured, r.duration_ms))).label("max_ms"),
    ).where(*scope)
    row = (await conn.execute(counts)).mappings().one()
    total = int(row["total"])
    tally = {name: int(row[name]) for name in _STATUS_COUNTS}
    n = total - tally["errored"]
    timed = select(r.duration_ms).where(*scope, measured)
    if n == 0:
        p50 = p95 = p99 = None
    elif conn.dialect.name == "postgresql":
        p50, p95, p99 = await _percentiles_postgres(conn, timed)
    else:
        p50, p95, p99 = await _percentiles_by_rank(conn, timed, n)
    return UptimeSummary(
        check=check,
        region=region,
        since=since,
        total=total,
        **tally,
        avg_ms=_float(row["avg_ms"]),
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=_float(row["max_ms"]),
    )


def nearest_rank(fraction: float, n: int) -> int:
    """The 1-based rank of the ``fraction`` percentile of ``n`` values (PostgreSQL's rounding)."""
    return max(1, math.ceil(fraction * n))


async def _percentiles_postgres(
    conn: AsyncConnection, timed: Select[tuple[float]]
) -> tuple[float, float, float]:
    from sqlalchemy.dialects.postgresql import array  # noqa: PLC0415 -- a PostgreSQL store only

    duration = timed.selected_columns[0]
    query = timed.with_only_columns(func.percentile_disc(array(PERCENTILES)).within_group(duration))
    values: list[float] = list(await conn.scalar(query) or [])
    p50, p95, p99 = values
    return p50, p95, p99


async def _percentiles_by_rank(
    conn: AsyncConnection, timed: Select[tuple[float]], n: int
) -> tuple[float, float, float]:
    duration = timed.selected_columns[0]
    ranked = timed.add_columns(func.row_number().over(order_by=duration).label("rank"))
    wanted = [nearest_rank(p, n) for p in PERCENTILES]
    sub = ranked.subquery()
    rows = await conn.execute(select(sub.c.rank, sub.c.duration_ms).where(sub.c.rank.in_(wanted)))
    by_rank = {int(rank): float(value) for rank, value in rows}
    p50, p95, p99 = (by_rank[k] for k in wanted)
    return p50, p95, p99


def _float(value: Any) -> float | None:
    return None if value is None else float(value)

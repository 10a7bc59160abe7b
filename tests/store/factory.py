"""Building results for the store tests, and recomputing in Python what the store should say."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import Period, ResultRecord, ResultStore, StatsBucket, database_url
from monitor.store.engine import create_engine
from monitor.store.rollups import bucket_start, rebuild_rollups
from monitor.store.rows import to_row
from monitor.store.schema import results
from probes.base import Status

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STATUSES = [Status.PASS] * 6 + [Status.DEGRADED, Status.FAIL, Status.FAIL, Status.ERROR]


def record(
    check: str = "api-health",
    region: str = "local",
    started_at: datetime = T0,
    status: Status = Status.PASS,
    **fields: Any,
) -> ResultRecord:
    values: dict[str, Any] = {
        "run_id": uuid.uuid4().hex,  # one run per record unless given: results are unique per run
        "kind": "http",
        "duration_ms": 12.5,
        "attempts": 1,
        "message": "ok",
        "timings": {"total": 12.5},
        "assertions": [],
        "details": {},
        "artifacts": [],
    }
    values.update(fields)
    return ResultRecord(check=check, region=region, started_at=started_at, status=status, **values)


def random_records(
    count: int,
    *,
    checks: Iterable[str] = ("api", "home", "login"),
    regions: Iterable[str] = ("eu", "us"),
    start: datetime = T0,
    span: timedelta = timedelta(days=3),
    seed: int = 4,
) -> list[ResultRecord]:
    """Results spread at random over ``span``, in random order, with every status.

    Durations are multiples of 1/4 ms under 2**20, so any sum of them is exact in
    floating point and a mean does not depend on the order SQL adds them in.
    """
    rng = random.Random(seed)
    names, places = list(checks), list(regions)
    return [
        record(
            rng.choice(names),
            rng.choice(places),
            start + timedelta(seconds=rng.randrange(int(span.total_seconds()))),
            rng.choice(STATUSES),
            duration_ms=rng.randrange(4, 4 * 5000) / 4,
        )
        for _ in range(count)
    ]


def expected_buckets(
    records: Iterable[ResultRecord],
    period: Period,
    *,
    since: datetime,
    check: str | None = None,
    region: str | None = None,
) -> list[StatsBucket]:
    """What ``stats()`` should return, recomputed from the raw results."""
    floor = bucket_start(since, period)
    groups: dict[tuple[str, datetime], list[ResultRecord]] = {}
    for r in records:
        start = bucket_start(r.started_at, period)
        if start < floor or check not in (None, r.check) or region not in (None, r.region):
            continue
        groups.setdefault((r.check, start), []).append(r)
    return [bucket_of(name, start, groups[name, start]) for name, start in sorted(groups)]


def bucket_of(check: str, start: datetime, records: list[ResultRecord]) -> StatsBucket:
    count = {s: sum(r.status is s for r in records) for s in Status}
    measured = [r.duration_ms for r in records if r.status is not Status.ERROR]
    return StatsBucket(
        check=check,
        start=start,
        total=len(records),
        passed=count[Status.PASS],
        degraded=count[Status.DEGRADED],
        failed=count[Status.FAIL],
        errored=count[Status.ERROR],
        avg_ms=sum(measured) / len(measured) if measured else None,
        max_ms=max(measured) if measured else None,
    )


def nearest_rank(values: list[float], fraction: float) -> float:
    """The textbook nearest-rank percentile: the ceil(fraction * n)-th smallest value."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


async def table_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Every row a raw query returns, read on a separate engine."""
    engine = create_async_engine(database_url(url))
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql))]
    finally:
        await engine.dispose()


async def bulk_add(url: str, records: Iterable[ResultRecord]) -> None:
    """Insert many results in one statement, then rebuild the rollups (the migration's SQL)."""
    store = await ResultStore.open(url)  # creates the tables
    await store.close()
    engine = create_engine(make_url(database_url(url)))
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(results), [to_row(r) for r in records])
            await conn.run_sync(rebuild_rollups)
    finally:
        await engine.dispose()

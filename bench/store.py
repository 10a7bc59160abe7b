"""The result store under a realistic history: how long the status page's reads take.

``cd /work/main && uv run python bench/store.py``                  # ~650k results, both backends
``uv run python bench/store.py --days 7 --backend sqlite``          # smaller, one backend
``uv run python bench/store.py --postgres postgresql://u@host/db``  # an existing (empty) database

Seeds 50 checks x 3 regions x 90 days x 48 a day (~650k results) into a fresh
SQLite file and a throwaway PostgreSQL cluster (Debian's ``postgresql``; started
and removed here), then times ``latest()``, ``stats()``, ``uptime()`` and ``add()``:
median and min of several calls after one warm-up.  Prints figures; asserts nothing.

:func:`seed_results` is also the seeding helper for other benchmarks (``bench/api.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Dialect, func, select
from sqlalchemy.engine import make_url

from monitor.store import ResultRecord, ResultStore, database_url
from monitor.store.engine import create_engine
from monitor.store.rollups import rebuild_rollups
from monitor.store.schema import results
from probes.base import Status

REGION_NAMES = ("eu-west", "us-east", "ap-south", "sa-east", "af-south")
# Roughly a healthy production: mostly passing, some slow, a few failures and probe errors.
STATUS_WEIGHTS = {Status.PASS: 94, Status.DEGRADED: 3, Status.FAIL: 2, Status.ERROR: 1}
INSERT_BATCH = 20_000
REPEATS = 5


@dataclass(frozen=True, slots=True)
class Seeded:
    """What :func:`seed_results` wrote: the names to query, the time span, the row count."""

    checks: list[str]
    regions: list[str]
    start: datetime
    end: datetime
    rows: int
    seconds: float


def check_names(count: int) -> list[str]:
    return [f"check-{i:03d}" for i in range(count)]


def region_names(count: int) -> list[str]:
    return [REGION_NAMES[i] if i < len(REGION_NAMES) else f"region-{i}" for i in range(count)]


async def seed_results(
    store_url: str,
    checks: int,
    regions: int,
    days: int,
    per_day: int,
    *,
    end: datetime | None = None,
    seed: int = 0,
) -> Seeded:
    """Fill a database with ``checks x regions x days x per_day`` results ending at ``end`` (now).

    The database is migrated first (it may be empty).  Results are bulk-inserted,
    then ``latest_results`` and ``result_stats`` are recomputed with the SQL of
    migration 0002's backfill, so every rollup agrees with the raw rows exactly as
    if each result had gone through ``ResultStore.add``.  Deterministic for a seed.
    """
    began = time.perf_counter()
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = end - timedelta(days=days)
    names, places = check_names(checks), region_names(regions)
    store = await ResultStore.open(store_url)  # creates the tables
    await store.close()
    engine = create_engine(make_url(database_url(store_url)))
    rows = 0
    try:
        async with engine.begin() as conn:
            insert_sql, to_db_time = _raw_insert(conn.dialect)
            generated = _rows(names, places, start, days, per_day, random.Random(seed), to_db_time)
            while batch := list(itertools.islice(generated, INSERT_BATCH)):
                await conn.exec_driver_sql(insert_sql, batch)
                rows += len(batch)
            await conn.run_sync(rebuild_rollups)
    finally:
        await engine.dispose()
    return Seeded(names, places, start, end, rows, time.perf_counter() - began)


# The driver's own executemany, values already in database form: SQLAlchemy's
# per-row parameter processing would take most of the seeding time.
_COLUMNS = (
    "run_id", "check", "kind", "region", "started_at", "duration_ms", "status", "attempts",
    "message", "timings", "assertions", "details", "artifacts",
)  # fmt: skip


def _raw_insert(dialect: Dialect) -> tuple[str, Callable[[datetime], Any]]:
    """The INSERT in the driver's paramstyle, and the conversion ``started_at`` needs."""
    if dialect.paramstyle == "qmark":
        marks = ", ".join("?" for _ in _COLUMNS)
    elif dialect.paramstyle == "numeric_dollar":
        marks = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
    else:
        raise ValueError(f"no raw insert for paramstyle {dialect.paramstyle!r}")
    names = ", ".join(f'"{name}"' for name in _COLUMNS)
    processor = results.c.started_at.type.dialect_impl(dialect).bind_processor(dialect)
    to_db_time: Callable[[datetime], Any] = processor or (lambda value: value)
    return f"INSERT INTO results ({names}) VALUES ({marks})", to_db_time


def _rows(
    checks: list[str],
    regions: list[str],
    start: datetime,
    days: int,
    per_day: int,
    rng: random.Random,
    to_db_time: Callable[[datetime], Any],
) -> Iterator[tuple[Any, ...]]:
    step = timedelta(days=1) / per_day
    slots = range(days * per_day)
    statuses = [status.value for status in STATUS_WEIGHTS]
    cumulative = list(itertools.accumulate(STATUS_WEIGHTS.values()))
    # As in serve mode: one run (one run id) per slot runs every check of a region;
    # each region starts at its own offset into the slot.
    run_ids = [f"{rng.getrandbits(128):032x}" for _ in slots]
    times = {
        region: [to_db_time(start + offset + step * i) for i in slots]
        for region, offset in ((r, step * rng.random()) for r in regions)
    }
    for check in checks:
        typical_ms = rng.uniform(20, 800)
        for region in regions:
            for i in slots:
                status = statuses[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
                duration = round(typical_ms * math.exp(rng.gauss(0, 0.35)) * 4) / 4
                message = "ok" if status == "pass" else f"{status}: seeded"
                yield (
                    run_ids[i], check, "http", region, times[region][i], duration, status, 1,
                    message, f'{{"total": {duration!r}}}', "[]", "{}", "[]",
                )  # fmt: skip


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster (the test suite's helper), its URL, removed afterwards."""
    from tests.support import postgres  # noqa: PLC0415 -- only when PostgreSQL is wanted

    cluster = postgres._start(postgres._init(postgres._bin_dir()))
    try:
        yield cluster.url
    finally:
        postgres._stop(cluster)


async def timed(call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median and min wall time of ``call`` in ms, after one warm-up call."""
    await call()
    samples = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), min(samples)


async def measure(name: str, url: str, args: argparse.Namespace) -> None:
    seeded = await seed_results(url, args.checks, args.regions, args.days, args.per_day)
    print(f"\n## {name}: {seeded.rows:,} results seeded in {seeded.seconds:.1f} s")
    one, region = seeded.checks[0], seeded.regions[0]
    now = seeded.end
    day, month, quarter = (now - timedelta(days=d) for d in (1, 30, 90))
    async with await ResultStore.open(url) as store:
        cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("latest()", store.latest),
            (f"latest(region={region!r})", lambda: store.latest(region=region)),
            ("0001's latest: max(id) GROUP BY over results", lambda: _old_latest(store)),
            ("stats(period='day', since=90 days ago)",
             lambda: store.stats(period="day", since=quarter)),
            ("stats(period='hour', since=24 h ago)", lambda: store.stats(period="hour", since=day)),
            ("stats(period='day', since=90 days ago, check=one)",
             lambda: store.stats(period="day", since=quarter, check=one)),
            ("uptime(one, since=24 h ago)", lambda: store.uptime(one, since=day)),
            ("uptime(one, since=30 days ago)", lambda: store.uptime(one, since=month)),
            ("uptime(one, since=90 days ago)", lambda: store.uptime(one, since=quarter)),
            ("add() (insert + latest + 2 stats upserts)",
             lambda: store.add(_record(one, region, now))),
        ]  # fmt: skip
        width = max(len(label) for label, _ in cases)
        print(f"{'call':<{width}}  median ms     min ms")
        for label, call in cases:
            median, best = await timed(call)
            print(f"{label:<{width}}  {median:9.2f}  {best:9.2f}")
        sizes = await store.stats(period="day", since=quarter)
        print(f"(day buckets returned for 90 days: {len(sizes):,})")


async def _old_latest(store: ResultStore) -> object:
    """The newest id per (check, region) as 0001's latest() found it: grouping all results."""
    newest = select(func.max(results.c.id)).group_by(results.c.check, results.c.region)
    async with store._engine.connect() as conn:  # a benchmark's peek at the store's engine
        return (await conn.execute(newest)).all()


def _record(check: str, region: str, now: datetime) -> ResultRecord:
    return ResultRecord(
        run_id="f" * 32,
        check=check,
        kind="http",
        region=region,
        started_at=now,
        duration_ms=123.25,
        status=Status.PASS,
        attempts=1,
        message="ok",
        timings={"total": 123.25},
        assertions=[],
        details={},
        artifacts=[],
    )


async def main(args: argparse.Namespace) -> None:
    total = args.checks * args.regions * args.days * args.per_day
    print(
        f"# store: {args.checks} checks x {args.regions} regions x {args.days} days x "
        f"{args.per_day}/day = {total:,} results; {REPEATS} timed calls each after a warm-up"
    )
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="smokewatch-bench-") as tmp:
            await measure("SQLite", f"sqlite:///{Path(tmp) / 'results.db'}", args)
    if args.backend in ("postgres", "both"):
        if args.postgres:
            await measure("PostgreSQL", args.postgres, args)
        else:
            with throwaway_postgres() as url:
                await measure("PostgreSQL", url, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=48)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", help="an empty database to use instead of a throwaway one")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

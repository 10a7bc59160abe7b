"""Uptime summaries: counts, mean, nearest-rank percentiles and max, the same on both backends."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.store import ResultRecord, ResultStore, UptimeSummary
from probes.base import Status
from tests.store.factory import T0, bulk_add, nearest_rank, random_records, record


def expected_summary(
    records: list[ResultRecord], check: str, region: str | None = None
) -> UptimeSummary:
    """What ``uptime(check, since=T0, region=region)`` should say, from the raw results."""
    mine = [
        r for r in records if r.check == check and r.started_at >= T0 and region in (None, r.region)
    ]
    count = {s: sum(r.status is s for r in mine) for s in Status}
    timed = [r.duration_ms for r in mine if r.status is not Status.ERROR]
    return UptimeSummary(
        check=check,
        region=region,
        since=T0,
        total=len(mine),
        passed=count[Status.PASS],
        degraded=count[Status.DEGRADED],
        failed=count[Status.FAIL],
        errored=count[Status.ERROR],
        avg_ms=sum(timed) / len(timed) if timed else None,
        p50_ms=nearest_rank(timed, 0.5) if timed else None,
        p95_ms=nearest_rank(timed, 0.95) if timed else None,
        p99_ms=nearest_rank(timed, 0.99) if timed else None,
        max_ms=max(timed) if timed else None,
    )


def sized_records(sizes: list[int], seed: int = 1) -> list[ResultRecord]:
    """For each size n, a check ``n<size>`` with n timed results (ties included) plus errors."""
    rng = random.Random(seed)
    made: list[ResultRecord] = []
    for n in sizes:
        for i in range(n):
            made.append(
                record(
                    f"n{n}",
                    rng.choice(["eu", "us"]),
                    T0 + timedelta(minutes=i),
                    rng.choice([Status.PASS, Status.PASS, Status.DEGRADED, Status.FAIL]),
                    duration_ms=rng.randrange(4, 400) / 4,  # few distinct values: ties
                )
            )
        made.append(record(f"n{n}", "eu", T0, Status.ERROR, duration_ms=99999.0))
        made.append(record(f"n{n}", "eu", T0 - timedelta(seconds=1), duration_ms=88888.0))
    return made


SIZES = [1, 2, 3, 7, 19, 20, 21, 99, 100, 101, 333]


class TestUptime:
    @pytest.mark.parametrize("region", [None, "eu"], ids=["all-regions", "one-region"])
    async def test_matches_raw_results(
        self, store: ResultStore, store_url: str, region: str | None
    ) -> None:
        """Counts, mean, p50/p95/p99 and max equal a recomputation from the raw results."""
        records = random_records(400, span=timedelta(days=2), start=T0 - timedelta(days=1))
        await bulk_add(store_url, records)
        for check in ("api", "home", "login"):
            got = await store.uptime(check, since=T0, region=region)
            assert got == expected_summary(records, check, region)
            assert got.total > 0

    @pytest.mark.parametrize(
        ("durations", "p50", "p95", "p99"),
        [
            ([42.0], 42.0, 42.0, 42.0),
            ([20.0, 10.0], 10.0, 20.0, 20.0),
            ([float(v) for v in range(10, 0, -1)], 5.0, 10.0, 10.0),
            ([float(v) for v in range(1, 21)], 10.0, 19.0, 20.0),
            ([float(v) for v in range(1, 101)], 50.0, 95.0, 99.0),
        ],
        ids=["one", "two", "ten", "twenty", "hundred"],
    )
    async def test_nearest_rank(
        self,
        store: ResultStore,
        store_url: str,
        durations: list[float],
        p50: float,
        p95: float,
        p99: float,
    ) -> None:
        """pN is the ceil(N% of n)-th smallest duration, a measured value, never interpolated."""
        await bulk_add(
            store_url,
            [
                record(started_at=T0 + timedelta(seconds=i), duration_ms=ms)
                for i, ms in enumerate(durations)
            ],
        )
        got = await store.uptime("api-health", since=T0)
        assert (got.p50_ms, got.p95_ms, got.p99_ms) == (p50, p95, p99)
        assert got.uptime == 1.0

    async def test_errors_are_no_evidence(self, store: ResultStore) -> None:
        """Errors are counted, but neither down nor timed."""
        await store.add(record(status=Status.ERROR, duration_ms=5000.0))
        await store.add(record(status=Status.FAIL, duration_ms=40.0))
        await store.add(record(status=Status.DEGRADED, duration_ms=20.0))
        await store.add(record(status=Status.PASS, duration_ms=30.0))
        got = await store.uptime("api-health", since=T0)
        assert (got.total, got.errored, got.uptime) == (4, 1, 2 / 3)
        assert (got.avg_ms, got.p50_ms, got.max_ms) == (30.0, 30.0, 40.0)

    async def test_nothing_measured(self, store: ResultStore) -> None:
        """Only errors, or nothing at all, gives no uptime and no durations."""
        await store.add(record(status=Status.ERROR))
        only_errors = await store.uptime("api-health", since=T0)
        nothing = await store.uptime("other", since=T0, region="eu")
        assert (only_errors.total, only_errors.errored, only_errors.uptime) == (1, 1, None)
        assert nothing == UptimeSummary(
            "other", "eu", T0, 0, 0, 0, 0, 0, None, None, None, None, None
        )
        assert only_errors.p99_ms is None

    async def test_since_is_inclusive(self, store: ResultStore) -> None:
        """Results started exactly at since count; earlier ones do not."""
        await store.add(record(started_at=T0 - timedelta(microseconds=1), status=Status.FAIL))
        await store.add(record(started_at=T0))
        got = await store.uptime("api-health", since=T0)
        assert (got.total, got.uptime) == (1, 1.0)


@pytest.mark.postgres
class TestBackendsAgree:
    async def test_same_summary_on_sqlite_and_postgres(
        self, tmp_path: Path, pg_database: str
    ) -> None:
        """For many sizes (ties and errors included) both backends give identical summaries."""
        records = sized_records(SIZES)
        summaries: dict[str, list[UptimeSummary]] = {}
        for name, url in (("sqlite", f"sqlite:///{tmp_path / 'r.db'}"), ("postgres", pg_database)):
            await bulk_add(url, records)
            async with await ResultStore.open(url) as store:
                summaries[name] = [
                    await store.uptime(f"n{n}", since=T0, region=region)
                    for n in SIZES
                    for region in (None, "eu")
                ]
        assert summaries["sqlite"] == summaries["postgres"]
        assert summaries["sqlite"] == [
            expected_summary(records, f"n{n}", region) for n in SIZES for region in (None, "eu")
        ]

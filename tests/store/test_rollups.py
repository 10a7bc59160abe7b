"""The rollups beside results: latest per (check, region), hourly and daily stats, backfill."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert
from sqlalchemy.engine import URL, make_url

from monitor.store import Period, ResultRecord, ResultStore, StatsBucket, database_url
from monitor.store.engine import create_engine
from monitor.store.migrate import alembic_config, upgrade
from monitor.store.rollups import bucket_start, rebuild_rollups
from monitor.store.rows import to_row
from monitor.store.schema import results
from monitor.store.summaries import MAX_CHECKS_NAMED
from probes.base import Status
from tests.store.factory import T0, expected_buckets, random_records, record, table_rows

STATS_SQL = (
    'SELECT "check", region, period, bucket_start, total, passed, degraded, failed, errored,'
    ' sum_ms, max_ms FROM result_stats ORDER BY "check", region, period, bucket_start'
)
LATEST_SQL = 'SELECT "check", region, result_id FROM latest_results ORDER BY "check", region'


async def add_all(store: ResultStore, records: list[ResultRecord]) -> list[int]:
    return [await store.add(r) for r in records]


def newest_ids(records: list[ResultRecord], ids: list[int]) -> dict[tuple[str, str], int]:
    newest: dict[tuple[str, str], int] = {}
    for r, record_id in zip(records, ids, strict=True):
        newest[r.check, r.region] = max(record_id, newest.get((r.check, r.region), 0))
    return dict(sorted(newest.items()))


class TestBucketStart:
    @pytest.mark.parametrize(
        ("at", "period", "expected"),
        [
            (datetime(2025, 3, 1, 12, 59, 59, 999999, tzinfo=UTC), "hour", T0),
            (datetime(2025, 3, 1, 23, 30, tzinfo=UTC), "day", datetime(2025, 3, 1, tzinfo=UTC)),
            (
                datetime(2025, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2))),
                "day",
                datetime(2025, 3, 1, tzinfo=UTC),
            ),
        ],
        ids=["hour", "day", "utc-day-of-another-zone"],
    )
    def test_floors_to_utc(self, at: datetime, period: Period, expected: datetime) -> None:
        """A bucket starts at the UTC hour or UTC day the instant falls in."""
        assert bucket_start(at, period) == expected

    def test_unknown_period(self) -> None:
        """A period other than hour or day is refused, named."""
        with pytest.raises(ValueError, match="'week'"):
            bucket_start(T0, "week")  # type: ignore[arg-type]  # the wrong value on purpose


class TestStats:
    @pytest.mark.parametrize("period", ["hour", "day"], ids=["hour", "day"])
    async def test_matches_raw_results(self, store: ResultStore, period: Period) -> None:
        """Every bucket, regions summed, equals a recomputation from the raw results."""
        records = random_records(50)
        await add_all(store, records)
        since = T0 + timedelta(hours=30, minutes=20)
        got = await store.stats(period=period, since=since)
        assert got == expected_buckets(records, period, since=since)
        assert len(got) > 3
        assert sum(b.total for b in got) < len(records)  # since cut something off

    @pytest.mark.parametrize(
        ("check", "region"),
        [("api", None), (None, "eu"), ("home", "us")],
        ids=["one-check", "one-region", "both"],
    )
    async def test_filters(self, store: ResultStore, check: str | None, region: str | None) -> None:
        """Naming a check or a region keeps only its rows, and still matches the raw results."""
        records = random_records(60, seed=7)
        await add_all(store, records)
        got = await store.stats(period="hour", since=T0, check=check, region=region)
        assert got == expected_buckets(records, "hour", since=T0, check=check, region=region)
        assert got

    async def test_naming_checks_keeps_only_theirs(self, store: ResultStore) -> None:
        """``checks`` keeps the named checks' buckets (a name with no results adds none)."""
        records = random_records(60, seed=9)
        await add_all(store, records)
        got = await store.stats(period="day", since=T0, checks={"api", "login", "gone"})
        expected = expected_buckets(records, "day", since=T0)
        assert got == [b for b in expected if b.check in {"api", "login"}]
        assert {b.check for b in got} == {"api", "login"}

    async def test_naming_too_many_checks_is_refused(self, store: ResultStore) -> None:
        """More checks than one query may bind is a ValueError naming the limit."""
        names = {f"c{n}" for n in range(MAX_CHECKS_NAMED + 1)}
        with pytest.raises(ValueError, match=f"at most {MAX_CHECKS_NAMED} checks"):
            await store.stats(period="day", since=T0, checks=names)

    async def test_errors_are_counted_but_not_timed(self, store: ResultStore) -> None:
        """Errors count in total and errored, not in durations; a bucket of only errors has none."""
        await store.add(record("api", started_at=T0, status=Status.ERROR, duration_ms=9000.0))
        await store.add(record("api", started_at=T0, status=Status.FAIL, duration_ms=30.0))
        await store.add(record("api", started_at=T0, status=Status.PASS, duration_ms=10.0))
        await store.add(record("home", started_at=T0, status=Status.ERROR, duration_ms=5.0))
        api, home = await store.stats(period="day", since=T0)
        assert (api.total, api.passed, api.failed, api.errored) == (3, 1, 1, 1)
        assert (api.avg_ms, api.max_ms, api.uptime) == (20.0, 30.0, 0.5)
        assert home == StatsBucket("home", bucket_start(T0, "day"), 1, 0, 0, 0, 1, None, None)
        assert home.uptime is None

    async def test_empty(self, store: ResultStore) -> None:
        """No results means no buckets."""
        assert await store.stats(period="day", since=T0) == []

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"period": "day", "since": datetime(2025, 3, 1)}, "since"),  # naive on purpose
            ({"period": "week", "since": T0}, "period"),
        ],
        ids=["naive-since", "unknown-period"],
    )
    async def test_bad_arguments(
        self, store: ResultStore, kwargs: dict[str, Any], match: str
    ) -> None:
        """A naive since or a period other than hour or day is refused, named."""
        with pytest.raises(ValueError, match=match):
            await store.stats(**kwargs)


class TestLatestTable:
    async def test_newest_id_after_many_adds(self, store: ResultStore) -> None:
        """After adds in random time order, latest holds the largest id of every (check, region)."""
        records = random_records(60, seed=11)
        ids = await add_all(store, records)
        latest = await store.latest()
        assert {(r.check, r.region): r.id for r in latest} == newest_ids(records, ids)
        assert [(r.check, r.region) for r in latest] == sorted((r.check, r.region) for r in latest)
        assert len(await store.latest(region="eu")) == len(
            {r.check for r in records if r.region == "eu"}
        )

    async def test_concurrent_writers_keep_the_largest_id(self, store_url: str) -> None:
        """Two stores adding to the same (check, region) at once leave latest on the largest id."""
        async with (
            await ResultStore.open(store_url) as one,
            await ResultStore.open(store_url) as two,
        ):
            batches = await asyncio.gather(
                *(s.add(record("api", "eu")) for _ in range(6) for s in (one, two))
            )
            (latest,) = await one.latest()
        assert latest.id == max(batches)


class TestRebuild:
    async def test_rebuild_gives_the_rows_add_wrote(
        self, store: ResultStore, store_url: str
    ) -> None:
        """Recomputing the rollups from results (the migration's SQL) reproduces add()'s rows."""
        await add_all(store, random_records(60, seed=3))
        before = (await table_rows(store_url, STATS_SQL), await table_rows(store_url, LATEST_SQL))
        engine = create_engine(_url(store_url))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(rebuild_rollups)
        finally:
            await engine.dispose()
        after = (await table_rows(store_url, STATS_SQL), await table_rows(store_url, LATEST_SQL))
        assert after == before
        assert len(before[0]) > 40

    async def test_upgrade_from_0001_backfills(self, store_url: str) -> None:
        """Opening a 0001 database that has results backfills latest and both stats periods."""
        records = random_records(120, seed=5)
        engine = create_engine(_url(store_url))
        try:
            await upgrade(engine, "0001")
            # Rows as 0001 knew them: wall_ms and wait_ms came with 0004, reason with 0010.
            rows = [
                {k: v for k, v in to_row(r).items() if k not in {"wall_ms", "wait_ms", "reason"}}
                for r in records
            ]
            async with engine.begin() as conn:
                await conn.execute(insert(results), rows)
        finally:
            await engine.dispose()
        async with await ResultStore.open(store_url) as store:
            for period in ("hour", "day"):
                got = await store.stats(period=period, since=T0)
                assert got == expected_buckets(records, period, since=T0)
            latest = await store.latest()
        assert {(r.check, r.region): r.id for r in latest} == newest_ids(
            records, list(range(1, len(records) + 1))
        )

    async def test_downgrade_then_upgrade(self, store_url: str) -> None:
        """0002 downgrades to 0001 keeping results, and upgrading again rebuilds the rollups."""
        records = random_records(40, seed=9)
        async with await ResultStore.open(store_url) as store:
            await add_all(store, records)
        before = await table_rows(store_url, STATS_SQL)
        engine = create_engine(_url(store_url))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0001"))
        finally:
            await engine.dispose()
        assert await table_rows(store_url, "SELECT count(*) FROM results") == [(40,)]
        async with await ResultStore.open(store_url):
            pass
        assert await table_rows(store_url, STATS_SQL) == before


class TestPruneRollups:
    async def test_buckets_wholly_before_the_cutoff_go(self, store: ResultStore) -> None:
        """Hour and day buckets that end by the cutoff go; the ones straddling it stay whole."""
        for back in range(0, 72, 5):
            await store.add(record(started_at=T0 - timedelta(hours=back, minutes=10)))
        cutoff = T0 - timedelta(hours=30, minutes=30)
        await store.prune(cutoff)
        hours = await store.stats(period="hour", since=T0 - timedelta(days=10))
        days = await store.stats(period="day", since=T0 - timedelta(days=10))
        assert min(b.start for b in hours) == bucket_start(cutoff, "hour")
        assert min(b.start for b in days) == bucket_start(cutoff, "day")
        first_day = await store.results("api-health", since=days[0].start)
        kept = [r for r in first_day if r.started_at < days[0].start + timedelta(days=1)]
        assert days[0].total > len(kept) > 0  # the bucket still counts what prune deleted

    async def test_latest_follows_pruned_results(self, store: ResultStore) -> None:
        """A pair left without results has no latest; one whose newest id went gets the next."""
        await store.add(record("gone", started_at=T0 - timedelta(days=2)))
        kept = await store.add(record("moved", started_at=T0))
        await store.add(
            record("moved", started_at=T0 - timedelta(days=2))
        )  # newest id, oldest time
        untouched = await store.add(record("fresh", started_at=T0))
        assert await store.prune(T0 - timedelta(days=1)) == 2
        latest = await store.latest()
        assert [(r.check, r.id) for r in latest] == [("fresh", untouched), ("moved", kept)]


def _url(store_url: str) -> URL:
    return make_url(database_url(store_url))

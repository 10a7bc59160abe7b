"""One result per (run_id, check, region): ``add`` is idempotent and 0008 drops old copies."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import URL, make_url

from monitor.store import ResultStore, database_url
from monitor.store.engine import create_engine
from monitor.store.migrate import upgrade
from monitor.store.records import ResultRecord
from monitor.store.rollups import rebuild_rollups
from monitor.store.rows import to_row
from monitor.store.schema import results
from probes.base import Status
from tests.store.factory import T0, record, table_rows

STATS_SQL = (
    'SELECT "check", region, period, total, passed, failed FROM result_stats '
    'ORDER BY "check", region, period'
)
LATEST_SQL = 'SELECT "check", region, result_id FROM latest_results ORDER BY "check", region'


def _url(store_url: str) -> URL:
    return make_url(database_url(store_url))


class TestIdempotentAdd:
    async def test_same_result_twice_is_stored_once(self, store: ResultStore) -> None:
        """Adding a result already stored returns its id and stores nothing more."""
        first = record(status=Status.FAIL)
        first_id = await store.add(first)
        assert await store.add(first) == first_id
        assert [r.id for r in await store.results(first.check)] == [first_id]

    async def test_rollups_count_it_once(self, store: ResultStore) -> None:
        """The hourly and daily buckets and the latest result see one run, not two."""
        first = record()
        first_id = await store.add(first)
        await store.add(first)
        buckets = await store.stats(period="hour", since=T0)
        assert [b.total for b in buckets] == [1]
        assert [r.id for r in await store.latest()] == [first_id]

    async def test_a_replay_does_not_move_latest_back(self, store: ResultStore) -> None:
        """Re-adding an older run after a newer one leaves the newer one latest."""
        older = record(started_at=T0)
        await store.add(older)
        newer_id = await store.add(record(started_at=T0.replace(minute=5)))
        await store.add(older)
        assert [r.id for r in await store.latest()] == [newer_id]

    async def test_same_run_other_check_or_region_is_another_result(
        self, store: ResultStore
    ) -> None:
        """One run id covers every check and region of a run: those are distinct results."""
        base = record(check="a", region="eu")
        ids = {
            await store.add(base),
            await store.add(dataclasses.replace(base, check="b")),
            await store.add(dataclasses.replace(base, region="us")),
        }
        assert len(ids) == 3

    async def test_one_burst_mixing_new_stored_and_repeated_results(
        self, store: ResultStore
    ) -> None:
        """In one burst, a stored result and a result given twice keep one id each, in order."""
        stored = record(check="a")
        stored_id = await store.add(stored)
        new, repeated = record(check="b"), record(check="c")
        ids = await store.add_many([new, stored, repeated, repeated])
        assert ids[1] == stored_id
        assert ids[2] == ids[3]
        assert stored_id < ids[0] < ids[2]
        assert [b.total for b in await store.stats(period="hour", since=T0)] == [1, 1, 1]


# Columns later migrations added to ``results``: a row written at 0007 has none of them.
AFTER_0007 = frozenset({"reason"})  # 0010


def row_at_0007(record: ResultRecord) -> dict[str, Any]:
    return {k: v for k, v in to_row(record).items() if k not in AFTER_0007}


class TestMigration0008:
    async def test_old_duplicates_are_dropped_and_rollups_rebuilt(self, store_url: str) -> None:
        """A 0007 database holding copies of one run keeps the first; stats count it once."""
        kept = record(check="api", status=Status.FAIL)
        other = record(check="api", started_at=T0.replace(minute=1))
        rows = [row_at_0007(kept), row_at_0007(kept), row_at_0007(other), row_at_0007(kept)]
        engine = create_engine(_url(store_url))
        try:
            await upgrade(engine, "0007")
            async with engine.begin() as conn:
                await conn.execute(insert(results), rows)
                await conn.run_sync(rebuild_rollups)  # rollups as 0007 kept them: 4 runs
        finally:
            await engine.dispose()
        assert await table_rows(store_url, STATS_SQL) == [
            ("api", "local", "day", 4, 1, 3),
            ("api", "local", "hour", 4, 1, 3),
        ]
        async with await ResultStore.open(store_url) as store:
            stored = await store.results("api")
            assert [(r.id, r.run_id) for r in stored] == [(3, other.run_id), (1, kept.run_id)]
            assert await store.add(kept) == 1  # and the unique index now refuses copies
        assert await table_rows(store_url, STATS_SQL) == [
            ("api", "local", "day", 2, 1, 1),
            ("api", "local", "hour", 2, 1, 1),
        ]
        assert await table_rows(store_url, LATEST_SQL) == [("api", "local", 3)]

    async def test_clean_database_keeps_its_rollups(self, store_url: str) -> None:
        """Without duplicates nothing is rebuilt: buckets of pruned results stay."""
        engine = create_engine(_url(store_url))
        try:
            await upgrade(engine, "0007")
            async with engine.begin() as conn:
                await conn.execute(insert(results), [row_at_0007(record())])
                await conn.run_sync(rebuild_rollups)
                await conn.execute(results.delete())  # pruned: only the rollups remember it
        finally:
            await engine.dispose()
        before = await table_rows(store_url, STATS_SQL)
        async with await ResultStore.open(store_url):
            pass
        assert (
            await table_rows(store_url, STATS_SQL)
            == before
            == [
                ("api-health", "local", "day", 1, 1, 0),
                ("api-health", "local", "hour", 1, 1, 0),
            ]
        )

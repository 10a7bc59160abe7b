"""Results stored in bursts (``ResultStore.add_many``, ``ResultWriter``), on SQLite and a
real PostgreSQL: one transaction per burst, the rollups right, nothing lost to a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import ResultStore, StoreUnavailable, database_url
from monitor.store.engine import SQLITE_BUSY_TIMEOUT_MS
from monitor.store.rollups import rebuild_rollups
from monitor.store.writer import ResultWriter
from tests.store.factory import random_records, record, table_rows
from tests.store.test_store import closed_port

pytestmark = pytest.mark.timeout(120)

ROLLUP_SQL = {
    "latest": 'SELECT "check", region, result_id FROM latest_results ORDER BY 1, 2',
    "stats": 'SELECT "check", region, period, bucket_start, total, passed, degraded, failed, '
    "errored, sum_ms, max_ms FROM result_stats ORDER BY 1, 2, 3, 4",
}


class Log:
    """Collects structlog-style calls: the writer's log seam."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def __getattr__(self, level: str) -> object:
        return lambda event, **fields: self.events.append((event, fields))


async def rollups(url: str) -> dict[str, list[tuple[object, ...]]]:
    return {name: await table_rows(url, sql) for name, sql in ROLLUP_SQL.items()}


class TestAddMany:
    async def test_burst_matches_rollups_rebuilt_from_results(
        self, store: ResultStore, store_url: str
    ) -> None:
        """Bursts that repeat checks and buckets leave the rollups a rebuild from results gives."""
        records = random_records(300, span=timedelta(days=2))
        ids = []
        for start in range(0, len(records), 120):
            ids += await store.add_many(records[start : start + 120])
        assert ids == sorted(ids)
        assert len(set(ids)) == len(records)
        written = await rollups(store_url)
        engine = store._engine
        async with engine.begin() as conn:
            await conn.run_sync(rebuild_rollups)
        assert written == await rollups(store_url)

    async def test_replayed_results_are_stored_and_counted_once(
        self, store: ResultStore, store_url: str
    ) -> None:
        """A burst repeating stored results returns their ids and counts only the new ones."""
        first = [record("api"), record("api")]
        ids = await store.add_many(first)
        again = await store.add_many([first[1], record("api"), first[0]])
        assert (again[0], again[2]) == (ids[1], ids[0])
        assert again[1] > ids[1]
        totals = await table_rows(
            store_url, "SELECT period, total FROM result_stats ORDER BY period"
        )
        assert totals == [("day", 3), ("hour", 3)]


@contextmanager
def held_lock(store_url: str, seconds: float) -> Iterator[threading.Event]:
    """Another connection holds the database's write lock for ``seconds`` (SQLite: a
    ``BEGIN IMMEDIATE``; PostgreSQL: ``LOCK TABLE results``); yields once it is held."""
    held = threading.Event()

    def hold() -> None:
        if store_url.startswith("sqlite"):
            conn = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            conn.execute("COMMIT")
            conn.close()
            return
        asyncio.run(hold_postgres())

    async def hold_postgres() -> None:
        engine = create_async_engine(database_url(store_url))
        try:
            async with engine.begin() as conn:
                await conn.execute(text("LOCK TABLE results IN EXCLUSIVE MODE"))
                held.set()
                await asyncio.sleep(seconds)
        finally:
            await engine.dispose()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        assert held.wait(10)
        yield held
    finally:
        thread.join(seconds + 10)


class TestResultWriter:
    async def test_burst_through_a_locked_database_loses_nothing(
        self, store: ResultStore, store_url: str
    ) -> None:
        """A lock held longer than SQLite's busy timeout delays the burst; every result lands."""
        writer = ResultWriter(store, log=Log())
        writer.start()
        records = [record(f"check-{n % 40}") for n in range(400)]
        try:
            with held_lock(store_url, SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.0):
                pending = [await writer.submit(r) for r in records]
                ids = await asyncio.gather(*pending)
        finally:
            await writer.close()
        assert ids == sorted(ids)
        stored = await table_rows(store_url, "SELECT run_id FROM results ORDER BY id")
        assert [row[0] for row in stored] == [r.run_id for r in records]
        assert writer.written == len(records)
        assert writer.bursts < len(records) / 10

    async def test_a_full_queue_holds_the_producer_back(
        self, store: ResultStore, store_url: str
    ) -> None:
        """While a burst waits on a lock, ``submit`` waits once ``max_pending`` results queue."""
        writer = ResultWriter(store, log=Log(), max_pending=3)
        writer.start()
        try:
            with held_lock(store_url, 2.0):
                first = await writer.submit(record())
                await asyncio.sleep(0.2)  # the writer has taken it and waits on the lock
                queued = [await writer.submit(record()) for _ in range(3)]
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(writer.submit(record()), 0.3)
                assert writer.pending == 3
                await asyncio.gather(first, *queued)
        finally:
            await writer.close()
        assert len(await table_rows(store_url, "SELECT id FROM results")) == 4

    async def test_unreachable_store_fails_every_result_after_the_retries(self) -> None:
        """A store that stays unreachable: each result gets ``StoreUnavailable`` (its caller
        spools it) after one logged retry per delay; the writer keeps running."""
        url = f"postgresql://smokewatch@127.0.0.1:{closed_port()}/none"
        store = await ResultStore.open(url, migrate=False)
        log = Log()
        writer = ResultWriter(store, log=log, retry_delays=(0.01, 0.02))
        writer.start()
        try:
            pending = [await writer.submit(record()) for _ in range(5)]
            outcomes = await asyncio.gather(*pending, return_exceptions=True)
            assert all(isinstance(o, StoreUnavailable) for o in outcomes)
            assert [e for e, _ in log.events].count("store.write_retry") == 2
            with pytest.raises(StoreUnavailable):
                await writer.write(record())
        finally:
            await writer.close()
            await store.close()

    async def test_results_queued_behind_a_failed_burst_fail_with_it(self) -> None:
        """When a burst has failed every try, the results queued behind it get the same
        ``StoreUnavailable`` at once (their callers spool them) instead of each burst
        waiting out its own tries; the store is tried again for the next submission."""
        url = f"postgresql://smokewatch@127.0.0.1:{closed_port()}/none"
        store = await ResultStore.open(url, migrate=False)
        log = Log()
        writer = ResultWriter(store, log=log, max_batch=10, retry_delays=(0.01, 0.02))
        writer.start()
        try:
            pending = [await writer.submit(record()) for _ in range(50)]  # 10 taken, 40 queued
            outcomes = await asyncio.gather(*pending, return_exceptions=True)
            assert all(isinstance(o, StoreUnavailable) for o in outcomes)
            events = [e for e, _ in log.events]
            assert events.count("store.write_retry") == 2  # one burst's tries, not five
            assert [f["results"] for e, f in log.events if e == "store.queue_failed"] == [40]
            assert writer.failed == 50
            with pytest.raises(StoreUnavailable):
                await writer.write(record())
            assert [e for e, _ in log.events].count("store.write_retry") == 4
        finally:
            await writer.close()
            await store.close()


class TestSpacing:
    """Bursts are committed at least ``spacing_s`` apart: results that trickle in share a
    transaction, a lone one after a quiet spell is written at once."""

    async def test_results_trickling_in_share_bursts(self, store: ResultStore) -> None:
        """20 results, one every 20 ms, with a 0.25 s spacing go in a few bursts, not 20;
        none waits much more than the spacing."""
        writer = ResultWriter(store, log=Log(), spacing_s=0.25)
        writer.start()
        waits: list[float] = []

        async def timed(submitted: float, pending: asyncio.Future[int]) -> None:
            await pending
            waits.append(time.monotonic() - submitted)

        try:
            tracked = []
            for _ in range(20):
                tracked.append(
                    asyncio.ensure_future(timed(time.monotonic(), await writer.submit(record())))
                )
                await asyncio.sleep(0.02)
            await asyncio.gather(*tracked)
        finally:
            await writer.close()
        assert writer.written == 20
        assert writer.bursts <= 5
        assert max(waits) < 0.25 + 0.5  # the spacing, plus a transaction on a busy machine

    async def test_a_lone_result_is_written_at_once(self, store: ResultStore) -> None:
        """A result that comes when the last burst is older than the spacing does not wait
        for it: with a 5 s spacing, two results 5.2 s apart are each stored within 1 s."""
        writer = ResultWriter(store, log=Log(), spacing_s=5.0)
        writer.start()
        try:
            began = time.monotonic()
            await writer.write(record())
            assert time.monotonic() - began < 1.0
            await asyncio.sleep(5.2)
            began = time.monotonic()
            await writer.write(record())
            assert time.monotonic() - began < 1.0
        finally:
            await writer.close()
        assert writer.bursts == 2

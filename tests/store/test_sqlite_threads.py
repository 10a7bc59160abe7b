"""A SQLite file's results are written and read on threads of the store's own: each
transaction is one hop off the event loop, waiting for the write lock never holds the
loop, and a write whose caller gave up still ends whole."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.store import ResultStore
from tests.store.factory import record, table_rows
from tests.store.test_writer import held_lock

pytestmark = pytest.mark.timeout(60)


@contextmanager
def wake_ups(loop: asyncio.AbstractEventLoop) -> Iterator[list[int]]:
    """Counts the calls other threads make to wake ``loop`` (``call_soon_threadsafe``),
    the way every finished hop to a driver's thread reaches it.  Wraps the real method."""
    count = [0]
    real = loop.call_soon_threadsafe

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(*args, **kwargs)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
    try:
        yield count
    finally:
        loop.call_soon_threadsafe = real  # type: ignore[method-assign]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


class TestOneHop:
    @pytest.mark.parametrize("size", [1, 50])
    async def test_a_burst_wakes_the_loop_once(self, sqlite_url: str, size: int) -> None:
        """Storing a burst, one result or fifty, wakes the event loop once, when it has
        committed (through aiosqlite it was once per driver call: 15 for one result)."""
        async with await ResultStore.open(sqlite_url) as store:
            await store.add(record("warm-up"))
            loop = asyncio.get_running_loop()
            with wake_ups(loop) as count:
                ids = await store.add_many([record(f"check-{n}") for n in range(size)])
            assert len(ids) == size
            assert count[0] == 1

    async def test_a_read_wakes_the_loop_once(self, sqlite_url: str) -> None:
        """A page of a check's results, the latest results and the newest id: one
        wake-up each (through aiosqlite a page of results took 8)."""
        async with await ResultStore.open(sqlite_url) as store:
            stored = await store.add_many([record("api") for _ in range(5)])
            loop = asyncio.get_running_loop()
            with wake_ups(loop) as count:
                page = await store.results("api", limit=3)
            assert ([r.id for r in page], count[0]) == (stored[:-4:-1], 1)
            with wake_ups(loop) as count:
                latest = await store.latest()
            assert ([r.id for r in latest], count[0]) == ([stored[-1]], 1)
            with wake_ups(loop) as count:
                newest = await store.newest_result_id()
            assert (newest, count[0]) == (stored[-1], 1)

    async def test_waiting_for_the_write_lock_leaves_the_loop_free(self, sqlite_url: str) -> None:
        """While another process holds the write lock, the burst waits on the store's
        thread: the event loop goes on ticking every 10 ms."""
        async with await ResultStore.open(sqlite_url) as store:
            gaps: list[float] = []
            stop = asyncio.Event()

            async def tick() -> None:
                last = time.monotonic()
                while not stop.is_set():
                    await asyncio.sleep(0.01)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            ticker = asyncio.create_task(tick())
            with held_lock(sqlite_url, 1.0):
                started = time.monotonic()
                await store.add(record("api"))
                waited = time.monotonic() - started
            stop.set()
            await ticker
        assert waited >= 0.5
        assert max(gaps) < 0.2


class TestGivingUp:
    async def test_a_cancelled_write_ends_whole_and_close_waits_for_it(
        self, sqlite_url: str
    ) -> None:
        """A caller cancelled while its burst waits for the lock does not cut the
        transaction short: after ``close`` the burst is stored whole, counted once in
        the rollups, and the file is free for the next opener."""
        store = await ResultStore.open(sqlite_url)
        burst = [record("api"), record("api"), record("db")]
        with held_lock(sqlite_url, 1.0):
            writing = asyncio.create_task(store.add_many(burst))
            await asyncio.sleep(0.2)
            writing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await writing
        await store.close()
        stored = await table_rows(sqlite_url, "SELECT run_id FROM results ORDER BY id")
        assert [row[0] for row in stored] == [r.run_id for r in burst]
        totals = await table_rows(
            sqlite_url,
            "SELECT \"check\", total FROM result_stats WHERE period = 'day' ORDER BY 1",
        )
        assert totals == [("api", 2), ("db", 1)]
        async with await ResultStore.open(sqlite_url) as again:
            assert len(await again.add_many([record("api")])) == 1

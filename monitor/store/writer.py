"""One writer task that stores results in bursts: one transaction per burst, none lost.

    writer = ResultWriter(store, log=log)
    writer.start()                         # in a running event loop
    pending = await writer.submit(record)  # waits while the queue is full (back-pressure)
    result_id = await pending              # once the burst holding it is committed
    await writer.close()                   # stores what is queued, then stops

Results queue in a bounded :class:`asyncio.Queue` (``max_pending``): a runner that
produces faster than the store commits waits in :meth:`submit`, it never grows a list
without bound.  The writer takes everything queued (at most ``max_batch``) and stores
it with :meth:`ResultStore.add_many`: one transaction, one ``latest_results`` upsert
and one ``result_stats`` upsert per burst.  Bursts are at least ``spacing_s`` apart: a
result that comes when the last commit is older than that is written at once, one
that comes sooner waits for the rest of the spacing, with whatever else arrives
meanwhile.  A transaction costs about 3 ms of CPU on SQLite and a result in it about
0.2 ms, so results arriving a few a second (a thousand checks a minute) would otherwise
each be a transaction of their own; the wait a result can add is bounded by the
spacing (0.25 s).  Results are stored in the order they were submitted.

A burst the database cannot take because it is unavailable or locked is tried again
after each of ``retry_delays``; when the last try fails, every result of the burst
gets the :class:`StoreError` and its caller falls back as it would for a single write
(``serve`` spools it, :mod:`monitor.runtime.spool`), and so does every result queued
behind it at that moment, without trying the store again: each burst would wait out the
same tries (up to 16 s each behind a locked SQLite file), holding up the runs' recording
and a shutdown.  The next burst submitted tries the store afresh.  A burst the database
refuses for another reason is stored one result at a time, so one bad result fails alone.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Sequence
from typing import Any

from monitor.store.errors import StoreError, StoreUnavailable
from monitor.store.records import ResultRecord
from monitor.store.store import ResultStore

MAX_PENDING = 2_000
MAX_BATCH = 500
# The least time between two bursts' commits (see the module docstring): the most a
# result waits to be batched with the next ones.
SPACING_S = 0.25
# Waits between tries of a burst the database could not take (locked, unreachable); each
# try also waits out SQLite's busy timeout.  Bounded: then the results go to the spool.
RETRY_DELAYS_S = (0.2, 1.0)

# Upper bounds of the burst-size histogram /metrics shows (results per transaction).
BURST_BOUNDS = (1, 5, 10, 50, 100, 250, 500)

_Item = tuple[ResultRecord, "asyncio.Future[int]"]


class ResultWriter:
    """Stores submitted results in bursts on one task.  Start in a running loop; close once."""

    def __init__(
        self,
        store: ResultStore,
        *,
        log: Any,
        max_pending: int = MAX_PENDING,
        max_batch: int = MAX_BATCH,
        retry_delays: Sequence[float] = RETRY_DELAYS_S,
        spacing_s: float = SPACING_S,
    ) -> None:
        self._store = store
        self._log = log
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max_pending)
        self._max_batch = max_batch
        self._spacing_s = spacing_s
        self._last_burst: float | None = None  # loop time the last burst ended
        self._retry_delays = tuple(retry_delays)
        self._task: asyncio.Task[None] | None = None
        self.bursts = 0  # transactions committed
        self.written = 0  # results stored
        self.retries = 0  # tries again of a burst the database could not take
        self.failed = 0  # results handed back with a StoreError (serve spools them)
        # Committed bursts by size: one count per BURST_BOUNDS bound, then one for larger.
        self.burst_sizes = [0] * (len(BURST_BOUNDS) + 1)

    @property
    def pending(self) -> int:
        """Results queued, not yet taken into a burst."""
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="smokewatch-writer")

    async def submit(self, record: ResultRecord) -> asyncio.Future[int]:
        """Queue ``record`` (waiting while the queue is full); the future gets its id, or
        the :class:`StoreError` that kept it out of the store."""
        if self._task is None or self._task.done():
            raise RuntimeError("the result writer is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put((record, future))
        return future

    async def write(self, record: ResultRecord) -> int:
        """Store one result through the queue; its id (or :class:`StoreError`)."""
        return await (await self.submit(record))

    async def close(self) -> None:
        """Store everything already queued, then stop the writer task."""
        task, self._task = self._task, None
        if task is None:
            return
        await self._queue.join()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            if self._last_burst is not None:
                wait = self._last_burst + self._spacing_s - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # what arrives meanwhile joins this burst
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as exc:  # noqa: BLE001 -- the writer must outlive any one burst
                self._log.exception("store.write_failed", error=type(exc).__name__)
                self._fail(batch, StoreError(f"storing {len(batch)} result(s) failed: {exc}"))
            finally:
                self._last_burst = loop.time()
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Item]) -> None:
        records = [record for record, _ in batch]
        try:
            ids = await self._add_with_retries(records)
        except StoreUnavailable as exc:
            self._fail(batch, exc)
            self._fail_queued(exc)
            return
        except StoreError:
            await self._write_one_by_one(batch)
            return
        self._committed(len(ids))
        for (_, future), result_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(result_id)

    async def _add_with_retries(self, records: list[ResultRecord]) -> list[int]:
        delays = iter(self._retry_delays)
        attempt = 1
        while True:
            try:
                return await self._store.add_many(records)
            except StoreUnavailable as exc:
                delay = next(delays, None)
                if delay is None:
                    raise
                self.retries += 1
                self._log.warning(
                    "store.write_retry",
                    results=len(records),
                    attempt=attempt,
                    delay_s=delay,
                    reason=str(exc),
                )
            await asyncio.sleep(delay)
            attempt += 1

    async def _write_one_by_one(self, batch: list[_Item]) -> None:
        for record, future in batch:
            try:
                (result_id,) = await self._add_with_retries([record])
            except StoreError as exc:
                self._fail([(record, future)], exc)
                continue
            self._committed(1)
            if not future.done():
                future.set_result(result_id)

    def _committed(self, results: int) -> None:
        self.bursts += 1
        self.written += results
        self.burst_sizes[bisect.bisect_left(BURST_BOUNDS, results)] += 1

    def _fail_queued(self, exc: StoreUnavailable) -> None:
        """Hand ``exc`` to every result queued now: the store just failed all its tries."""
        queued: list[_Item] = []
        while not self._queue.empty():
            queued.append(self._queue.get_nowait())
        if not queued:
            return
        self._log.warning("store.queue_failed", results=len(queued), reason=str(exc))
        self._fail(queued, exc)
        for _ in queued:
            self._queue.task_done()

    def _fail(self, batch: list[_Item], exc: StoreError) -> None:
        for _, future in batch:
            if not future.done():
                self.failed += 1
                future.set_exception(exc)

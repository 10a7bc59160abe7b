"""A small in-memory cache for rendered status answers, one per app (never global).

Status answers are read far more often than results change, so each is computed at
most once per ``ttl`` and served as ready-made bytes.  Concurrent misses share one
computation, and an answer that expired less than ``ttl`` ago is served while a
fresh one is computed in the background: no request waits on the store at expiry.

Each answer may carry a ``version`` (the newest stored result's id): an answer of
another version is not served, fresh or stale, so a result stored since the answer
was made is on the next answer at once, whatever the ttl.

Except for a costly answer: one that took ``SLOW_ANSWER_S`` or more to make (a status
of thousands of checks; a key's first answer, which pays one-time costs, aside).  It
is rebuilt at most once per ``REBUILD_FACTOR`` times what it cost, serving the answer
it has meanwhile, so that results stored every few milliseconds cannot keep a core
busy rebuilding it (at most a ``1 / REBUILD_FACTOR`` share per answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SLOW_ANSWER_S = 0.25
REBUILD_FACTOR = 10.0


@dataclass(frozen=True, slots=True)
class _Entry:
    value: bytes
    fresh_until: float
    stale_until: float
    version: int | None
    made_at: float = 0.0
    cost: float = 0.0  # seconds it took to make


class AnswerCache:
    """Caches ``bytes`` by key for a time-to-live given at each lookup."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._pending: dict[tuple[str, int | None], asyncio.Task[bytes]] = {}
        self._tasks: set[asyncio.Task[bytes]] = set()  # strong references until done
        self._generation = 0

    async def get(
        self,
        key: str,
        ttl: float,
        compute: Callable[[], Awaitable[bytes]],
        *,
        version: int | None = None,
    ) -> bytes:
        """The cached answer for ``key`` at ``version``, computing it with ``compute`` when
        needed."""
        if ttl <= 0:
            return await compute()
        now = self._clock()
        entry = self._entries.get(key)
        served: bytes | None = None  # answered while a new answer is made
        if entry is not None and entry.version == version:
            if now < entry.fresh_until:
                return entry.value
            if now < entry.stale_until:
                served = entry.value
        elif entry is not None and entry.cost >= SLOW_ANSWER_S:
            # Costly, and made before the newest result: rebuilt at most once per
            # REBUILD_FACTOR times its cost, served meanwhile.
            if now - entry.made_at < REBUILD_FACTOR * entry.cost:
                return entry.value
            if now < entry.stale_until:
                served = entry.value
        # (Any other answer made before the newest result is never served.)
        task = self._pending.get((key, version)) or self._start(key, ttl, compute, version)
        if served is not None:
            return served  # the task refreshes it for the next request
        # shield: a requester that goes away must not cancel the others' answer.
        return await asyncio.shield(task)

    def clear(self) -> None:
        """Forget every answer (after a reload or a manual run); running refreshes are dropped."""
        self._entries.clear()
        self._pending.clear()
        self._generation += 1

    def _start(
        self, key: str, ttl: float, compute: Callable[[], Awaitable[bytes]], version: int | None
    ) -> asyncio.Task[bytes]:
        generation = self._generation
        started = self._clock()

        async def run() -> bytes:
            return await compute()

        task = asyncio.create_task(run(), name=f"answer-cache:{key}")

        def settle(done: asyncio.Task[bytes]) -> None:
            self._tasks.discard(done)
            if self._pending.get((key, version)) is done:
                del self._pending[key, version]
            # Reading the exception marks it retrieved even if every requester went away.
            if done.cancelled() or done.exception() is not None or generation != self._generation:
                return
            now = self._clock()
            current = self._entries.get(key)
            if current is not None and (current.version or 0) > (version or 0):
                return  # a newer answer is already in: keep it
            # A key's first answer pays one-time costs (templates, imports): not counted.
            cost = 0.0 if current is None else now - started
            self._entries[key] = _Entry(
                done.result(), now + ttl, now + 2 * ttl, version, made_at=now, cost=cost
            )

        task.add_done_callback(settle)
        self._tasks.add(task)
        self._pending[key, version] = task
        return task

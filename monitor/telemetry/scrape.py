"""``/metrics`` answers rendered off the event loop, once per change, kept with their gzip.

::

    scrapes = Scrapes(registry, version=lambda: telemetry.ctx.generation, state=...)
    answer = await scrapes.get(request_accept_header)
    answer.body, answer.gzipped, answer.content_type

With thousands of checks a render is ~50,000 lines: seconds of CPU on a loaded
machine.  On the event loop that would stall every API request and every check
start; here it runs in a worker thread, and only when ``version()`` changed since the
last render of that format (a scrape between two results is the cached bytes).
Concurrent scrapes of one version share one render.  The gzip bytes are made in the
same thread, since Prometheus always asks for gzip.

``version`` must change whenever anything the registry shows changes: telemetry's
generation (recorded runs, counted failures); ``state``, the state of the collectors
read at scrape time (spool, writer).  A render may show data newer than its version
(results kept arriving while it ran); never older.

Except after a costly render: one that took ``SLOW_RENDER_S`` or more (tens of
thousands of series).  While results arrive every few milliseconds each scrape would
render again, and scrapes every 100 ms would keep a core busy.  So a costly answer is
rendered again at most once per ``RERENDER_FACTOR`` times what it cost, served
meanwhile for a newer ``version``: a 0.5 s render is at most 5 s old, and a
Prometheus that scrapes every 15 s still gets a fresh render each time.  A change of
``state`` (the store went away, the spool filled) is rendered at once, whatever the cost.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

from prometheus_client.registry import Collector

from monitor.telemetry.exposition import Format, negotiate

# Level 1: ~4x cheaper than 6 on exposition text for ~20 % more bytes (bench/telemetry.py).
GZIP_LEVEL: Final = 1
# A render this costly is redone at most once per RERENDER_FACTOR times its cost (the
# rule of the status answers' cache, monitor.api.cache).
SLOW_RENDER_S: Final = 0.25
RERENDER_FACTOR: Final = 10.0


@dataclass(frozen=True, slots=True)
class Exposition:
    """One rendered answer: the body, the same gzip-compressed, and its content type."""

    body: bytes
    gzipped: bytes
    content_type: str


def render(registry: Collector, fmt: Format) -> Exposition:
    """The registry in ``fmt`` with its gzip bytes (blocking: call it in a thread)."""
    body = fmt.render(registry)
    return Exposition(body, gzip.compress(body, GZIP_LEVEL, mtime=0), fmt.content_type)


@dataclass(frozen=True, slots=True)
class _Done:
    version: Hashable
    state: Hashable
    answer: Exposition
    number: int  # the render's number: a render that ends after a newer one never wins
    started: float  # clock at the render's start
    cost: float  # seconds it took


class Scrapes:
    """The cached ``/metrics`` answers of one registry, one per exposition format."""

    def __init__(
        self,
        registry: Collector,
        version: Callable[[], Hashable],
        *,
        state: Callable[[], Hashable] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._version = version
        self._state = state
        self._clock = clock
        self._done: dict[str, _Done] = {}  # by content type
        self._pending: dict[tuple[str, Hashable, Hashable], asyncio.Task[Exposition]] = {}
        self.renders = 0  # renders started (tests and benches read it)

    async def get(self, accept: str | None = None) -> Exposition:
        """The answer for the format ``accept`` prefers, rendered in a thread if stale."""
        fmt = negotiate(accept)
        version, state = self._version(), self._state()
        done = self._done.get(fmt.content_type)
        if done is not None and done.state == state:
            if done.version == version:
                return done.answer
            if done.cost >= SLOW_RENDER_S and (
                self._clock() - done.started < RERENDER_FACTOR * done.cost
            ):
                return done.answer  # costly: not again so soon (see the module's docstring)
        key = (fmt.content_type, version, state)
        task = self._pending.get(key)
        if task is None:
            self.renders += 1
            task = asyncio.create_task(self._render(fmt, key, self.renders))
            self._pending[key] = task
        # shield: a scraper that goes away must not cancel the others' answer.
        return await asyncio.shield(task)

    async def _render(
        self, fmt: Format, key: tuple[str, Hashable, Hashable], number: int
    ) -> Exposition:
        started = self._clock()
        try:
            answer = await asyncio.to_thread(render, self._registry, fmt)
        finally:
            del self._pending[key]
        done = self._done.get(fmt.content_type)
        if done is None or done.number < number:
            cost = self._clock() - started
            self._done[fmt.content_type] = _Done(key[1], key[2], answer, number, started, cost)
        return answer

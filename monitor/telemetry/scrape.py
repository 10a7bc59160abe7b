"""``/metrics`` answers rendered off the event loop, once per change, kept with their gzip.

::

    scrapes = Scrapes(registry, version=lambda: (telemetry.ctx.generation, ...))
    answer = await scrapes.get(request_accept_header)
    answer.body, answer.gzipped, answer.content_type

With thousands of checks a render is ~50,000 lines: seconds of CPU on a loaded
machine.  On the event loop that would stall every API request and every check
start; here it runs in a worker thread, and only when ``version()`` changed since the
last render of that format (a scrape between two results is the cached bytes).
Concurrent scrapes of one version share one render.  The gzip bytes are made in the
same thread, since Prometheus always asks for gzip.

``version`` must change whenever anything the registry shows changes: telemetry's
generation plus the state of the collectors read at scrape time (spool, writer).
A render may show data newer than its version (results kept arriving while it ran);
never older.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

from prometheus_client.registry import Collector

from monitor.telemetry.exposition import Format, negotiate

# Level 1: ~4x cheaper than 6 on exposition text for ~20 % more bytes (bench/telemetry.py).
GZIP_LEVEL: Final = 1


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


class Scrapes:
    """The cached ``/metrics`` answers of one registry, one per exposition format."""

    def __init__(self, registry: Collector, version: Callable[[], Hashable]) -> None:
        self._registry = registry
        self._version = version
        # content type -> (version, answer, render number): a render that ends after a
        # newer one never replaces the newer answer.
        self._done: dict[str, tuple[Hashable, Exposition, int]] = {}
        self._pending: dict[tuple[str, Hashable], asyncio.Task[Exposition]] = {}
        self.renders = 0  # renders started (tests and benches read it)

    async def get(self, accept: str | None = None) -> Exposition:
        """The answer for the format ``accept`` prefers, rendered in a thread if stale."""
        fmt = negotiate(accept)
        version = self._version()
        done = self._done.get(fmt.content_type)
        if done is not None and done[0] == version:
            return done[1]
        key = (fmt.content_type, version)
        task = self._pending.get(key)
        if task is None:
            self.renders += 1
            task = asyncio.create_task(self._render(fmt, version, self.renders))
            self._pending[key] = task
        # shield: a scraper that goes away must not cancel the others' answer.
        return await asyncio.shield(task)

    async def _render(self, fmt: Format, version: Hashable, number: int) -> Exposition:
        try:
            answer = await asyncio.to_thread(render, self._registry, fmt)
        finally:
            del self._pending[(fmt.content_type, version)]
        done = self._done.get(fmt.content_type)
        if done is None or done[2] < number:
            self._done[fmt.content_type] = (version, answer, number)
        return answer

"""A per-origin request budget that keeps the monitor far under a target's rate limit.

Budgets are kept per origin (scheme, host, port): two services on one host name never
share one.  A ``rate_limit.hosts`` key may be an origin (``http://127.0.0.1:8080``) or
a bare host (``127.0.0.1``), which groups all its origins into one budget on purpose.
Learning from headers (``learn_from_headers``) only ever changes the origin that sent them.

Each origin gets ``fraction`` (default 10 %) of its declared limit: declared in config,
or learnt from the target's ``X-RateLimit-Limit`` / ``RateLimit-Limit`` headers when
lower.  A sliding window of send times admits a request when the window has room,
else waits for the oldest send to age out.  A 429 (or ``Remaining: 0``) closes the
host until ``Retry-After`` (or the reset time) passes.  A wait longer than
``max_wait`` raises :class:`probes.base.GateClosed` instead of queueing forever.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.config.models import RateLimit
from monitor.scheduling.shares import budget_key, share, window_s
from probes.base import GateClosed
from probes.retry import parse_retry_after

if TYPE_CHECKING:
    import httpx

_DEFAULT_BLOCK_S = 60.0
_EPOCH_THRESHOLD = 1_000_000_000  # a reset value this large is a Unix time, not a delta


@dataclass(slots=True)
class _Host:
    budget: int
    window_s: float
    configured: bool
    sent: collections.deque[float] = field(default_factory=collections.deque)
    closed_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostBudget:
    """The service's :class:`probes.base.RequestGate`."""

    def __init__(
        self,
        settings: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}

    def budget(self, host: str) -> tuple[int, float]:
        """Requests allowed per window (seconds) for an origin (or a bare host)."""
        state = self._host(host)
        return state.budget, state.window_s

    async def acquire(self, host: str) -> None:
        state = self._host(host)
        async with state.lock:
            while True:
                now = self._clock()
                while state.sent and state.sent[0] <= now - state.window_s:
                    state.sent.popleft()
                wait = max(state.closed_until - now, 0.0)
                if not wait and len(state.sent) >= state.budget:
                    wait = state.sent[0] + state.window_s - now
                if wait <= 0:
                    state.sent.append(now)
                    return
                if wait > self._settings.max_wait.total_seconds():
                    raise GateClosed(
                        f"request budget for {host} is spent "
                        f"({state.budget} per {state.window_s:g} s); next slot in {wait:.0f} s"
                    )
                await self._sleep(wait)

    async def acquire_uncounted(self, host: str) -> None:
        """Admit a request the budget does not count (a re-measurement of a verdict the
        monitor's own hold-up could explain): it waits only while the origin is closed by
        a 429 or an exhausted ``X-RateLimit-Remaining``, and never behind counted requests."""
        wait = max(self._host(host).closed_until - self._clock(), 0.0)
        if wait > self._settings.max_wait.total_seconds():
            raise GateClosed(f"{host} asked for no requests for {wait:.0f} s (429 or rate limit)")
        if wait > 0:
            await self._sleep(wait)

    def observe(self, host: str, response: httpx.Response) -> None:
        state = self._host(host)
        headers = response.headers
        declared = _first_int(headers, "x-ratelimit-limit", "ratelimit-limit")
        if declared is not None and not state.configured and self._settings.learn_from_headers:
            state.budget = min(state.budget, self._share(declared))
        now = self._clock()
        if response.status_code == 429:
            delay = parse_retry_after(headers.get("retry-after"))
            state.closed_until = max(state.closed_until, now + (delay or _DEFAULT_BLOCK_S))
        elif _first_int(headers, "x-ratelimit-remaining", "ratelimit-remaining") == 0:
            reset = _first_int(headers, "x-ratelimit-reset", "ratelimit-reset")
            if reset is not None:
                delay = reset - time.time() if reset > _EPOCH_THRESHOLD else float(reset)
                state.closed_until = max(state.closed_until, now + max(delay, 0.0))

    def _host(self, origin: str) -> _Host:
        key, configured = budget_key(self._settings, origin)
        state = self._hosts.get(key)
        if state is None:
            limit = configured or self._settings.default
            state = _Host(
                budget=share(self._settings, limit.limit),
                window_s=window_s(limit),
                configured=configured is not None,
            )
            self._hosts[key] = state
        return state

    def _share(self, limit: int) -> int:
        return share(self._settings, limit)


def _first_int(headers: httpx.Headers, *names: str) -> int | None:
    for name in names:
        raw = headers.get(name)
        if raw is not None:
            try:
                return int(raw.split(",")[0].split(";")[0].strip())
            except ValueError:
                continue
    return None

"""How a request budget is keyed and sized: pure functions, shared by the budget that
gates requests (:mod:`monitor.scheduling.ratelimit`) and the check that a config fits
its budgets (:mod:`monitor.scheduling.budgets`).  A leaf: ``validate`` imports it
without the asyncio machinery the gate needs.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from monitor.config.models import HostLimit, RateLimit

__all__ = ["budget_key", "share", "window_s"]


def budget_key(settings: RateLimit, origin: str) -> tuple[str, HostLimit | None]:
    """The budget key of ``origin`` and its configured limit: origin, else bare host."""
    hosts = settings.hosts
    if not hosts:  # the common case; no need to parse the origin on every request
        return origin, None
    if origin in hosts:
        return origin, hosts[origin]
    host = urlsplit(origin).hostname if "://" in origin else origin
    if host is not None and host in hosts:
        return host, hosts[host]
    return origin, None


def share(settings: RateLimit, limit: int) -> int:
    """Requests per window the monitor allows itself of a declared ``limit``."""
    return max(1, math.floor(limit * settings.fraction))


def window_s(limit: HostLimit) -> float:
    return max(limit.window.total_seconds(), 0.001)

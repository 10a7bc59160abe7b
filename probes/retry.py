"""Waiting before trying again: ``Retry-After`` and exponential backoff, written once.

Probes read ``Retry-After`` from a target; the service core reads it from a rate-limited
host, a notification channel and a metrics backend, and backs off between a check's
attempts, a notification's deliveries and a metrics batch's posts.  ``probes/`` never
imports ``monitor/``, so the one implementation of each lives here and monitor imports it.
Each caller keeps its own policy on top (jitter, how far a ``Retry-After`` may stretch a
wait): README, "Retries".
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, never negative.

    Delay-seconds (``120``; a decimal such as ``1.5`` is accepted too) or an HTTP date
    (one without a zone is read as UTC).  ``None`` when absent, empty or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_s(initial_s: float, factor: float, attempt: int, cap_s: float = math.inf) -> float:
    """The wait after failed attempt ``attempt`` (1 = the first): ``initial * factor**(n-1)``,
    at most ``cap_s``.  Attempts below 1 count as 1."""
    return min(initial_s * factor ** (max(attempt, 1) - 1), cap_s)

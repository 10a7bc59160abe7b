"""APScheduler 3 triggers that keep time: fire times on a fixed grid, shifted by a fixed offset.

APScheduler's own ``jitter`` draws a new random delay for every run and computes the
next run from the delayed one, so delays add up (a 60 s check with 30 s of jitter ran
every 62.7 s on average).  Here each check gets one offset for good, derived from its
name (:func:`fixed_offset_s`), and every fire time is ``grid slot + offset``:

- :class:`AlignedInterval`: slots at whole multiples of the interval from a start time
  (the job's first interval after it was scheduled), plus the offset;
- :class:`Shifted`: any trigger's fire times (a cron expression's) moved by the offset.

Times are computed in whole microseconds, so fire times are exactly one interval apart.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import (  # type: ignore[import-untyped]  # APScheduler 3 ships no types
    BaseTrigger,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000


def fixed_offset_s(name: str, spread_s: float) -> float:
    """A delay in ``[0, spread_s)`` that is the same for ``name`` in every process and run."""
    if spread_s <= 0:
        return 0.0
    digest = hashlib.sha256(name.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return round(fraction * spread_s * _US) / _US


class AlignedInterval(BaseTrigger):  # type: ignore[misc]  # BaseTrigger is untyped
    """Fires at ``start + offset + k * interval`` for k = 0, 1, ...: the first such time
    at or after ``now``, then each one after the previous fire time."""

    def __init__(self, interval_s: float, offset_s: float = 0.0, *, start: datetime) -> None:
        self.interval_us = max(1, round(interval_s * _US))
        self.first_us = _us(start) + round(offset_s * _US)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        if previous_fire_time is None:
            after_us, strictly = _us(now), False
        else:
            after_us, strictly = _us(previous_fire_time), True
        slots, rest = divmod(after_us - self.first_us, self.interval_us)
        if rest or strictly:
            slots += 1
        slots = max(slots, 0)
        return EPOCH + timedelta(microseconds=self.first_us + slots * self.interval_us)

    def __str__(self) -> str:
        first = EPOCH + timedelta(microseconds=self.first_us)
        return f"every {self.interval_us / _US:g} s from {first.isoformat()}"


class Shifted(BaseTrigger):  # type: ignore[misc]  # BaseTrigger is untyped
    """``base``'s fire times, each ``offset_s`` later."""

    def __init__(self, base: Any, offset_s: float) -> None:
        self.base = base
        self.offset = timedelta(microseconds=round(offset_s * _US))

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        previous = None if previous_fire_time is None else previous_fire_time - self.offset
        fire: datetime | None = self.base.get_next_fire_time(previous, now - self.offset)
        return None if fire is None else fire + self.offset

    def __str__(self) -> str:
        return f"{self.base} + {self.offset.total_seconds():g} s"


def _us(at: datetime) -> int:
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds

"""Crontab expressions as APScheduler 3 must read them to mean what crontab means.

Used by the config (to reject a bad expression at load) and by the scheduler.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order: 0 (and 7) is Sunday
_DOW_ITEM = re.compile(r"^(\*|[0-7a-z]{1,3})(?:-([0-7a-z]{1,3}))?(?:/(\d+))?$")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3 reads it, meaning what crontab means.

    APScheduler 3 numbers weekdays from Monday (0) where crontab numbers them from
    Sunday (0 or 7), so ``1-5`` would silently shift by a day.  The field is expanded
    to the days it names and written back as day names: ``1-5`` -> ``mon,tue,wed,thu,fri``.
    Raises ``ValueError`` for anything that is not a crontab weekday field.
    """
    if field == "*":
        return "*"
    days: set[int] = set()
    for item in field.lower().split(","):
        match = _DOW_ITEM.match(item.strip())
        if match is None:
            raise ValueError(f"invalid day-of-week {item!r} in {field!r}")
        first, last, step = match.groups()
        if first == "*":
            low, high = 0, 6
        else:
            low = _weekday(first)
            high = _weekday(last) if last is not None else (6 if step else low)
        if high < low:
            raise ValueError(f"day-of-week range {item!r} runs backwards")
        days.update(day % 7 for day in range(low, high + 1, int(step or 1)))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _weekday(token: str) -> int:
    if token.isdigit():
        value = int(token)
        if value > 7:
            raise ValueError(f"day-of-week {token!r} is not 0-7")
        return value
    if token not in _WEEKDAYS:
        raise ValueError(f"unknown day-of-week {token!r}")
    return _WEEKDAYS.index(token)


def cron_trigger(expr: str) -> Any:
    """A ``CronTrigger`` (UTC) for a 5-field crontab expression; ``ValueError`` if invalid."""
    # Imported here: a config without cron is validated without loading APScheduler.
    from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]  # noqa: PLC0415

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron {expr!r} needs 5 fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=UTC,
    )


def cron_period_s(expr: str) -> float:
    """The gap between an expression's next two fire times; 0 for one that does not parse
    (scheduling it reports it)."""
    try:
        trigger = cron_trigger(expr)
    except ValueError:
        return 0.0
    now = datetime.now(UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    if first is None or second is None:
        return 0.0
    return float((second - first).total_seconds())

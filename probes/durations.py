"""Durations as people write them: `30s`, `30m`, `1h30m`, `5 minutes`, `90d`, or seconds.

The config's sections and the probe specs (a heartbeat's ``period``) share it.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.IGNORECASE)
_EXPECTED = "expected e.g. '30s', '30m', '1h30m', '5 minutes' or a number of seconds"
_WHOLE = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*[a-z]+)+\s*$", re.IGNORECASE)


def parse_duration(value: object) -> timedelta:
    """Parse a duration; raise ``ValueError`` with the accepted forms on anything else."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(_EXPECTED)
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()
    ):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.match(value.replace("_", " ")):
        seconds = 0.0
        for number, written in _PART.findall(value.replace("_", " ")):
            unit = written.lower()
            factor = _UNITS.get(unit) or _UNITS.get(unit.removesuffix("s"))
            if factor is None:
                raise ValueError(f"unknown unit {unit!r} in duration {value!r}")
            seconds += float(number) * factor
    else:
        raise ValueError(f"invalid duration {value!r}: {_EXPECTED}")
    if not math.isfinite(seconds):
        raise ValueError(f"duration {value!r} is not a finite number of seconds")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"duration {value!r} is too long") from None


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(\s*\d+(\.\d+)?\s*[a-zA-Z_ ]+)+$"},
                {"type": "number", "minimum": 0},
            ],
            "description": "A duration: '30s', '30m', '1h30m', '5 minutes', or seconds.",
        }
    ),
]

"""A rule's condition on stored results: a result's value, aggregation, the verdict record.

Per result: ``success`` is 1 for pass/degraded and 0 for fail; an ``error`` (the probe
could not run) is no evidence and gives no value.  ``duration`` is the whole run in
seconds; ``homepage_load`` and ``api_response`` come from the timings exactly as
telemetry exports them (:mod:`monitor.telemetry.base`).  How runs become votes and
votes a verdict is :mod:`monitor.alerting.confirm`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from monitor.config.rules import Condition
from monitor.runner import CheckRun
from monitor.store.records import ResultRecord
from monitor.telemetry.base import api_response_ms, counts_as_up, homepage_load_ms
from probes.base import ProbeResult

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_REDUCERS: dict[str, Callable[[Sequence[float]], float]] = {
    "avg": lambda v: math.fsum(v) / len(v),
    "ratio": lambda v: math.fsum(v) / len(v),  # of 0/1 successes: the share that passed
    "min": min,
    "max": max,
    "count": lambda v: float(len(v)),
    "last": lambda v: v[-1],
}


def _as_run(record: ResultRecord) -> CheckRun:
    # The telemetry helpers read a CheckRun; a stored result carries everything they read.
    result = ProbeResult(
        status=record.status,
        message=record.message,
        timings=dict(record.timings),
        details=cast(dict[str, Any], dict(record.details)),
    )
    return CheckRun(
        check=record.check,
        kind=record.kind,
        region=record.region,
        run_id=record.run_id,
        started_at=record.started_at,
        duration_ms=record.duration_ms,
        attempts=record.attempts,
        result=result,
    )


def result_value(metric: str, record: ResultRecord) -> float | None:
    """The value ``record`` gives ``metric`` in base units, or ``None`` (no evidence)."""
    run = _as_run(record)
    up = counts_as_up(run)
    if up is None:
        return None
    if metric == "smoke_test.success":
        return 1.0 if up else 0.0
    if metric == "smoke_test.duration":
        return record.duration_ms / 1000.0
    ms = api_response_ms(run) if metric == "smoke_test.api_response" else homepage_load_ms(run)
    return None if ms is None else ms / 1000.0


def aggregate(aggregation: str, values: Sequence[float]) -> float | None:
    """``values`` (oldest first) reduced by ``aggregation``; ``None`` for no values."""
    if not values:
        return None
    if aggregation.startswith("p") and aggregation[1:].isdigit():
        # Nearest rank, as the store's uptime summary: the ceil(N/100 * n)-th smallest.
        ordered = sorted(values)
        rank = max(1, math.ceil(int(aggregation[1:]) / 100 * len(ordered)))
        return ordered[rank - 1]
    reduce = _REDUCERS.get(aggregation)
    if reduce is None:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    return reduce(values)


def is_bad(condition: Condition, value: float) -> bool:
    """Does ``value`` meet the condition (the alerting side of it)?"""
    return _OPERATORS[condition.operator](value, condition.threshold)


@dataclass(frozen=True, slots=True)
class Observation:
    """One group's verdict at one evaluation: ``value`` ``None`` means no data.

    ``evidence`` fingerprints the results it rests on, so two evaluations of the same
    results (a timer firing between runs) are not counted as two good evaluations.
    """

    value: float | None
    bad: bool
    regions: tuple[str, ...]  # the bad regions
    evidence: str
    resolved: bool = False  # fewer than min_regions regions still wait for resolve_after goods
    recovering: bool = False  # fewer than min_regions regions have a bad newest run
    streak: int = 0  # good runs in a row (the fewest among regions)
    outage_start: datetime | None = None  # the first failing run's start
    outage_end: datetime | None = None  # the first run of the closing good streak

    @property
    def no_data(self) -> bool:
        return self.value is None

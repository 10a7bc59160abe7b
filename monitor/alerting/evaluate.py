"""A rule's condition over one window of stored results: values, aggregation, verdict.

Per result in ``[now - window, now]``: ``success`` is 1 for pass/degraded and 0 for
fail; an ``error`` (the probe could not run) is no evidence and gives no value.
``duration`` is the whole run in seconds; ``homepage_load`` and ``api_response``
come from the timings exactly as telemetry exports them
(:mod:`monitor.telemetry.base`).  A window without values is *no data*.

With ``min_regions == 1`` a group is one region; with ``min_regions > 1`` the
condition is evaluated per region and the group is bad when at least
``min_regions`` regions are bad (regions without data do not count as bad); its
value is the worst region's.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from monitor.config.rules import AlertRule, Condition
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
class Sample:
    """One result's value for a metric (oldest first in a window)."""

    result_id: int
    value: float


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

    @property
    def no_data(self) -> bool:
        return self.value is None


def observe(rule: AlertRule, by_region: Mapping[str, Sequence[Sample]]) -> Observation:
    """The rule's verdict over per-region samples (one region, or all of an aggregated group)."""
    condition = rule.condition
    values: dict[str, float] = {}
    for region, samples in by_region.items():
        value = aggregate(condition.aggregation, [s.value for s in samples])
        if value is not None:
            values[region] = value
    ids = sorted(s.result_id for samples in by_region.values() for s in samples)
    evidence = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest() if ids else ""
    if not values:
        return Observation(value=None, bad=False, regions=(), evidence=evidence)
    bad = sorted(region for region, value in values.items() if is_bad(condition, value))
    pool = {r: values[r] for r in bad} if bad else values
    return Observation(
        value=_worst(condition, pool),
        bad=len(bad) >= rule.min_regions,
        regions=tuple(bad),
        evidence=evidence,
    )


def _worst(condition: Condition, values: Mapping[str, float]) -> float:
    ordered = [values[r] for r in sorted(values)]
    if condition.operator in ("<", "<="):
        return min(ordered)
    if condition.operator in (">", ">="):
        return max(ordered)
    return ordered[0]

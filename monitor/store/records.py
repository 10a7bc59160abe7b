"""The store's internal records: results, rollup buckets, summaries, incidents.

API response models are separate.  Uptime is ``(passed + degraded) / (passed +
degraded + failed)``: an ``error`` means the probe could not run, and a ``suspect``
result was measured while its region's control check failed; neither is evidence
about the target, so they count neither up nor down (both are tallied as
``errored``) and their durations are left out of every duration figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, Final, Literal, Protocol

from probes.base import Status
from probes.reasons import FailureReason

Period = Literal["hour", "day"]


class DataclassInstance(Protocol):
    """Any dataclass instance (typeshed's private ``_typeshed.DataclassInstance``)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultRecord:
    """One completed check run (after retries), as stored.

    The one list of a result's fields: the store's rows (:mod:`monitor.store.rows`), the
    spool's lines, ``run --once --json`` and the API's result models are made from it
    (``tests/store/test_record_fields.py`` holds the ``results`` table and the API's
    models to it).  Its order is the order of ``run --once --json``'s keys.

    ``run_id`` is the uuid4 hex of the run: one ``run --once`` or one scheduled
    execution.  ``started_at`` is tz-aware; it is stored and read back in UTC.
    ``duration_ms`` is the final real attempt's probe time (no waiting); ``wall_ms`` the
    whole run's wall time; ``wait_ms`` the part spent waiting on budgets and backoff.
    ``message`` was sanitized by the caller.
    ``assertions`` are ``{name, passed, expected, actual}`` dicts.
    ``id`` is ``None`` until the record is read back from the store.
    """

    check: str
    kind: str  # http | flow | browser | websocket
    region: str
    run_id: str
    started_at: datetime
    duration_ms: float
    wall_ms: float = 0.0
    wait_ms: float = 0.0
    status: Status
    attempts: int
    message: str
    reason: FailureReason | None = None  # set on fail and error (README, "Failure reasons")
    timings: dict[str, float]  # milliseconds by phase
    assertions: list[dict[str, object]]
    details: dict[str, object]
    artifacts: list[str]
    id: int | None = None


RESULT_FIELDS: Final = tuple(f.name for f in fields(ResultRecord))
"""Every field of :class:`ResultRecord`, in its order."""


def record_values(record: DataclassInstance, names: Iterable[str]) -> dict[str, Any]:
    """The values of those ``names`` that are fields of ``record`` (a dataclass): the part of
    a record that a model made from it shares, by name."""
    own = {f.name for f in fields(record)}
    return {name: getattr(record, name) for name in names if name in own}


def uptime_ratio(passed: int, degraded: int, failed: int) -> float | None:
    """Share of measured runs in which the target worked; ``None`` with nothing measured."""
    measured = passed + degraded + failed
    if measured == 0:
        return None
    return (passed + degraded) / measured


@dataclass(frozen=True, slots=True)
class StatsBucket:
    """One UTC hour or day of one check: one region's, or all regions' summed.

    ``start`` is the tz-aware UTC start of the bucket.  ``avg_ms`` and ``max_ms``
    cover non-error results; ``None`` when there were none.
    """

    check: str
    start: datetime
    total: int
    passed: int
    degraded: int
    failed: int
    errored: int
    avg_ms: float | None
    max_ms: float | None

    @property
    def uptime(self) -> float | None:
        """``(passed + degraded) / (passed + degraded + failed)``; ``None`` if that is 0/0."""
        return uptime_ratio(self.passed, self.degraded, self.failed)


@dataclass(frozen=True, slots=True)
class UptimeSummary:
    """One check's results started at or after ``since`` (one region, or all when ``None``).

    Durations cover non-error results.  Percentiles are nearest-rank: pN is the
    smallest duration with at least N % of the durations at or below it, i.e. the
    ``ceil(N/100 * n)``-th smallest of ``n`` (PostgreSQL's ``percentile_disc``);
    always a measured value, never an interpolation.
    """

    check: str
    region: str | None
    since: datetime
    total: int
    passed: int
    degraded: int
    failed: int
    errored: int
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    @property
    def uptime(self) -> float | None:
        """``(passed + degraded) / (passed + degraded + failed)``; ``None`` if that is 0/0."""
        return uptime_ratio(self.passed, self.degraded, self.failed)


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An outage of one check in one region: opened by a ``fail``, resolved by a pass.

    ``message`` is the failing result's (already sanitized) message.
    """

    id: int
    check: str
    region: str
    started_at: datetime
    resolved_at: datetime | None
    message: str

    @property
    def open(self) -> bool:
        """Still going on: not resolved yet."""
        return self.resolved_at is None

"""The exporter contract, and what every backend reads the same way from a run.

An exporter turns :class:`~monitor.runner.CheckRun` objects into one backend's
metrics.  :meth:`Exporter.record` is called on the hot path after every run: it
only updates memory (never the network) and never raises.  :meth:`Exporter.flush`
sends what was batched, bounded by the exporter's own timeout; a backend being down
is logged (through :meth:`ExportContext.failed`) and counted in
``smokewatch_telemetry_errors_total{exporter}``, never raised, so it can neither slow
nor fail a run.

Which number feeds which metric, for every backend alike:

* ``duration``: the whole run, retries included (``CheckRun.duration_ms``).
* ``success``: 1 for ``pass``/``degraded``, 0 for ``fail``; an ``error`` (the probe
  could not run: no evidence either way) leaves it untouched, as it leaves incidents.
* ``api_response``: the final attempt's ``timings["total"]`` of ``http`` and ``flow``
  checks (a flow: all its steps), when a response came back.
* ``homepage_load``: the load event (``timings["load"]``) of ``browser`` checks.
* phases: every other timing key of the final attempt (see :func:`phases`).
* ``failures``: ``fail`` and ``error`` runs counted by ``reason`` (:func:`failure_reason`).

The spec's four ``smoke_test.*`` metrics (:func:`points`, in milliseconds) are what
Datadog, New Relic and CloudWatch receive alike.  An exporter that must drop points
(its queue is full, or the backend refused them for good) counts them in
``smokewatch_telemetry_dropped_total{exporter}`` (:meth:`ExportContext.dropped`).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

from prometheus_client import CollectorRegistry, Counter

from monitor.errors import MonitorError
from monitor.runner import CheckRun
from probes.base import Status

T = TypeVar("T")

API_KINDS: Final = frozenset({"http", "flow"})
BROWSER_KINDS: Final = frozenset({"browser"})
BROWSER_TIMINGS: Final = ("ttfb", "dcl", "load", "lcp")
# Timing keys become a ``phase`` label: fixed names, or a flow step named in the config.
_PHASE_KEY = re.compile(r"^(?:[a-z_]{1,32}|step:[A-Za-z0-9_.-]{1,100})$")
_NOT_PHASES: Final = frozenset({"total"})
MAX_PENDING_POINTS: Final = 100_000  # points an HTTP/API exporter queues at most between flushes
# The spec's metric names (milliseconds but success, 0/1), in the order points() gives them.
SPEC_METRICS: Final = (
    "smoke_test.duration",
    "smoke_test.success",
    "smoke_test.homepage_load",
    "smoke_test.api_response",
)


@runtime_checkable
class Exporter(Protocol):
    """One telemetry backend.  A new backend is one module and one line in ``EXPORTERS``."""

    name: str
    sends: bool  # False when :meth:`flush` sends nothing (a scraped exporter: Prometheus)

    def record(self, runs: Sequence[CheckRun]) -> None:
        """Take the runs into memory; cheap, no network, never raises."""

    async def flush(self) -> None:
        """Send what was recorded, within the exporter's timeout; never raises."""

    async def close(self) -> None:
        """Flush what is left and release sockets, threads and clients."""


class ExportContext:
    """What every exporter is built with: the Runtime's registry, region, env and logger."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        region: str,
        env: Mapping[str, str],
        log: Any,
        version: str,
        interval: timedelta | None = None,
    ) -> None:
        self.registry = registry
        self.region = region
        self.env = env
        self.log = log
        self.version = version
        self.interval = interval
        # Bumped whenever telemetry changes the registry: /metrics renders once per change
        # instead of once per scrape (monitor.telemetry.scrape).
        self.generation = 0
        self._errors = Counter(
            "smokewatch_telemetry_errors",
            "Failed deliveries to a telemetry backend (flush, push or heartbeat)",
            ["exporter"],
            registry=registry,
        )

        self._dropped = Counter(
            "smokewatch_telemetry_dropped",
            "Data points a telemetry backend never received (queue full or refused for good)",
            ["exporter"],
            registry=registry,
        )

    def count_errors_of(self, exporter: str) -> None:
        """Export ``exporter``'s error and drop counters at 0 from the start, for increase()."""
        self._errors.labels(exporter)
        self._dropped.labels(exporter)

    def dropped(self, exporter: str, points: int) -> None:
        """Count ``points`` data points that will never reach ``exporter``'s backend."""
        if points > 0:
            self._dropped.labels(exporter).inc(points)
            self.generation += 1

    def failed(self, exporter: str, reason: str) -> None:
        """Log and count one failed delivery.  ``reason`` must hold no secret and no URL."""
        self._errors.labels(exporter).inc()
        self.generation += 1
        self.log.warning("telemetry.failed", exporter=exporter, reason=reason)


class TelemetryRefusedError(MonitorError):
    """A backend answered but refused what we sent (its message names path and status)."""


def describe(exc: BaseException) -> str:
    """An exception as a short reason for a log line (type and message, clipped)."""
    if isinstance(exc, TelemetryRefusedError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name


class Offload:
    """Runs blocking sends in a worker thread, one at a time, bounded by a timeout.

    A send still running when the timeout passes keeps its thread (threads cannot be
    cancelled) but no longer holds up the caller; the next :meth:`run` is refused
    until it finishes, so a hung backend costs at most one thread.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._busy: asyncio.Future[Any] | None = None

    @property
    def busy(self) -> bool:
        return self._busy is not None and not self._busy.done()

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a thread; ``TimeoutError`` if it outlives the timeout or the last one."""
        if self.busy:
            raise TimeoutError("the previous send has not finished")
        future: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(fn))
        future.add_done_callback(_consume)
        self._busy = future
        return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)


def _consume(future: asyncio.Future[Any]) -> None:
    # A send abandoned at its timeout may fail later; its error was already reported.
    if not future.cancelled():
        future.exception()


def counts_as_up(run: CheckRun) -> bool | None:
    """True for pass/degraded, False for fail, None for error or suspect (no evidence)."""
    if not run.status.measured:
        return None
    return run.status.ok


def failure_reason(run: CheckRun) -> str | None:
    """The reason label of a ``fail`` or ``error`` run (README, "Failure reasons"), else None.

    A ``suspect`` run is not counted: the monitor's own network was in doubt.
    """
    if run.status not in (Status.FAIL, Status.ERROR) or run.result.reason is None:
        return None
    return run.result.reason.value


def _responded(run: CheckRun) -> bool:
    # A probe that got no response says why in details["cause"]; its timings then
    # measure how long it took to give up, not the target.
    return run.status.measured and "cause" not in run.result.details


def api_response_ms(run: CheckRun) -> float | None:
    """The API response time of an http or flow check, if a response came back."""
    if run.kind not in API_KINDS or not _responded(run):
        return None
    return run.result.timings.get("total")


def homepage_load_ms(run: CheckRun) -> float | None:
    """The page load (load event) of a browser check, if the page loaded."""
    if run.kind not in BROWSER_KINDS or not _responded(run):
        return None
    return run.result.timings.get("load")


def phases(run: CheckRun) -> dict[str, float]:
    """Timing phases (ms) of the final attempt, ``total`` excluded; empty without a response.

    http: connect, tls, request, first_byte, transfer; flow: ``step:<name>``; websocket:
    connect, reply; tcp: connect, tls, first_byte; tls: connect, tls; heartbeat: job;
    browser: ttfb, dcl, load, lcp.  Keys are bounded label values.
    """
    if not _responded(run):
        return {}
    return {
        key: value
        for key, value in run.result.timings.items()
        if key not in _NOT_PHASES and _PHASE_KEY.match(key)
    }


def points(run: CheckRun) -> list[tuple[str, float]]:
    """The run's spec metrics as ``(name, value)``, milliseconds; none for an ``error``."""
    up = counts_as_up(run)
    if up is None:
        return []
    out: list[tuple[str, float]] = [
        ("smoke_test.duration", round(run.duration_ms, 3)),
        ("smoke_test.success", 1 if up else 0),
    ]
    if (load := homepage_load_ms(run)) is not None:
        out.append(("smoke_test.homepage_load", round(load, 3)))
    if (api := api_response_ms(run)) is not None:
        out.append(("smoke_test.api_response", round(api, 3)))
    return out


def finished_at(run: CheckRun) -> datetime:
    """When the run finished (its start if its duration is not a finite number), aware UTC."""
    started = run.started_at.astimezone(UTC)
    if not math.isfinite(run.duration_ms):
        return started
    return started + timedelta(milliseconds=run.duration_ms)


def admit(
    runs: Iterable[CheckRun], queue: Sized, ctx: ExportContext, exporter: str
) -> Iterator[tuple[CheckRun, list[tuple[str, float]]]]:
    """Each run that has points, with its points, while ``queue`` has room for them.

    The caller appends what it builds from them to ``queue``; the points of a run that
    would take it past :data:`MAX_PENDING_POINTS` are counted as dropped instead, and
    so is a NaN or infinite value (no backend takes one, and one would get the whole
    request refused).
    """
    for run in runs:
        found = points(run)
        finite = [(name, value) for name, value in found if math.isfinite(value)]
        if len(finite) < len(found):
            ctx.dropped(exporter, len(found) - len(finite))
            found = finite
        if not found:
            continue
        if len(queue) + len(found) > MAX_PENDING_POINTS:
            ctx.dropped(exporter, len(found))
            continue
        yield run, found

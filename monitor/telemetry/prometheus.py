"""Prometheus metrics on the Runtime's own registry (never the global default one).

``smokewatch serve`` exposes the registry at ``/metrics``; ``run --once`` pushes the
same registry to a Pushgateway.  Labels are ``check``, ``kind``, ``region`` (plus
``phase`` on timing phases and ``result`` on the run counter): every value comes
from the config or from a fixed set, never from a URL or an error text.

==========================================  =========  ======================================
metric                                      type       value
==========================================  =========  ======================================
``smoke_test_duration_seconds``             histogram  the final attempt's probe time (no waits)
``smoke_test_cleanup_failures_total``       counter    flow runs with a failed cleanup
``smoke_test_success``                      gauge      1 pass/degraded, 0 fail (no error, suspect)
``smoke_test_runs_total{result}``           counter    runs by status, suspect included
``smoke_test_failures_total{reason}``       counter    fail and error runs by failure reason
``smoke_test_api_response_seconds``         gauge      http and flow checks: final ``total``
``smoke_test_homepage_load_seconds``        gauge      browser checks: the load event
``smoke_test_browser_timing_seconds``       gauge      browser: ``phase`` ttfb/dcl/load/lcp
``smoke_test_phase_seconds``                gauge      other kinds' timing phases
``smoke_test_attempts``                     gauge      attempts the last run used (1 = no retry)
``smoke_test_last_run_timestamp_seconds``   gauge      when the check last finished
``probe_success``                           gauge      blackbox-style: 1 pass/degraded, else 0
``probe_duration_seconds``                  gauge      blackbox-style: the final attempt
``probe_http_duration_seconds{phase}``      gauge      blackbox phases of http checks
``probe_http_status_code``                  gauge      http checks: the final status, 0 if none
``probe_ssl_earliest_cert_expiry``          gauge      https checks: the cert's notAfter (Unix s)
``smokewatch_last_run_timestamp_seconds``   gauge      the region's heartbeat (any run)
``smokewatch_run_interval_seconds``         gauge      how often the region should run
``smokewatch_build_info{version}``          gauge      always 1
==========================================  =========  ======================================

``probe_success`` follows the blackbox exporter (anything but success is 0, an
``error`` included); ``smoke_test_success`` follows smokewatch's rule that an
``error`` is no evidence about the target, as the status API does.

The per-check metrics are one custom collector over plain dictionaries, not
``prometheus_client``'s metric objects: those take a lock per update and per
label lookup (~2-5 µs each, 15 updates a run) and add a ``_created`` series per
counter and histogram child, which a scrape of thousands of checks pays for.  Here a
batch of runs takes one lock, and a scrape renders only what a dashboard reads.

A check's sample lines are kept between scrapes and formatted again only after it ran
(:class:`~monitor.telemetry.render.RenderedFamily`): with thousands of checks a scrape
after one result costs the changed check's lines and a join, not 50,000 lines (~0.5 s
of CPU that competed with the event loop for the GIL).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import Gauge
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from monitor.config.telemetry import PrometheusSettings
from monitor.runner import CheckRun
from monitor.telemetry.base import (
    BROWSER_KINDS,
    BROWSER_TIMINGS,
    ExportContext,
    api_response_ms,
    counts_as_up,
    failure_reason,
    homepage_load_ms,
    phases,
)
from monitor.telemetry.render import RenderedFamily, SampleLines
from probes.base import Status

LABELS: Final = ("check", "kind", "region")
# Our HTTP phases as the blackbox exporter names them (it has no separate "request"
# phase: its "processing" runs from the connection being ready to the first byte).
BLACKBOX_PHASES: Final = {
    "connect": "connect",
    "tls": "tls",
    "request": "processing",
    "first_byte": "processing",
    "transfer": "transfer",
}
# name -> help, for the gauges kept per check (seconds unless the name says otherwise).
GAUGES: Final = {
    "smoke_test_success": "1 if the last run passed or degraded, 0 if it failed",
    "smoke_test_api_response_seconds": "API response time (http and flow checks)",
    "smoke_test_homepage_load_seconds": "Page load event (browser checks)",
    "smoke_test_attempts": "Attempts the last run used (1: no retry)",
    "smoke_test_last_run_timestamp_seconds": "When the check last finished",
    "probe_success": "Whether the probe succeeded (blackbox-compatible)",
    "probe_duration_seconds": "How long the final attempt took",
    "probe_http_status_code": "Response HTTP status code of http checks (0: no response)",
    "probe_ssl_earliest_cert_expiry": "Expiry of the https server certificate, Unix seconds",
}
PHASED: Final = {
    "smoke_test_phase_seconds": "Timing phases of the last run's final attempt",
    "smoke_test_browser_timing_seconds": "Browser navigation timings: ttfb, dcl, load, lcp",
    "probe_http_duration_seconds": "HTTP request phases (blackbox-compatible)",
}

Labels = tuple[str, str, str]


@dataclass(slots=True)
class _Check:
    """Everything exported about one (check, kind, region)."""

    buckets: list[int]  # observations per bucket (not cumulative), +Inf last
    total_s: float = 0.0
    runs: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Status})
    gauges: dict[str, float] = field(default_factory=dict)
    phased: dict[str, dict[str, float]] = field(default_factory=dict)
    cleanup_failures: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # fail/error runs by reason


class _ChecksCollector:
    """The per-check metrics, kept in dictionaries and turned into families when scraped."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = tuple(bounds)
        self._le = [*(floatToGoString(b) for b in bounds), "+Inf"]  # type: ignore[no-untyped-call]  # unannotated upstream
        self._checks: dict[Labels, _Check] = {}
        self._changes: dict[Labels, int] = {}  # runs recorded per check
        # Each check's sample lines per family, with the count of runs they show.
        self._lines: dict[Labels, tuple[int, dict[str, str]]] = {}
        self._last_run: dict[str, float] = {}
        self._lock = threading.Lock()  # a scrape may run in another thread
        self._sample_lines = SampleLines()  # its label sets' text kept between renders

    def record(self, runs: Sequence[CheckRun], now: float) -> None:
        with self._lock:
            for run in runs:
                self._record(run, now)
                self._last_run[run.region] = now

    def _record(self, run: CheckRun, now: float) -> None:
        labels = (run.check, run.kind, run.region)
        check = self._checks.get(labels)
        if check is None:
            check = self._checks[labels] = _Check(buckets=[0] * (len(self._bounds) + 1))
        self._changes[labels] = self._changes.get(labels, 0) + 1
        check.runs[run.status.value] += 1
        if (reason := failure_reason(run)) is not None:
            check.failures[reason] = check.failures.get(reason, 0) + 1
        cleanup = run.result.details.get("cleanup")
        if isinstance(cleanup, dict) and cleanup.get("ok") is False:
            check.cleanup_failures += 1
        gauges = check.gauges
        gauges["smoke_test_attempts"] = run.attempts
        gauges["smoke_test_last_run_timestamp_seconds"] = now
        up = counts_as_up(run)
        gauges["probe_success"] = 1.0 if up else 0.0
        gauges["probe_duration_seconds"] = run.result.timings.get("total", run.duration_ms) / 1e3
        if up is None:
            return
        gauges["smoke_test_success"] = 1.0 if up else 0.0
        seconds = run.duration_ms / 1000.0
        check.buckets[bisect.bisect_left(self._bounds, seconds)] += 1
        check.total_s += seconds
        if (api := api_response_ms(run)) is not None:
            gauges["smoke_test_api_response_seconds"] = api / 1000.0
        if (load := homepage_load_ms(run)) is not None:
            gauges["smoke_test_homepage_load_seconds"] = load / 1000.0
        if run.kind == "http":
            _http_gauges(run, gauges)
        self._phases(run, check)

    def _phases(self, run: CheckRun, check: _Check) -> None:
        found = phases(run)
        if run.kind in BROWSER_KINDS:
            browser = check.phased.setdefault("smoke_test_browser_timing_seconds", {})
            browser.update((k, found[k] / 1000.0) for k in BROWSER_TIMINGS if k in found)
            return
        check.phased.setdefault("smoke_test_phase_seconds", {}).update(
            (k, ms / 1000.0) for k, ms in found.items()
        )
        if run.kind == "http" and found:
            blackbox: dict[str, float] = {}
            for key, ms in found.items():
                if (phase := BLACKBOX_PHASES.get(key)) is not None:
                    blackbox[phase] = blackbox.get(phase, 0.0) + ms / 1000.0
            check.phased.setdefault("probe_http_duration_seconds", {}).update(blackbox)

    def describe(self) -> Iterator[Metric]:
        return self._families({}, {})

    def collect(self) -> Iterator[Metric]:
        """The families; their lines are made when first read, each check's formatted
        again only if it ran since."""
        with self._lock:  # a consistent snapshot of what changed, rendered outside the lock
            changes = dict(self._changes)
            kept = {
                labels: lines for labels, (n, lines) in self._lines.items() if changes[labels] == n
            }
            stale = {labels: _copy(c) for labels, c in self._checks.items() if labels not in kept}
            last_run = dict(self._last_run)
        bodies = _LazyBodies(lambda: self._keep(changes, kept, stale))
        samples = _LazySamples(lambda: self._families(self._snapshot(), {}))
        out: list[Metric] = []
        for family in self._families({}, last_run):
            if family.name == HEARTBEAT:
                out.append(family)
                continue
            body, made = bodies.maker(family.name), samples.maker(family.name)
            out.append(RenderedFamily(family.name, family.documentation, family.type, body, made))
        return iter(out)

    def _keep(
        self,
        changes: dict[Labels, int],
        kept: dict[Labels, dict[str, str]],
        stale: dict[Labels, _Check],
    ) -> list[dict[str, str]] | None:
        """Every check's lines per family, in order: the kept ones and the ``stale`` ones
        formatted again (and kept); ``None`` if a family cannot be kept so."""
        fresh = self._render(stale)
        if fresh is None:
            return None
        with self._lock:
            for labels, lines in fresh.items():
                if self._lines.get(labels, (-1, {}))[0] < changes[labels]:
                    self._lines[labels] = (changes[labels], lines)
        return [kept.get(labels) or fresh[labels] for labels in changes]

    def _snapshot(self) -> dict[Labels, _Check]:
        with self._lock:
            return {labels: _copy(c) for labels, c in self._checks.items()}

    def _render(self, checks: dict[Labels, _Check]) -> dict[Labels, dict[str, str]] | None:
        """Each check's sample lines per family; ``None`` if a family cannot be kept so."""
        lines = self._sample_lines
        lines.bound(_LABEL_SETS_PER_CHECK * len(self._checks) + 1000)
        out: dict[Labels, dict[str, str]] = {}
        for labels, check in checks.items():
            mine = out[labels] = {}
            for family in self._families({labels: check}, {}):
                if family.name != HEARTBEAT:
                    body = lines.family(family)
                    if body is None:
                        return None
                    mine[family.name] = body
        return out

    def _families(
        self, checks: dict[Labels, _Check], last_run: dict[str, float]
    ) -> Iterator[Metric]:
        duration = HistogramMetricFamily(
            "smoke_test_duration_seconds",
            "Probe time of a check run's final attempt (waiting and backoff excluded)",
            labels=LABELS,
        )
        runs = CounterMetricFamily(
            "smoke_test_runs", "Check runs by result", labels=(*LABELS, "result")
        )
        cleanups = CounterMetricFamily(
            "smoke_test_cleanup_failures",
            "Flow runs whose cleanup steps failed (the check itself may have passed)",
            labels=("check", "region"),
        )
        failures = CounterMetricFamily(
            "smoke_test_failures",
            "Failed and errored check runs by failure reason (README, 'Failure reasons')",
            labels=(*LABELS, "reason"),
        )
        gauges = {n: GaugeMetricFamily(n, doc, labels=LABELS) for n, doc in GAUGES.items()}
        phased = {
            n: GaugeMetricFamily(n, doc, labels=(*LABELS, "phase")) for n, doc in PHASED.items()
        }
        for labels, check in checks.items():
            if any(check.buckets):
                cumulative, total = [], 0
                for le, count in zip(self._le, check.buckets, strict=True):
                    total += count
                    cumulative.append((le, float(total)))
                duration.add_metric(labels, cumulative, check.total_s)
            for status, count in check.runs.items():
                runs.add_metric((*labels, status), count)
            if check.cleanup_failures:
                cleanups.add_metric((labels[0], labels[2]), check.cleanup_failures)
            for reason, count in check.failures.items():
                failures.add_metric((*labels, reason), count)
            for name, value in check.gauges.items():
                gauges[name].add_metric(labels, value)
            for name, values in check.phased.items():
                for phase, value in values.items():
                    phased[name].add_metric((*labels, phase), value)
        yield duration
        yield runs
        yield cleanups
        yield failures
        yield from gauges.values()
        yield from phased.values()
        heartbeat = GaugeMetricFamily(
            HEARTBEAT, "When this region last ran a check",
            labels=("region",),
        )  # fmt: skip
        for region, at in last_run.items():
            heartbeat.add_metric((region,), at)
        yield heartbeat


HEARTBEAT: Final = "smokewatch_last_run_timestamp_seconds"
# A check's label sets across its families (buckets, results, reasons, phases: ~35), with
# room to spare: the sample-line memo is bounded to this many per check.
_LABEL_SETS_PER_CHECK: Final = 100


def _copy(c: _Check) -> _Check:
    return _Check(list(c.buckets), c.total_s, dict(c.runs), dict(c.gauges),
                  {name: dict(p) for name, p in c.phased.items()}, c.cleanup_failures,
                  dict(c.failures))  # fmt: skip


class _LazyBodies:
    """Every family's body from one pass over the checks, made when the first is read."""

    def __init__(self, chunks: Callable[[], list[dict[str, str]] | None]) -> None:
        self._chunks = chunks
        self._made = False
        self._by_check: list[dict[str, str]] | None = None

    def maker(self, name: str) -> Callable[[], str | None]:
        return lambda: self._body(name)

    def _body(self, name: str) -> str | None:
        if not self._made:
            self._by_check, self._made = self._chunks(), True
        if self._by_check is None:
            return None
        return "".join([lines.get(name, "") for lines in self._by_check])


class _LazySamples:
    """Every family's samples from one snapshot, taken when the first of them is read."""

    def __init__(self, families: Callable[[], Iterator[Metric]]) -> None:
        self._families = families
        self._by_name: dict[str, list[Sample]] | None = None

    def maker(self, name: str) -> Callable[[], list[Sample]]:
        return lambda: self._samples(name)

    def _samples(self, name: str) -> list[Sample]:
        if self._by_name is None:
            self._by_name = {family.name: family.samples for family in self._families()}
        return self._by_name[name]


def _http_gauges(run: CheckRun, gauges: dict[str, float]) -> None:
    """The blackbox exporter's status code and certificate expiry of a measured http run.

    No response: status 0, the expiry left as it was (the handshake may have failed).
    A response without a verified certificate (plain http): no expiry series.
    """
    details = run.result.details
    code = details.get("status_code")
    if not isinstance(code, int):
        gauges["probe_http_status_code"] = 0.0
        return
    gauges["probe_http_status_code"] = float(code)
    not_after = details.get("tls_not_after")
    if isinstance(not_after, int | float):
        gauges["probe_ssl_earliest_cert_expiry"] = float(not_after)
    else:
        gauges.pop("probe_ssl_earliest_cert_expiry", None)


class PrometheusExporter:
    """Keeps the registry current; Prometheus scrapes it, so there is nothing to flush."""

    name = "prometheus"
    sends = False  # scraped: flush has nothing to send

    def __init__(self, settings: PrometheusSettings, ctx: ExportContext) -> None:
        self._checks = _ChecksCollector(settings.buckets)
        ctx.registry.register(self._checks)
        build = Gauge(
            "smokewatch_build_info", "smokewatch's version (always 1)", ["version"],
            registry=ctx.registry,
        )  # fmt: skip
        build.labels(ctx.version).set(1)
        if ctx.interval is not None:
            interval = Gauge(
                "smokewatch_run_interval_seconds", "How often this region should run its checks",
                ["region"], registry=ctx.registry,
            )  # fmt: skip
            interval.labels(ctx.region).set(ctx.interval.total_seconds())

    def record(self, runs: Sequence[CheckRun]) -> None:
        self._checks.record(runs, time.time())

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None

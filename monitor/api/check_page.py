"""The per-check page's view model (``/checks/{name}``): computed here, drawn by Jinja.

Current state per region, uptime over 24h/7d/30d/90d per region and over all regions
(the same SQL as ``/api/v1/checks/{id}/uptime``), a response-time chart by phase over
the chosen range, and the newest failures with their reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from monitor.api.chart import PALETTE, Chart, Series, line_chart
from monitor.api.page import (
    STATE_CSS,
    ArtifactLinks,
    RegionCell,
    _pct,
    _when,
    check_label,
    region_cell,
)
from monitor.api.reason_text import reason_text
from monitor.api.scrub import Scrubber
from monitor.api.snapshot import CheckSnapshot
from monitor.contract import ServiceView
from monitor.store import ResultRecord
from probes.base import Status

ChartRange = Literal["24h", "7d"]
# The range shown, the bucket width, and how the x axis labels a bucket.
RANGES: dict[str, tuple[timedelta, timedelta, str]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1), "%H:%M"),
    "7d": (timedelta(days=7), timedelta(hours=6), "%a %d"),
}
UPTIME_WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
CHART_RESULTS = 20_000  # newest results read for the chart, at most
FAILURES_SHOWN = 20
# Phases in the order they happen: HTTP (additive), then browser milestones.
PHASE_ORDER: tuple[str, ...] = ("total", "connect", "tls", "request", "first_byte", "transfer")
PHASE_ORDER += ("ttfb", "dcl", "load", "lcp")


@dataclass(frozen=True, slots=True)
class UptimeRow:
    region: str  # "All regions" for the sum
    cells: list[str]  # one per window of UPTIME_WINDOWS
    latency: str  # p50 / p95 over the first window: "20 / 34 ms"


@dataclass(frozen=True, slots=True)
class FailureRow:
    when: str
    region: str
    reason: str
    message: str
    artifacts: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CheckPageView:
    title: str
    name: str
    description: str
    group: str | None
    css: str
    label: str
    regions: list[RegionCell]
    windows: list[str]
    uptime: list[UptimeRow]
    chart: Chart
    chart_range: str
    ranges: list[str]
    failures: list[FailureRow]
    generated: str


def phase_names(records: Iterable[ResultRecord]) -> list[str]:
    """The timing keys of ``records``: known phases in order, then the rest by name; at most
    as many as the chart has colours."""
    seen = {key for r in records for key in r.timings}
    known = [p for p in PHASE_ORDER if p in seen]
    return (known + sorted(seen - set(known)))[:PALETTE]


def phase_chart(records: Sequence[ResultRecord], *, now: datetime, chart_range: str) -> Chart:
    """Mean time per phase per bucket over ``chart_range``; ``error`` results are left out
    (no evidence about the target), as in the uptime figures."""
    span, width, time_format = RANGES[chart_range]
    first = now - span
    count = int(span / width)
    starts = [first + width * i for i in range(count)]
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * count)
    seen: dict[str, list[int]] = defaultdict(lambda: [0] * count)
    measured = [r for r in records if Status(r.status).measured]
    names = phase_names(measured)
    for record in measured:
        index = int((record.started_at - first) / width)
        if not 0 <= index < count:
            continue
        for name in names:
            if name in record.timings:
                sums[name][index] += record.timings[name]
                seen[name][index] += 1
    series = [
        Series(name, [s / n if n else None for s, n in zip(sums[name], seen[name], strict=True)])
        for name in names
    ]
    title = f"Response time by phase, last {chart_range} (mean per {_width(width)}, UTC)"
    return line_chart(title, starts, series, time_format=time_format)


def _width(width: timedelta) -> str:
    hours = int(width.total_seconds() // 3600)
    return "hour" if hours == 1 else f"{hours} hours"


def failure_row(
    record: ResultRecord, scrubber: Scrubber, artifacts: ArtifactLinks | None
) -> FailureRow:
    return FailureRow(
        when=_when(record.started_at),
        region=record.region,
        reason=reason_text(record.reason),
        message=scrubber.text(record.message)[:500],
        artifacts=artifacts.of(record) if artifacts is not None else (),
    )


async def uptime_rows(
    service: ServiceView, name: str, regions: list[str], now: datetime
) -> list[UptimeRow]:
    """Uptime of ``name`` per region and over all of them, per window (``-`` without data),
    and the p50 / p95 response time over the first window."""
    rows = []
    for region in [*regions, None]:
        summaries = [
            await service.store.uptime(name, since=now - span, region=region)
            for span in UPTIME_WINDOWS.values()
        ]
        cells = ["-" if s.uptime is None else _pct(s.uptime) for s in summaries]
        first = summaries[0]
        latency = "-"
        if first.p50_ms is not None and first.p95_ms is not None:
            latency = f"{first.p50_ms:.0f} / {first.p95_ms:.0f} ms"
        rows.append(UptimeRow(region or "All regions", cells, latency))
    return rows


async def build_check_page(
    service: ServiceView,
    item: CheckSnapshot,
    *,
    title: str,
    scrubber: Scrubber,
    chart_range: str,
    failures: list[ResultRecord],
    artifacts: ArtifactLinks | None = None,
    now: datetime | None = None,
) -> CheckPageView:
    """Lay one check out; ``failures`` are its newest failing results (read by the caller,
    which also looks up their artifacts for allowed readers)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    check = item.check
    span = RANGES[chart_range][0]
    records = await service.store.results(check.name, since=now - span, limit=CHART_RESULTS)
    regions = sorted(set(item.latest) | set(check.regions or ()))
    return CheckPageView(
        title=title,
        name=check.name,
        description=scrubber.text(check.description),
        group=check.group,
        css=STATE_CSS[item.verdict.state],
        label=check_label(item),
        regions=[
            region_cell(
                region, r, scrubber, declared=region not in item.undeclared, artifacts=artifacts
            )
            for region, r in item.latest.items()
        ],
        windows=list(UPTIME_WINDOWS),
        uptime=await uptime_rows(service, check.name, regions, now),
        chart=phase_chart(records, now=now, chart_range=chart_range),
        chart_range=chart_range,
        ranges=list(RANGES),
        failures=[failure_row(r, scrubber, artifacts) for r in failures],
        generated=_when(now),
    )

"""The status page's view model: everything the template shows, computed here, not in Jinja.

Per check: its current status overall and per region, 90 daily uptime bars (one SQL
query over the daily rollups for every check) and a 48-hour response-time sparkline
(one query over the hourly rollups).  Colours always come with a text label.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.api.alert_view import Alert, alert_views
from monitor.api.scrub import Scrubber
from monitor.api.snapshot import CheckSnapshot, Snapshot, result_status
from monitor.api.verdict import overall
from monitor.contract import ServiceView
from monitor.store import AlertStore, IncidentRecord, ResultRecord, StatsBucket

DAYS = 90
HOURS = 48
INCIDENT_DAYS = 30
INCIDENTS_SHOWN = 20
SPARK_W, SPARK_H, SPARK_PAD = 240, 40, 3

STATE_LABEL = {
    "healthy": "Operational",
    "degraded": "Degraded",
    "down": "Down",
    "unknown": "No data",
}
OVERALL_LABEL = {
    "healthy": "All systems operational",
    "degraded": "Some systems degraded",
    "down": "Major outage",
}
RESULT_LABEL = {
    "pass": "Passing",
    "degraded": "Slow",
    "fail": "Failing",
    "error": "Not checked",
    "suspect": "Not trusted (region unhealthy)",
}
RESULT_CSS = {
    "pass": "ok",
    "degraded": "minor",
    "fail": "major",
    "error": "none",
    "suspect": "none",
}
STATE_CSS = {"healthy": "ok", "degraded": "minor", "down": "major", "unknown": "none"}


@dataclass(frozen=True, slots=True)
class Bar:
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Sparkline:
    lines: list[str]  # SVG polyline points, one per run of consecutive hours
    dots: list[tuple[float, float]]  # lone hours
    title: str
    width: int = SPARK_W
    height: int = SPARK_H


@dataclass(frozen=True, slots=True)
class RegionCell:
    region: str
    css: str
    label: str
    title: str


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    description: str
    css: str
    label: str
    regions: list[RegionCell]
    bars: list[Bar]
    uptime: str
    spark: Sparkline


@dataclass(frozen=True, slots=True)
class IncidentRow:
    check: str
    region: str
    css: str
    label: str
    started: str
    span: str
    message: str


@dataclass(frozen=True, slots=True)
class AlertRow:
    rule: str
    check: str
    where: str
    css: str
    label: str
    since: str
    summary: str
    silenced: str


@dataclass(frozen=True, slots=True)
class PageView:
    title: str
    css: str
    label: str
    generated: str
    checks: list[CheckRow]
    incidents: list[IncidentRow]
    alerts: list[AlertRow] = field(default_factory=list)


def _pct(value: float) -> str:
    return f"{value * 100:.2f} %".replace(".00 %", " %")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"


def bar_class(uptime: float, degraded: int) -> str:
    """The colour of a day: red under 95 %, orange under 99 %, amber if anything went wrong."""
    if uptime < 0.95:
        return "major"
    if uptime < 0.99:
        return "partial"
    return "minor" if uptime < 1 or degraded else "ok"


def day_bar(date: str, bucket: StatsBucket | None) -> Bar:
    """The bar of one day (``date`` as YYYY-MM-DD): its colour and its tooltip."""
    uptime = bucket.uptime if bucket is not None else None
    if bucket is None or uptime is None:
        return Bar("none", f"{date}: no data")
    css = bar_class(uptime, bucket.degraded)
    counts = f"{bucket.failed} failed, {bucket.degraded} slow of {bucket.total} runs"
    return Bar(css, f"{date}: {_pct(uptime)} uptime ({counts})")


def uptime_label(buckets: list[StatsBucket]) -> str:
    up = sum(b.passed + b.degraded for b in buckets)
    counted = up + sum(b.failed for b in buckets)
    return f"{_pct(up / counted)} uptime over {DAYS} days" if counted else "no data yet"


def sparkline(start: datetime, buckets: dict[datetime, StatsBucket]) -> Sparkline:
    """Hourly mean response times over :data:`HOURS` hours as SVG points; gaps break the line."""
    values = [buckets.get(start + timedelta(hours=h)) for h in range(HOURS)]
    means = [b.avg_ms if b is not None else None for b in values]
    present = [m for m in means if m is not None]
    if not present:
        return Sparkline([], [], f"No response times in the last {HOURS} hours")
    top = max(present) or 1.0
    step = (SPARK_W - 2 * SPARK_PAD) / (HOURS - 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for h, mean in enumerate(means):
        if mean is None:
            runs.append([])
            continue
        y = SPARK_H - SPARK_PAD - (mean / top) * (SPARK_H - 2 * SPARK_PAD)
        runs[-1].append((round(SPARK_PAD + h * step, 1), round(y, 1)))
    lines = [" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    peak = max(b.max_ms or 0.0 for b in values if b is not None)
    average = sum(present) / len(present)
    title = f"Response time, last {HOURS} h: mean {average:.0f} ms, slowest {peak:.0f} ms"
    return Sparkline(lines, dots, title)


def incident_row(record: IncidentRecord, now: datetime, scrubber: Scrubber) -> IncidentRow:
    end = record.resolved_at or now
    span = _span((end - record.started_at).total_seconds())
    return IncidentRow(
        check=record.check,
        region=record.region,
        css="major" if record.open else "ok",
        label="Ongoing" if record.open else "Resolved",
        started=_when(record.started_at),
        span=f"for {span}" if record.open else f"lasted {span}",
        message=scrubber.text(record.message),
    )


def alert_row(alert: Alert, now: datetime) -> AlertRow:
    """An active alert: firing (red), pending (amber) or inhibited (grey, naming what holds
    it); a window without data says so."""
    if alert.state == "firing":
        css, label = "major", f"Firing ({alert.severity})"
    elif alert.state == "pending":
        css, label = "minor", "Pending"
    elif alert.state == "inhibited":
        css, label = "none", f"Inhibited by {alert.inhibited_by} (not notified)"
    else:
        css, label = "none", "Inactive"
    if alert.no_data:
        label += ", no data"
    where = alert.region or (", ".join(alert.regions) if alert.regions else "several regions")
    since = alert.since or alert.updated_at
    return AlertRow(
        rule=alert.rule,
        check=alert.check,
        where=where,
        css=css,
        label=label,
        since=f"since {_when(since)} ({_span((now - since).total_seconds())})",
        summary=alert.summary,
        silenced=f"Notifications held: {alert.silenced_by}" if alert.silenced_by else "",
    )


_ALERT_ORDER = {"firing": 0, "pending": 1, "inhibited": 2, "inactive": 3}


async def active_alerts(service: ServiceView, now: datetime, scrubber: Scrubber) -> list[AlertRow]:
    """The alerts the engine holds active (two queries; the second only if there are any)."""
    store = AlertStore(service.store)
    states = await store.alert_states(active_only=True)
    if not states:
        return []
    silences = await store.silences(active_at=now)
    alerts = alert_views(states, service.loaded.rules, silences, now=now, scrubber=scrubber)
    alerts.sort(key=lambda a: (_ALERT_ORDER[a.state], a.severity != "critical", a.rule, a.check))
    return [alert_row(a, now) for a in alerts]


def _days(first: datetime) -> list[datetime]:
    return [first + timedelta(days=d) for d in range(DAYS)]


def region_cell(region: str, record: ResultRecord, scrubber: Scrubber) -> RegionCell:
    status = result_status(record.status)
    detail = scrubber.text(record.message)[:200]
    return RegionCell(
        region=region,
        css=RESULT_CSS[status],
        label=RESULT_LABEL[status],
        title=f"{_when(record.started_at)}, {record.duration_ms:.0f} ms: {detail}",
    )


def check_row(
    item: CheckSnapshot,
    *,
    days: dict[datetime, StatsBucket],
    dates: list[tuple[datetime, str]],
    hours: dict[datetime, StatsBucket],
    first_hour: datetime,
    scrubber: Scrubber,
) -> CheckRow:
    state = item.verdict.state
    return CheckRow(
        name=item.check.name,
        description=scrubber.text(item.check.description),
        css=STATE_CSS[state],
        label=STATE_LABEL[state],
        regions=[region_cell(region, r, scrubber) for region, r in item.latest.items()],
        bars=[day_bar(label, days.get(day)) for day, label in dates],
        uptime=uptime_label(list(days.values())),
        spark=sparkline(first_hour, hours),
    )


async def build_page(
    service: ServiceView, snapshot: Snapshot, *, title: str, scrubber: Scrubber
) -> PageView:
    """Read the rollups and incidents the page needs (three queries) and lay them out."""
    now = snapshot.taken_at.astimezone(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=DAYS - 1)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    store = service.store
    days: dict[str, dict[datetime, StatsBucket]] = defaultdict(dict)
    for bucket in await store.stats(period="day", since=first_day):
        days[bucket.check][bucket.start] = bucket
    hours: dict[str, dict[datetime, StatsBucket]] = defaultdict(dict)
    for bucket in await store.stats(period="hour", since=first_hour):
        hours[bucket.check][bucket.start] = bucket
    incidents = await store.incidents(
        since=now - timedelta(days=INCIDENT_DAYS), limit=INCIDENTS_SHOWN
    )
    dates = [(day, day.strftime("%Y-%m-%d")) for day in _days(first_day)]
    rows = [
        check_row(
            item,
            days=days.get(item.check.name, {}),
            dates=dates,
            hours=hours.get(item.check.name, {}),
            first_hour=first_hour,
            scrubber=scrubber,
        )
        for item in snapshot.checks
    ]
    state = overall(c.verdict.state for c in snapshot.checks)
    return PageView(
        title=title,
        css=STATE_CSS[state],
        label=OVERALL_LABEL[state],
        generated=_when(now),
        checks=rows,
        incidents=[incident_row(r, now, scrubber) for r in incidents],
        alerts=await active_alerts(service, now, scrubber),
    )

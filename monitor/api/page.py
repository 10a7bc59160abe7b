"""The status page's view model: everything the template shows, computed here, not in Jinja.

Per check: its current status overall and per region, 90 daily uptime bars (one SQL
query over the daily rollups for every check) and a 48-hour response-time sparkline
(one query over the hourly rollups).  Colours always come with a text label.

A page of more than :data:`FULL_ROWS` checks draws a full row only for checks that are
not operational, at most :data:`FULL_ROWS` of them, the most severe first (down,
degraded, recovering, without data; config order within each); the operational ones
are listed by name and state under their group, folded, each linking to its own page.
At 10,000 checks a full page was about 9 s of CPU and 900 KB compressed, to show mostly
green bars nobody reads.  A check that is not operational is never folded away: past
the cap (a first start, when no check has data yet, or one outage behind thousands of
checks) it is listed by name and state in an open list under its group.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.api.alert_view import Alert, alert_views
from monitor.api.scrub import Scrubber
from monitor.api.snapshot import ENDED_ALERT_STATES, CheckSnapshot, Snapshot, result_status
from monitor.api.verdict import group_state, overall
from monitor.artifacts.links import artifact_url
from monitor.contract import ServiceView, StoreLag
from monitor.store import AlertStore, IncidentRecord, ResultRecord, StatsBucket
from monitor.store.artifacts import ArtifactRecord
from monitor.store.outages import OutageSpan, outage_spans

DAYS = 90
HOURS = 48
INCIDENT_DAYS = 30
INCIDENTS_SHOWN = 20
FULL_ROWS = 100  # past this many checks, only this many not operational get a full row
SPARK_W, SPARK_H, SPARK_PAD = 240, 40, 3

STATE_LABEL = {
    "healthy": "Operational",
    "recovering": "Recovering",
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
SEVERITY = {"down": 0, "degraded": 1, "recovering": 2, "unknown": 3, "healthy": 4}
STATE_CSS = {
    "healthy": "ok",
    "recovering": "minor",
    "degraded": "minor",
    "down": "major",
    "unknown": "none",
}


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
    # (name, url) of the newest result's artifacts, for readers allowed to see them.
    artifacts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    href: str  # the per-check page
    description: str
    css: str
    label: str
    regions: list[RegionCell]
    bars: list[Bar]
    uptime: str
    spark: Sparkline


@dataclass(frozen=True, slots=True)
class CompactRow:
    """A check on a crowded page without a full row: its name and state, no history."""

    name: str
    href: str
    css: str
    label: str
    operational: bool = True


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
class GroupSection:
    """A ``group`` of checks (``name`` ``None``: the checks without one) and its roll-up."""

    name: str | None
    css: str
    label: str
    checks: list[CheckRow]
    compact: list[CompactRow] = field(default_factory=list)  # operational, after ``checks``
    overflow: list[CompactRow] = field(default_factory=list)  # not operational, past the cap


@dataclass(frozen=True, slots=True)
class PageView:
    title: str
    css: str
    label: str
    generated: str
    groups: list[GroupSection]
    incidents: list[IncidentRow]
    alerts: list[AlertRow] = field(default_factory=list)
    lag: str | None = None  # the store is behind: results waiting in the spool


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


def lag_note(lag: StoreLag) -> str | None:
    """One sentence when results wait in the spool for the store, else ``None``."""
    if not lag.behind:
        return None
    results = "1 result" if lag.spooled == 1 else f"{lag.spooled} results"
    age = "" if lag.oldest_age_s is None else f", the oldest {lag.oldest_age_s:.0f} s old"
    return (
        f"The result store is behind: {results} waiting to be stored{age}. "
        "The figures below do not include them yet."
    )


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


def uptime_label(buckets: list[StatsBucket], today: datetime) -> str:
    """Uptime over the days shown, or over the days since the first data when that is
    fewer: 100 % after three minutes of data is not "100 % over 90 days"."""
    up = sum(b.passed + b.degraded for b in buckets)
    counted = up + sum(b.failed for b in buckets)
    if not counted:
        return "no data yet"
    days = (today - min(b.start for b in buckets)).days + 1
    if days >= DAYS:
        return f"{_pct(up / counted)} uptime over {DAYS} days"
    return f"{_pct(up / counted)} uptime over {days} day{'s' if days > 1 else ''} of data"


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


def incident_row(
    record: IncidentRecord, outage: OutageSpan, now: datetime, scrubber: Scrubber
) -> IncidentRow:
    """An incident as the outage it was: first failing run to first passing run."""
    span = _span(outage.seconds(now))
    if not record.open:
        css, label, length = "ok", "Resolved", f"lasted {span}"
    elif outage.ended_at is None:
        css, label, length = "major", "Ongoing", f"for {span}"
    else:
        css, label, length = "minor", "Recovering", f"lasted {span}, recovery not confirmed yet"
    return IncidentRow(
        check=record.check,
        region=record.region,
        css=css,
        label=label,
        started=_when(outage.started_at),
        span=length,
        message=scrubber.text(record.message),
    )


ALERT_LOOK = {
    "firing": ("major", "Firing"),
    "recovering": ("minor", "Recovering"),
    "pending": ("minor", "Pending"),
    "inhibited": ("none", "Inhibited"),
}


def alert_row(alert: Alert, now: datetime) -> AlertRow:
    """An alert that has not ended: firing (red), recovering or pending (amber), inhibited
    (grey, naming what holds it)."""
    css, label = ALERT_LOOK.get(alert.state, ("none", alert.state.capitalize()))
    if alert.flapping:
        css, label = "minor", "Flapping"
    if alert.flapping or alert.state in ("firing", "recovering"):
        label += f" ({alert.severity})"
    if alert.state == "inhibited" and not alert.flapping:
        label = f"Inhibited by {alert.inhibited_by} (not notified)"
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


_ALERT_ORDER = {"firing": 0, "recovering": 1, "pending": 2, "inhibited": 3, "inactive": 4}


async def active_alerts(
    service: ServiceView, now: datetime, scrubber: Scrubber, shown: frozenset[str]
) -> list[AlertRow]:
    """The alerts of the ``shown`` checks that have not ended, whatever states the engine
    writes (two queries; the second only if there are any)."""
    store = AlertStore(service.store)
    states = [
        s
        for s in await store.alert_states(active_only=False)
        if s.check in shown
        and (str(s.state) not in ENDED_ALERT_STATES or s.flapping_since is not None)
    ]
    if not states:
        return []
    silences = await store.silences(active_at=now)
    alerts = alert_views(states, service.loaded.rules, silences, now=now, scrubber=scrubber)
    alerts.sort(
        key=lambda a: (_ALERT_ORDER.get(a.state, 4), a.severity != "critical", a.rule, a.check)
    )
    return [alert_row(a, now) for a in alerts]


def _with_reason(label: str, records: Iterable[ResultRecord]) -> str:
    """``Failing: timeout``: a label followed by the failure reasons of ``records``, if any."""
    reasons = sorted({r.reason.value for r in records if r.reason is not None})
    return f"{label}: {', '.join(reasons)}" if reasons else label


def check_label(item: CheckSnapshot) -> str:
    """A check's state in words; a check that is down says why (``Down: timeout``)."""
    state = item.verdict.state
    if state == "down":
        return _with_reason(STATE_LABEL[state], item.latest.values())
    return STATE_LABEL[state]


def _days(first: datetime) -> list[datetime]:
    return [first + timedelta(days=d) for d in range(DAYS)]


def region_cell(
    region: str,
    record: ResultRecord,
    scrubber: Scrubber,
    *,
    declared: bool = True,
    artifacts: ArtifactLinks | None = None,
) -> RegionCell:
    """One region's newest result; one from a region the config does not declare says so."""
    status = result_status(record.status)
    detail = scrubber.text(record.message)[:200]
    return RegionCell(
        region=region if declared else f"{region} (undeclared region)",
        css=RESULT_CSS[status],
        label=_with_reason(RESULT_LABEL[status], [record]),
        title=f"{_when(record.started_at)}, {record.duration_ms:.0f} ms: {detail}",
        artifacts=artifacts.of(record) if artifacts is not None else (),
    )


@dataclass(frozen=True, slots=True)
class ArtifactLinks:
    """The artifacts of the results shown, by result id; only built for allowed readers."""

    by_result: dict[int, list[ArtifactRecord]]
    public_url: str | None

    def of(self, record: ResultRecord) -> tuple[tuple[str, str], ...]:
        found = self.by_result.get(record.id or 0, [])
        return tuple((a.name, artifact_url(self.public_url, a.result_id, a.name)) for a in found)


def check_row(
    item: CheckSnapshot,
    *,
    days: dict[datetime, StatsBucket],
    dates: list[tuple[datetime, str]],
    hours: dict[datetime, StatsBucket],
    first_hour: datetime,
    scrubber: Scrubber,
    artifacts: ArtifactLinks | None = None,
) -> CheckRow:
    state = item.verdict.state
    return CheckRow(
        name=item.check.name,
        href=check_href(item.check.name),
        description=scrubber.text(item.check.description),
        css=STATE_CSS[state],
        label=check_label(item),
        regions=[
            region_cell(
                region, r, scrubber, declared=region not in item.undeclared, artifacts=artifacts
            )
            for region, r in item.latest.items()
        ],
        bars=[day_bar(label, days.get(day)) for day, label in dates],
        uptime=uptime_label(list(days.values()), dates[-1][0]),
        spark=sparkline(first_hour, hours),
    )


def check_href(name: str) -> str:
    """The per-check page of ``name`` (names are URL-safe: ``[A-Za-z0-9_.-]``)."""
    return f"checks/{name}"


def compact_row(item: CheckSnapshot) -> CompactRow:
    state = item.verdict.state
    return CompactRow(
        item.check.name,
        check_href(item.check.name),
        STATE_CSS[state],
        STATE_LABEL[state],
        operational=state == "healthy",
    )


def drawn_in_full(checks: list[CheckSnapshot]) -> set[str]:
    """The checks given a full row: all of them up to :data:`FULL_ROWS`; past that, the
    first :data:`FULL_ROWS` that are not operational, the most severe first."""
    if len(checks) <= FULL_ROWS:
        return {item.check.name for item in checks}
    attention = [item for item in checks if item.verdict.state != "healthy"]
    attention.sort(key=lambda item: SEVERITY[item.verdict.state])  # stable: config order
    return {item.check.name for item in attention[:FULL_ROWS]}


def group_sections(snapshot: Snapshot, rows: list[CheckRow | CompactRow]) -> list[GroupSection]:
    """The checks by ``group`` in config order, ungrouped ones first; each group's state is
    :func:`~monitor.api.verdict.group_state` (of its compact rows too)."""
    members: dict[str | None, list[tuple[CheckSnapshot, CheckRow | CompactRow]]] = {None: []}
    for item, row in zip(snapshot.checks, rows, strict=True):
        members.setdefault(item.check.group, []).append((item, row))
    sections = []
    for name, pairs in members.items():
        if not pairs and name is None:
            continue
        state = group_state(item.verdict.state for item, _ in pairs)
        full = [row for _, row in pairs if isinstance(row, CheckRow)]
        compact = [row for _, row in pairs if isinstance(row, CompactRow)]
        sections.append(
            GroupSection(
                name,
                STATE_CSS[state],
                STATE_LABEL[state],
                full,
                [row for row in compact if row.operational],
                [row for row in compact if not row.operational],
            )
        )
    return sections


async def build_page(
    service: ServiceView,
    snapshot: Snapshot,
    *,
    title: str,
    scrubber: Scrubber,
    artifacts: ArtifactLinks | None = None,
) -> PageView:
    """Read the rollups, incidents and their outages the page needs and lay them out.

    ``artifacts``: links to the newest results' artifacts (readers allowed to see them).
    """
    now = snapshot.taken_at.astimezone(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=DAYS - 1)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    store = service.store
    full = drawn_in_full(snapshot.checks)
    # Read the rollups of the full rows only: at most FULL_ROWS checks, few enough to name.
    named = full if len(snapshot.checks) > FULL_ROWS else None
    days: dict[str, dict[datetime, StatsBucket]] = defaultdict(dict)
    for bucket in await store.stats(period="day", since=first_day, checks=named):
        days[bucket.check][bucket.start] = bucket
    hours: dict[str, dict[datetime, StatsBucket]] = defaultdict(dict)
    for bucket in await store.stats(period="hour", since=first_hour, checks=named):
        hours[bucket.check][bucket.start] = bucket
    incidents = await store.incidents(
        since=now - timedelta(days=INCIDENT_DAYS), limit=INCIDENTS_SHOWN
    )
    outages = await outage_spans(store, incidents)
    dates = [(day, day.strftime("%Y-%m-%d")) for day in _days(first_day)]

    def lay_out() -> list[CheckRow | CompactRow]:
        return [
            check_row(
                item,
                days=days.get(item.check.name, {}),
                dates=dates,
                hours=hours.get(item.check.name, {}),
                first_hour=first_hour,
                scrubber=scrubber,
                artifacts=artifacts,
            )
            if item.check.name in full
            else compact_row(item)
            for item in snapshot.checks
        ]

    # In a thread: with a thousand checks the rows are seconds of CPU on a busy machine,
    # which on the event loop would hold up every request and every check start.
    rows = await asyncio.to_thread(lay_out)
    state = overall(c.verdict.state for c in snapshot.checks)
    shown = frozenset(c.check.name for c in snapshot.checks)  # private ones only if allowed
    return PageView(
        title=title,
        css=STATE_CSS[state],
        label=OVERALL_LABEL[state],
        generated=_when(now),
        groups=group_sections(snapshot, rows),
        incidents=[
            incident_row(r, outages[r.id], now, scrubber) for r in incidents if r.check in shown
        ],
        alerts=await active_alerts(service, now, scrubber, shown),
        lag=lag_note(service.store_lag()),
    )

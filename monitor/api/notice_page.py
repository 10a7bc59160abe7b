"""The status page's incidents and maintenance (people's and the rules file's windows).

Shown above the checks: open incidents with every update (newest first), incidents
resolved in the last :data:`RESOLVED_DAYS` days, and maintenance scheduled or in progress.
A check in a maintenance in progress is labelled "Under maintenance" instead of its state;
its regions still show their real results, so the evidence stays on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from monitor.api.feed import STATUS_WORDS
from monitor.api.notices import Notice, Notices
from monitor.api.snapshot import Snapshot

RESOLVED_DAYS: Final = 7
IMPACT_CSS: Final = {
    "none": "none",
    "minor": "minor",
    "major": "partial",
    "critical": "major",
    "maintenance": "maint",
}
MAINTENANCE_CSS: Final = {"scheduled": "maint", "in_progress": "maint", "verifying": "maint"}


@dataclass(frozen=True, slots=True)
class UpdateRow:
    when: str
    label: str
    body: str


@dataclass(frozen=True, slots=True)
class NoticeRow:
    name: str
    css: str
    label: str
    when: str
    affects: str
    updates: list[UpdateRow]


@dataclass(frozen=True, slots=True)
class NoticesView:
    incidents: list[NoticeRow]
    maintenances: list[NoticeRow]
    maintained: frozenset[str]  # checks under maintenance now
    banner: tuple[str, str] | None  # (css, label) instead of the checks' own, or None


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _affects(notice: Notice) -> str:
    if not notice.components:
        return ""
    names = [
        c.removeprefix("group:") + (" (group)" if c.startswith("group:") else "")
        for c in notice.components
    ]
    return "Affects " + ", ".join(names)


def _updates(notice: Notice) -> list[UpdateRow]:
    return [
        UpdateRow(_when(u.created_at), STATUS_WORDS.get(u.status, u.status), u.body)
        for u in reversed(notice.updates)
    ]


def incident_row(notice: Notice) -> NoticeRow:
    label = STATUS_WORDS.get(notice.status, notice.status)
    css = "ok" if notice.closed else IMPACT_CSS.get(notice.impact, "minor")
    if notice.closed and notice.resolved_at is not None:
        when = f"{_when(notice.started_at)} to {_when(notice.resolved_at)}"
    else:
        when = f"since {_when(notice.started_at)}, impact {notice.impact}"
    return NoticeRow(notice.name, css, label, when, _affects(notice), _updates(notice))


def maintenance_row(notice: Notice) -> NoticeRow:
    label = STATUS_WORDS.get(notice.status, notice.status)
    if notice.recurring is not None:
        label += ", recurring"
    start, end = notice.scheduled_for, notice.scheduled_until
    when = f"{_when(start)} to {_when(end)}" if start and end else ""
    css = MAINTENANCE_CSS.get(notice.status, "ok")
    updates = [] if notice.recurring is not None else _updates(notice)
    return NoticeRow(notice.name, css, label, when, _affects(notice), updates)


def notices_view(notices: Notices, snapshot: Snapshot) -> NoticesView:
    now = snapshot.taken_at
    recent = now - timedelta(days=RESOLVED_DAYS)
    shown = [n for n in notices.incidents if not n.closed or (n.resolved_at or now) >= recent]
    maintained = notices.under_maintenance()
    troubled = {c.check.name for c in snapshot.checks if c.verdict.state in ("down", "degraded")}
    banner = None
    if troubled and troubled <= maintained:
        banner = ("maint", "Under maintenance")
    return NoticesView(
        incidents=[incident_row(n) for n in shown],
        maintenances=[maintenance_row(n) for n in notices.upcoming],
        maintained=maintained,
        banner=banner,
    )

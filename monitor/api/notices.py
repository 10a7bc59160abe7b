"""Incidents and maintenance as readers see them: on the page, in Statuspage JSON, in the feed.

Three sources, one shape (:class:`Notice`): incidents people wrote, maintenance people
scheduled (both :mod:`monitor.store.notices`), and the recurring maintenance windows of
the rules file (``maintenance:``), shown from one window ahead of time (``scheduled``)
and while they last (``in_progress``).  A maintenance's status follows its times unless a
person posted a later one: ``scheduled`` before ``scheduled_for``, ``in_progress`` until
``scheduled_until``, then ``completed``; ``verifying`` and ``completed`` posted by a person
stand.  The checks of an ``in_progress`` or ``verifying`` maintenance are "under maintenance".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Final

from monitor.config.cron import cron_trigger
from monitor.config.root import SmokewatchConfig
from monitor.config.rules import AlertRules, MaintenanceWindow
from monitor.contract import ServiceView
from monitor.store.notices import NoticeKind, NoticeRecord, NoticeStore, NoticeUpdate
from monitor.store.records import record_values

WINDOW_HORIZON: Final = timedelta(days=7)  # a config window is shown this long ahead
NOTICES_READ: Final = 50
ACTIVE_MAINTENANCE: Final = frozenset({"in_progress", "verifying"})
GROUP_PREFIX: Final = "group:"
_JUST_AFTER: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Notice:
    """An incident or a maintenance as shown; ``id`` is the Statuspage id."""

    id: str
    kind: NoticeKind
    name: str
    status: str  # a maintenance's: as of now (see the module docstring)
    impact: str
    components: tuple[str, ...]  # check names and group:<name>, as written
    checks: frozenset[str]  # the checks those name
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: tuple[NoticeUpdate, ...]  # oldest first
    recurring: str | None = None  # a rules-file window: its cron

    @property
    def under_maintenance(self) -> bool:
        return self.kind == "maintenance" and self.status in ACTIVE_MAINTENANCE

    @property
    def closed(self) -> bool:
        return self.status in ("resolved", "completed")


_FIELDS: Final = tuple(f.name for f in fields(Notice))


def notice_id(number: int) -> str:
    return f"notice-{number}"


def maintenance_status(record: NoticeRecord, now: datetime) -> str:
    """A maintenance's status at ``now``: its times decide unless a person posted a later one."""
    if record.status in ("verifying", "completed") or record.scheduled_until is None:
        return record.status
    if now >= record.scheduled_until:
        return "completed"
    if record.scheduled_for is not None and now >= record.scheduled_for:
        return "in_progress"
    return record.status


def affected_checks(components: Iterable[str], config: SmokewatchConfig) -> frozenset[str]:
    """The check names that ``components`` (check names and ``group:<name>``) stand for."""
    names: set[str] = set()
    for component in components:
        if component.startswith(GROUP_PREFIX):
            group = component.removeprefix(GROUP_PREFIX)
            names.update(c.name for c in config.checks if c.group == group)
        else:
            names.add(component)
    return frozenset(names)


def unknown_component(component: str, config: SmokewatchConfig) -> str | None:
    """Why ``component`` names nothing in ``config``, or ``None`` if it names a check or group."""
    if component.startswith(GROUP_PREFIX):
        group = component.removeprefix(GROUP_PREFIX)
        if any(c.group == group for c in config.checks):
            return None
        return f"no check group named '{group}'"
    if any(c.name == component for c in config.checks):
        return None
    return f"no check named '{component}' (a group is written group:<name>)"


def from_record(record: NoticeRecord, config: SmokewatchConfig, now: datetime) -> Notice:
    status = maintenance_status(record, now) if record.kind == "maintenance" else record.status
    resolved = record.resolved_at
    if status == "completed" and resolved is None:
        resolved = record.scheduled_until  # completed by the clock
    return Notice(
        **{
            **record_values(record, _FIELDS),
            "id": notice_id(record.id),
            "status": status,
            "checks": affected_checks(record.components, config),
            "resolved_at": resolved,
        }
    )


def window_notice(
    window: MaintenanceWindow, config: SmokewatchConfig, now: datetime
) -> Notice | None:
    """A rules-file maintenance window: the one in progress, else the next one starting within
    :data:`WINDOW_HORIZON`, else ``None``."""
    trigger = cron_trigger(window.cron)
    began: datetime | None = trigger.get_next_fire_time(None, now - window.duration + _JUST_AFTER)
    status = "in_progress"
    start = began
    if start is None or start > now:
        status = "scheduled"
        start = trigger.get_next_fire_time(None, now + _JUST_AFTER)
    if start is None or start > now + WINDOW_HORIZON:
        return None
    globs = window.checks
    checks = frozenset(
        c.name
        for c in config.checks
        if globs is None or any(fnmatchcase(c.name, glob) for glob in globs)
    )
    end = start + window.duration
    body = f"Recurring maintenance window '{window.name}' (cron '{window.cron}', UTC)."
    update = NoticeUpdate(id=0, notice_id=0, status=status, body=body, created_at=start)
    return Notice(
        id=f"window-{window.name}",
        kind="maintenance",
        name=window.name,
        status=status,
        impact="maintenance",
        components=tuple(sorted(checks)),
        checks=checks,
        created_at=start,
        updated_at=start,
        started_at=start,
        scheduled_for=start,
        scheduled_until=end,
        monitoring_at=None,
        resolved_at=None,
        updates=(update,),
        recurring=window.cron,
    )


def window_notices(rules: AlertRules, config: SmokewatchConfig, now: datetime) -> list[Notice]:
    found = (window_notice(w, config, now) for w in rules.maintenance)
    return [n for n in found if n is not None]


def shown_to(notices: Sequence[Notice], visible: frozenset[str]) -> list[Notice]:
    """The notices a reader who sees the checks ``visible`` may see, their components cut to
    those; one that named only hidden checks is left out."""
    kept = []
    for notice in notices:
        if not notice.checks:
            kept.append(notice)
            continue
        checks = notice.checks & visible
        if not checks:
            continue
        components = tuple(
            c for c in notice.components if c in visible or c.startswith(GROUP_PREFIX)
        )
        kept.append(replace(notice, checks=checks, components=components))
    return kept


@dataclass(frozen=True, slots=True)
class Notices:
    """What one reader sees: incidents and maintenance, newest first."""

    incidents: list[Notice]
    maintenances: list[Notice]

    @property
    def open_incidents(self) -> list[Notice]:
        return [n for n in self.incidents if not n.closed]

    @property
    def upcoming(self) -> list[Notice]:
        """Maintenance scheduled or in progress (Statuspage's summary lists these)."""
        return [n for n in self.maintenances if not n.closed]

    def under_maintenance(self) -> frozenset[str]:
        """The checks in a maintenance in progress (or being verified)."""
        return frozenset(c for n in self.maintenances if n.under_maintenance for c in n.checks)


async def read_notices(
    service: ServiceView, *, now: datetime, visible: frozenset[str], limit: int = NOTICES_READ
) -> Notices:
    """The people's incidents and maintenance plus the rules file's windows, for a reader who
    sees the checks ``visible`` (one query for the notices, one for their updates)."""
    config = service.loaded.config
    records = await NoticeStore(service.store).list(limit=limit)
    incidents = [from_record(r, config, now) for r in records if r.kind == "incident"]
    maintenances = [from_record(r, config, now) for r in records if r.kind == "maintenance"]
    windows = window_notices(service.loaded.rules, config, now)
    maintenances = sorted(
        [*maintenances, *windows], key=lambda n: n.scheduled_for or n.created_at, reverse=True
    )
    return Notices(shown_to(incidents, visible), shown_to(maintenances, visible))

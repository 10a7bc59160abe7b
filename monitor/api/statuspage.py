"""Atlassian Statuspage v2 compatibility: ``/api/v2/summary.json`` and ``/api/v2/status.json``.

Widgets, aggregators and chat bots that read a Statuspage page read smokewatch the
same way.  Each enabled check is a component (id = the check's name), and each check
``group`` a group component (id ``group:<name>``, ``group: true``, ``components``: its
checks' ids, status the worst of theirs) that its checks name as ``group_id``; open incidents
are listed as ``investigating``, or ``monitoring`` once the check passes again while its
alert awaits confirmation of the recovery.  Statuspage has no "unknown": a check without
results is ``operational`` here (``/api/v1/status`` says ``unknown``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from monitor.api.snapshot import CheckSnapshot, Snapshot
from monitor.api.verdict import (
    COMPONENT_ORDER,
    INDICATOR_TEXT,
    Component,
    Indicator,
    indicator,
)
from monitor.config.models import ApiSettings
from monitor.store import IncidentRecord
from monitor.store.outages import OutageSpan

Impact = Literal["none", "minor", "major", "critical"]
_IMPACT: dict[str, Impact] = {
    "operational": "minor",  # the check recovered elsewhere, or reports nothing yet
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Page(_Model):
    id: str
    name: str
    url: str
    time_zone: str = "Etc/UTC"
    updated_at: datetime


class PageStatus(_Model):
    indicator: Indicator
    description: str


class SpComponent(_Model):
    id: str
    name: str
    status: Component | Literal["under_maintenance"]
    created_at: datetime
    updated_at: datetime
    position: int
    description: str | None
    showcase: bool = False
    start_date: None = None
    group_id: str | None = None
    page_id: str
    group: bool = False
    only_show_if_degraded: bool = False


class SpGroup(SpComponent):
    """A component group: a check ``group``, its status the worst of its components'."""

    group: bool = True
    components: list[str]


IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]


class IncidentUpdate(_Model):
    id: str
    status: IncidentStatus | MaintenanceStatus
    body: str
    incident_id: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime


class _SpEvent(_Model):
    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None = None
    resolved_at: datetime | None
    shortlink: str
    started_at: datetime
    page_id: str
    incident_updates: list[IncidentUpdate]  # newest first, as Statuspage lists them
    components: list[SpComponent]


class SpIncident(_SpEvent):
    status: IncidentStatus
    impact: Impact


class SpMaintenance(_SpEvent):
    """A scheduled maintenance: an incident with a window and the maintenance lifecycle."""

    status: MaintenanceStatus
    impact: Impact | Literal["maintenance"]
    scheduled_for: datetime | None
    scheduled_until: datetime | None


class StatusJson(_Model):
    page: Page
    status: PageStatus


class SummaryJson(_Model):
    page: Page
    components: list[SpGroup | SpComponent]
    incidents: list[SpIncident]
    scheduled_maintenances: list[SpMaintenance] = []
    status: PageStatus


class IncidentsJson(_Model):
    """``/api/v2/incidents.json``: the 50 most recent incidents, resolved ones too."""

    page: Page
    incidents: list[SpIncident]


class MaintenancesJson(_Model):
    """``/api/v2/scheduled-maintenances.json``: the 50 most recent maintenances, all states."""

    page: Page
    scheduled_maintenances: list[SpMaintenance]


def page_id(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "smokewatch"


def _page(snapshot: Snapshot, settings: ApiSettings) -> Page:
    return Page(
        id=page_id(settings.title),
        name=settings.title,
        url=settings.public_url or "",
        updated_at=snapshot.taken_at,
    )


def _status(snapshot: Snapshot) -> PageStatus:
    level = indicator(c.verdict.component for c in snapshot.checks)
    return PageStatus(indicator=level, description=INDICATOR_TEXT[level])


def group_id(group: str) -> str:
    return f"group:{group}"


def _component(item: CheckSnapshot, position: int, snapshot: Snapshot, pid: str) -> SpComponent:
    updated = item.updated_at or snapshot.taken_at
    group = item.check.group
    return SpComponent(
        id=item.check.name,
        name=item.check.name,
        status=item.verdict.component,
        created_at=updated,
        updated_at=updated,
        position=position,
        description=item.check.description or None,
        group_id=group_id(group) if group is not None else None,
        page_id=pid,
    )


def _groups(components: list[SpComponent], pid: str) -> list[SpGroup]:
    """One group component per check ``group``, after the checks, in config order."""
    members: dict[str, list[SpComponent]] = {}
    for component in components:
        if component.group_id is not None:
            members.setdefault(component.group_id, []).append(component)
    groups = []
    for n, (gid, parts) in enumerate(members.items(), start=len(components) + 1):
        worst = max(parts, key=lambda c: COMPONENT_ORDER.index(c.status))
        updated = max(c.updated_at for c in parts)
        groups.append(
            SpGroup(
                id=gid,
                name=gid.removeprefix("group:"),
                status=worst.status,
                created_at=updated,
                updated_at=updated,
                position=n,
                description=None,
                page_id=pid,
                components=[c.id for c in parts],
            )
        )
    return groups


def status_json(snapshot: Snapshot, settings: ApiSettings) -> StatusJson:
    return StatusJson(page=_page(snapshot, settings), status=_status(snapshot))


def summary_json(
    snapshot: Snapshot,
    settings: ApiSettings,
    open_incidents: list[IncidentRecord],
    *,
    message: dict[int, str],
    outages: dict[int, OutageSpan] | None = None,
) -> SummaryJson:
    """The page, every component, and each open incident; ``message`` maps id -> safe text,
    ``outages`` id -> the outage (its start is the incident's ``started_at``)."""
    page = _page(snapshot, settings)
    components = {
        item.check.name: _component(item, n, snapshot, page.id)
        for n, item in enumerate(snapshot.checks, start=1)
    }
    incidents = []
    for record in open_incidents:
        component = components.get(record.check)
        if component is None:
            continue  # a check since removed or disabled: not on this page
        outage = (outages or {}).get(record.id)
        incidents.append(
            alert_incident(
                record,
                component,
                outage=outage,
                message=message[record.id],
                settings=settings,
                pid=page.id,
            )
        )
    listed = list(components.values())
    return SummaryJson(
        page=page,
        components=[*listed, *_groups(listed, page.id)],
        incidents=incidents,
        status=_status(snapshot),
    )


def alert_incident(
    record: IncidentRecord,
    component: SpComponent,
    *,
    outage: OutageSpan | None,
    message: str,
    settings: ApiSettings,
    pid: str,
) -> SpIncident:
    """An alert-made incident, named after its check (not the rule): ``investigating`` while
    failing, ``monitoring`` once passing again, ``resolved`` when its alert resolved."""
    iid = str(record.id)
    began = outage.started_at if outage is not None else record.started_at
    # Passing again, the alert not resolved yet: Statuspage's "monitoring".
    ended = outage.ended_at if outage is not None else None
    status: IncidentStatus = "investigating" if ended is None else "monitoring"
    if record.resolved_at is not None:
        status = "resolved"
    updated = record.resolved_at or record.started_at
    update = IncidentUpdate(
        id=f"{iid}-1",
        status=status,
        body=message,
        incident_id=iid,
        created_at=record.started_at,
        updated_at=updated,
        display_at=record.started_at,
    )
    return SpIncident(
        id=iid,
        name=f"{record.check} failing in {record.region}",
        status=status,
        created_at=record.started_at,
        updated_at=updated,
        monitoring_at=ended,
        resolved_at=record.resolved_at,
        impact=_IMPACT.get(component.status, "minor"),
        shortlink=settings.public_url or "",
        started_at=began,
        page_id=pid,
        incident_updates=[update],
        components=[component],
    )

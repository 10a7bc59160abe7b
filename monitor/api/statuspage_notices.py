"""People's incidents and maintenance in Statuspage v2 shape (:mod:`monitor.api.statuspage`).

Ids are ``notice-<n>`` for what people wrote and ``window-<name>`` for the rules file's
maintenance windows, so they never collide with alert-made incidents (plain numbers).
Updates are listed newest first, as Statuspage lists them; a maintenance's components are
``under_maintenance`` while it is in progress or being verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from monitor.api.notices import Notice, Notices
from monitor.api.statuspage import (
    Impact,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
    SpComponent,
    SpGroup,
    SpIncident,
    SpMaintenance,
    SummaryJson,
)
from monitor.config.models import ApiSettings


def _updates(notice: Notice) -> list[IncidentUpdate]:
    return [
        IncidentUpdate(
            id=f"{notice.id}-{n}",
            status=cast("IncidentStatus | MaintenanceStatus", u.status),
            body=u.body,
            incident_id=notice.id,
            created_at=u.created_at,
            updated_at=u.created_at,
            display_at=u.created_at,
        )
        for n, u in reversed(list(enumerate(notice.updates, start=1)))
    ]


def _components(notice: Notice, known: Mapping[str, SpComponent]) -> list[SpComponent]:
    return [known[c] for c in notice.components if c in known]


def _shared(
    notice: Notice, known: Mapping[str, SpComponent], settings: ApiSettings, pid: str
) -> dict[str, Any]:
    """The fields an incident and a maintenance share on the page."""
    return {
        "id": notice.id,
        "name": notice.name,
        "impact": cast("Impact", notice.impact),
        "created_at": notice.created_at,
        "updated_at": notice.updated_at,
        "monitoring_at": notice.monitoring_at,
        "resolved_at": notice.resolved_at,
        "shortlink": settings.public_url or "",
        "started_at": notice.started_at,
        "page_id": pid,
        "incident_updates": _updates(notice),
        "components": _components(notice, known),
    }


def sp_incident(
    notice: Notice, known: Mapping[str, SpComponent], settings: ApiSettings, pid: str
) -> SpIncident:
    """An incident people wrote; ``known``: the page's components by id."""
    return SpIncident(
        status=cast("IncidentStatus", notice.status), **_shared(notice, known, settings, pid)
    )


def sp_maintenance(
    notice: Notice, known: Mapping[str, SpComponent], settings: ApiSettings, pid: str
) -> SpMaintenance:
    """A maintenance, people's or a rules-file window's."""
    return SpMaintenance(
        status=cast("MaintenanceStatus", notice.status),
        scheduled_for=notice.scheduled_for,
        scheduled_until=notice.scheduled_until,
        **_shared(notice, known, settings, pid),
    )


def known_components(summary: SummaryJson) -> dict[str, SpComponent]:
    return {c.id: c for c in summary.components}


def with_notices(summary: SummaryJson, notices: Notices, settings: ApiSettings) -> SummaryJson:
    """``summary`` with people's open incidents after the alert-made ones, maintenance scheduled
    or in progress, and the components of a maintenance in progress ``under_maintenance``."""
    maintained = notices.under_maintenance()
    components: list[SpGroup | SpComponent] = [
        c.model_copy(update={"status": "under_maintenance"})
        if c.id in maintained and not isinstance(c, SpGroup)
        else c
        for c in summary.components
    ]
    known = {c.id: c for c in components}
    pid = summary.page.id
    return summary.model_copy(
        update={
            "components": components,
            "incidents": [
                *summary.incidents,
                *(sp_incident(n, known, settings, pid) for n in notices.open_incidents),
            ],
            "scheduled_maintenances": [
                sp_maintenance(n, known, settings, pid) for n in notices.upcoming
            ],
        }
    )

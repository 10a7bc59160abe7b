"""How long an incident's outage lasted, read from the stored results.

    spans = await outage_spans(store, incidents)     # incident id -> OutageSpan
    spans[incident.id].started_at, spans[incident.id].ended_at

An incident opens when an alert fires and closes when it resolves; both come a
confirmation after the fact.  The outage is what users lived through: from the
start of the first failing run to the start of the first passing run::

    pass  pass  FAIL  FAIL  FAIL  pass  pass
                 ^ outage starts     ^ outage ends
                        ^ alert fires     ^ alert resolves (resolve_after: 2)

``started_at``: the first ``fail`` after the last good run (``pass`` or ``degraded``)
at or before the incident opened.  ``ended_at``: the first good run after the last
``fail`` at or before the incident resolved.  An open incident whose check passes
again (its alert recovering, not resolved yet) has its ``ended_at`` already; one
still failing has ``None``.
An incident of region ``*`` (an alert over regions) runs from the first region's
outage start to the last region's end.
Without a stored ``fail`` to go by (an alert on response time, results pruned), the
incident's own times stand.  ``error`` results say nothing either way.

When the engine stores the outage on the alert state, that replaces this reading in
:func:`outage_spans` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.records import IncidentRecord
from monitor.store.schema import results
from monitor.store.store import ResultStore
from probes.base import Status

GOOD = (Status.PASS.value, Status.DEGRADED.value)
BAD = (Status.FAIL.value,)
ALL_REGIONS = "*"


@dataclass(frozen=True, slots=True)
class OutageSpan:
    """First failing run's start -> first passing run's start (``None``: still failing)."""

    started_at: datetime
    ended_at: datetime | None

    def seconds(self, now: datetime) -> float:
        """The outage's length; one still going on is measured up to ``now``."""
        return max(0.0, ((self.ended_at or now) - self.started_at).total_seconds())


async def outage_spans(
    store: ResultStore, incidents: Iterable[IncidentRecord]
) -> dict[int, OutageSpan]:
    """The outage behind each incident, by incident id (up to four indexed queries each)."""
    incidents = list(incidents)
    if not incidents:
        return {}
    async with store.connection("reading outage lengths") as conn:
        return {i.id: await _span(conn, i) for i in incidents}


async def _span(conn: AsyncConnection, incident: IncidentRecord) -> OutageSpan:
    if incident.region != ALL_REGIONS:
        found = await _region_span(conn, incident, incident.region)
        return found or OutageSpan(incident.started_at, incident.resolved_at)
    # Over regions: from the first region to fail to the last one to come back.
    regions = await conn.scalars(
        select(results.c.region).where(results.c.check == incident.check).distinct()
    )
    spans = [s for r in regions.all() if (s := await _region_span(conn, incident, r))]
    if not spans:
        return OutageSpan(incident.started_at, incident.resolved_at)
    ends = [s.ended_at for s in spans]
    return OutageSpan(
        min(s.started_at for s in spans),
        None if None in ends else max(e for e in ends if e is not None),
    )


async def _region_span(
    conn: AsyncConnection, incident: IncidentRecord, region: str
) -> OutageSpan | None:
    where = [results.c.check == incident.check, results.c.region == region]
    opened, resolved = incident.started_at, incident.resolved_at
    last_good = await _edge(conn, where, GOOD, latest=True, until=opened)
    first_bad = await _edge(conn, where, BAD, after=last_good, until=opened)
    if first_bad is None:
        return None
    last_bad = await _edge(conn, where, BAD, latest=True, until=resolved)
    first_good = await _edge(conn, where, GOOD, after=last_bad, until=resolved)
    if resolved is None:  # passing again, recovery not confirmed yet: the outage is over
        return OutageSpan(first_bad, first_good)
    return OutageSpan(first_bad, first_good or resolved)


async def _edge(
    conn: AsyncConnection,
    where: list[ColumnElement[bool]],
    statuses: tuple[str, ...],
    *,
    until: datetime | None,
    after: datetime | None = None,
    latest: bool = False,
) -> datetime | None:
    """The earliest (``latest``: the latest) start of a run with one of ``statuses`` in
    ``(after, until]`` (``None``: unbounded); one indexed aggregate."""
    edge = func.max(results.c.started_at) if latest else func.min(results.c.started_at)
    query: Select[tuple[datetime | None]] = select(edge).where(
        *where, results.c.status.in_(statuses)
    )
    if until is not None:
        query = query.where(results.c.started_at <= until)
    if after is not None:
        query = query.where(results.c.started_at > after)
    found: datetime | None = await conn.scalar(query)
    return found

"""``/api/v1/incidents``: outages per (check, region), newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from monitor.api.auth import may_see_private
from monitor.api.context import ApiContext
from monitor.api.models import Incident, IncidentList
from monitor.api.routes import NAME_PATTERN, READ_ERRORS, IsoTime, errors, utc
from monitor.api.scrub import Scrubber
from monitor.store import IncidentRecord
from monitor.store.outages import OutageSpan, outage_spans

MAX_INCIDENTS = 500


def incident(
    record: IncidentRecord, span: OutageSpan, scrubber: Scrubber, *, now: datetime
) -> Incident:
    return Incident(
        id=record.id,
        check=record.check,
        region=record.region,
        started_at=record.started_at,
        resolved_at=record.resolved_at,
        open=record.open,
        message=scrubber.text(record.message),
        outage_started_at=span.started_at,
        outage_ended_at=span.ended_at,
        duration_seconds=round(span.seconds(now), 3),
    )


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["incidents"])

    @api.get(
        "/api/v1/incidents",
        summary="Incidents, newest first",
        response_model=IncidentList,
        responses=errors(404, 422, *READ_ERRORS),
    )
    async def list_incidents(
        request: Request,
        check: Annotated[
            str | None, Query(pattern=NAME_PATTERN, description="only this check's")
        ] = None,
        open_only: Annotated[
            bool, Query(alias="open", description="only incidents not yet resolved")
        ] = False,
        since: Annotated[
            datetime | None,
            IsoTime,
            Query(description="only incidents started at or after this time (ISO 8601)"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_INCIDENTS)] = 50,
    ) -> IncidentList:
        """An incident opens when an alert fires and closes when it resolves; its outage
        runs from the first failing run to the first passing one (``duration_seconds``)."""
        private = may_see_private(ctx, request)
        name = ctx.check(check, private=private).name if check is not None else None
        records = await ctx.service.store.incidents(
            since=utc(since, "since"), check=name, open_only=open_only, limit=limit
        )
        if not private:
            hidden = {c.name for c in ctx.config.checks if not c.public}
            records = [r for r in records if r.check not in hidden]
        spans = await outage_spans(ctx.service.store, records)
        scrubber, now = ctx.scrubber(), datetime.now(UTC)
        return IncidentList(
            incidents=[incident(r, spans[r.id], scrubber, now=now) for r in records]
        )

    return api

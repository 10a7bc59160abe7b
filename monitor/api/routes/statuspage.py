"""Atlassian Statuspage v2 compatible ``/api/v2/status.json`` and ``/api/v2/summary.json``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitor.api.auth import may_see_private
from monitor.api.context import ApiContext
from monitor.api.notices import read_notices
from monitor.api.routes import READ_ERRORS, errors, json_bytes
from monitor.api.snapshot import Snapshot, take_snapshot
from monitor.api.statuspage import (
    IncidentsJson,
    MaintenancesJson,
    StatusJson,
    SummaryJson,
    alert_incident,
    status_json,
    summary_json,
)
from monitor.api.statuspage_notices import (
    known_components,
    sp_incident,
    sp_maintenance,
    with_notices,
)
from monitor.store.outages import outage_spans

OPEN_INCIDENTS_SHOWN = 100
RECENT_SHOWN = 50  # incidents.json and scheduled-maintenances.json, as Statuspage


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["statuspage"])

    async def render_status(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        return status_json(snapshot, ctx.settings).model_dump_json().encode()

    async def render_summary(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        incidents = await ctx.service.store.incidents(open_only=True, limit=OPEN_INCIDENTS_SHOWN)
        scrubber = ctx.scrubber()
        messages = {i.id: scrubber.text(i.message) for i in incidents}
        outages = await outage_spans(ctx.service.store, incidents)
        summary = summary_json(snapshot, ctx.settings, incidents, message=messages, outages=outages)
        notices = await read_notices(ctx.service, now=snapshot.taken_at, visible=_visible(snapshot))
        return with_notices(summary, notices, ctx.settings).model_dump_json().encode()

    async def render_incidents(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        summary = summary_json(snapshot, ctx.settings, [], message={})
        known, pid = known_components(summary), summary.page.id
        notices = await read_notices(ctx.service, now=snapshot.taken_at, visible=_visible(snapshot))
        made = [sp_incident(n, known, ctx.settings, pid) for n in notices.incidents]
        records = await ctx.service.store.incidents(limit=RECENT_SHOWN)
        records = [r for r in records if r.check in known]
        outages = await outage_spans(ctx.service.store, records)
        scrubber = ctx.scrubber()
        alerted = [
            alert_incident(
                r,
                known[r.check],
                outage=outages.get(r.id),
                message=scrubber.text(r.message),
                settings=ctx.settings,
                pid=pid,
            )
            for r in records
        ]
        newest = sorted([*made, *alerted], key=lambda i: i.created_at, reverse=True)
        answer = IncidentsJson(page=summary.page, incidents=newest[:RECENT_SHOWN])
        return answer.model_dump_json().encode()

    async def render_maintenances(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        summary = summary_json(snapshot, ctx.settings, [], message={})
        known, pid = known_components(summary), summary.page.id
        notices = await read_notices(ctx.service, now=snapshot.taken_at, visible=_visible(snapshot))
        answer = MaintenancesJson(
            page=summary.page,
            scheduled_maintenances=[
                sp_maintenance(n, known, ctx.settings, pid)
                for n in notices.maintenances[:RECENT_SHOWN]
            ],
        )
        return answer.model_dump_json().encode()

    @api.get(
        "/api/v2/status.json",
        summary="The page's top-level status (Statuspage v2)",
        response_model=StatusJson,
        responses=errors(*READ_ERRORS),
    )
    async def get_status_json(request: Request) -> Response:
        """``indicator`` none / minor / major / critical from the worst check (checks with
        ``public: false`` count for bearer-token holders only)."""
        private = may_see_private(ctx, request)
        return json_bytes(
            await ctx.cached("v2/status", lambda: render_status(private), private=private)
        )

    @api.get(
        "/api/v2/summary.json",
        summary="Status, components and open incidents (Statuspage v2)",
        response_model=SummaryJson,
        responses=errors(*READ_ERRORS),
    )
    async def get_summary_json(request: Request) -> Response:
        """One component per enabled check; open incidents as ``investigating`` (``monitoring``
        once the check passes again, its recovery not confirmed yet).  Checks with ``public:
        false`` and their incidents are shown to bearer-token holders only."""
        private = may_see_private(ctx, request)
        return json_bytes(
            await ctx.cached("v2/summary", lambda: render_summary(private), private=private)
        )

    @api.get(
        "/api/v2/incidents.json",
        summary="The 50 most recent incidents, resolved too (Statuspage v2)",
        response_model=IncidentsJson,
        responses=errors(*READ_ERRORS),
    )
    async def get_incidents_json(request: Request) -> Response:
        """Incidents people wrote (ids ``notice-<n>``) and alert-made ones (plain numbers,
        named after their check), newest first."""
        private = may_see_private(ctx, request)
        return json_bytes(
            await ctx.cached("v2/incidents", lambda: render_incidents(private), private=private)
        )

    @api.get(
        "/api/v2/scheduled-maintenances.json",
        summary="The 50 most recent scheduled maintenances, every state (Statuspage v2)",
        response_model=MaintenancesJson,
        responses=errors(*READ_ERRORS),
    )
    async def get_maintenances_json(request: Request) -> Response:
        """Maintenance people scheduled (``notice-<n>``) and the rules file's recurring windows
        (``window-<name>``: the one in progress, or the next within 7 days)."""
        private = may_see_private(ctx, request)
        return json_bytes(
            await ctx.cached(
                "v2/maintenances", lambda: render_maintenances(private), private=private
            )
        )

    return api


def _visible(snapshot: Snapshot) -> frozenset[str]:
    return frozenset(c.check.name for c in snapshot.checks)

"""Atlassian Statuspage v2 compatible ``/api/v2/status.json`` and ``/api/v2/summary.json``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitor.api.auth import may_see_private
from monitor.api.context import ApiContext
from monitor.api.routes import READ_ERRORS, errors, json_bytes
from monitor.api.snapshot import take_snapshot
from monitor.api.statuspage import StatusJson, SummaryJson, status_json, summary_json
from monitor.store.outages import outage_spans

OPEN_INCIDENTS_SHOWN = 100


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
        return summary.model_dump_json().encode()

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

    return api

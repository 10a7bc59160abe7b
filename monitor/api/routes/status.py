"""``/api/v1/status``: the overall status, served from the answer cache."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Request, Response

from monitor.api.auth import may_see_private
from monitor.api.context import ApiContext
from monitor.api.models import MemberReport, SplitReport, StatusReport
from monitor.api.routes import READ_ERRORS, errors, json_bytes
from monitor.api.routes.health import lateness_of
from monitor.api.snapshot import status_report, take_snapshot
from monitor.contract import Split


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["status"])

    async def render(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        split = ctx.service.split()
        scrubber = ctx.scrubber()

        def report_bytes() -> bytes:
            report = status_report(snapshot, version=ctx.version, scrubber=scrubber)
            shown = report.model_copy(update={"split": split_report(split, report.timestamp)})
            return shown.model_dump_json().encode()

        # In a thread: a thousand checks' report is a burst of CPU the loop must not wait on.
        return await asyncio.to_thread(report_bytes)

    @api.get(
        "/api/v1/status",
        summary="Overall and per-check status, per region",
        response_model=StatusReport,
        responses=errors(*READ_ERRORS),
    )
    async def get_status(request: Request) -> Response:
        """``healthy`` / ``degraded`` / ``down`` overall, and each check's status in each region.

        A check is ``healthy`` when its newest result passes in every region, ``recovering``
        when it passes again but an alert of it is still firing or recovering, ``degraded``
        when one is degraded or it fails in some regions, ``down`` when it fails in all, and
        ``unknown`` without results (errors do not count).  ``checks[].alerts`` lists its
        alerts that have not ended; a result from an undeclared region is shown with
        ``declared: false``.  Checks with ``public: false`` are listed (and counted) for
        bearer-token holders only.  ``split`` (replicas sharing the region, ``scheduler.shard``)
        lists the live members with their role, heartbeat age and checks owned, the checks
        without an owner, and this replica's lateness.  Cached for ``api.cache``, never past
        a newer result.
        """
        private = may_see_private(ctx, request)
        return json_bytes(await ctx.cached("v1/status", lambda: render(private), private=private))

    return api


def split_report(split: Split | None, now: datetime) -> SplitReport | None:
    if split is None:
        return None
    members = [
        MemberReport(
            member=m.member,
            role=m.role,
            heartbeat_age_seconds=round(max(0.0, (now - m.heartbeat_at).total_seconds()), 3),
            owned=m.owned,
        )
        for m in split.members
    ]
    return SplitReport(
        region=split.region,
        members=members,
        unowned=split.unowned,
        lateness=lateness_of(split.lateness),
    )

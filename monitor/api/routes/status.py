"""``/api/v1/status``: the overall status, served from the answer cache."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitor.api.auth import may_see_private
from monitor.api.context import ApiContext
from monitor.api.models import StatusReport
from monitor.api.routes import READ_ERRORS, errors, json_bytes
from monitor.api.snapshot import status_report, take_snapshot


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["status"])

    async def render(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        report = status_report(snapshot, version=ctx.version, scrubber=ctx.scrubber())
        return report.model_dump_json().encode()

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
        bearer-token holders only.  Cached for ``api.cache``, never past a newer result.
        """
        private = may_see_private(ctx, request)
        return json_bytes(await ctx.cached("v1/status", lambda: render(private), private=private))

    return api

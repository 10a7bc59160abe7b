"""Writes: run a check now, reload the config.  Both need ``Authorization: Bearer <api.token>``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from monitor.api.auth import write_guard
from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.models import ArtifactItem, ErrorResponse, ReloadReport, RunReport
from monitor.api.routes import errors
from monitor.api.routes.checks import CheckId
from monitor.api.snapshot import result_status
from monitor.contract import UnknownCheck
from monitor.errors import ConfigError
from monitor.store.records import record_values


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["admin"], dependencies=[Depends(write_guard(ctx))])

    @api.post(
        "/api/v1/checks/{id}/run",
        summary="Run a check now in this region",
        response_model=RunReport,
        responses=errors(401, 403, 404, 422, 503),
    )
    async def run_check(check_id: CheckId) -> RunReport:
        """Runs the check once (as the scheduler would), stores the result and returns it."""
        try:
            run = await ctx.service.run_now(check_id)
        except UnknownCheck:
            raise ApiError(
                404,
                "unknown_check",
                f"no enabled check named '{check_id}' runs in region '{ctx.service.region}'",
            ) from None
        ctx.cache.clear()
        return RunReport(
            **{
                **record_values(run.to_record(), RunReport.model_fields),
                "status": result_status(run.status),
                "message": ctx.scrubber().text(run.result.message),
                "result_id": run.result_id,
                "artifacts": [
                    ArtifactItem(
                        name=link.name,
                        size=link.size,
                        content_type=link.content_type,
                        url=link.url or "",
                    )
                    for link in run.links
                    if link.url is not None
                ],
            }
        )

    @api.post(
        "/api/v1/reload",
        summary="Re-read the config files and swap them in",
        response_model=ReloadReport,
        responses={
            **errors(401, 403),
            422: {
                "model": ErrorResponse,
                "description": "The new config is invalid; the old one keeps running",
            },
        },
    )
    async def reload_config() -> ReloadReport:
        """History is kept; an invalid config is refused with every problem listed."""
        try:
            loaded = await ctx.service.reload()
        except ConfigError as exc:
            scrubber = ctx.scrubber()
            count = len(exc.problems)
            raise ApiError(
                422,
                "invalid_config",
                f"the new config has {count} problem{'s' if count != 1 else ''};"
                " the old one keeps running",
                problems=[scrubber.text(str(p)) for p in exc.problems],
            ) from None
        ctx.cache.clear()
        return ReloadReport(checks=len(loaded.config.checks))

    return api

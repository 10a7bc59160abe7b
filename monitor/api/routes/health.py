"""``/health`` (liveness, no I/O) and ``/ready`` (readiness, from the service)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from monitor.api.context import ApiContext
from monitor.api.models import (
    Health,
    LatenessReport,
    ReadinessReport,
    ShardReport,
    StoreLagReport,
)
from monitor.contract import Lateness, ShardState, StoreLag


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["health"])
    health = Health(version=ctx.version)

    @api.get("/health", summary="Liveness: the process answers", response_model=Health)
    async def get_health() -> Health:
        """Always 200 while the process serves requests; touches nothing else."""
        return health

    @api.get(
        "/ready",
        summary="Readiness: store reachable, scheduler running, browser up if needed",
        response_model=ReadinessReport,
        responses={503: {"model": ReadinessReport, "description": "Not ready; see components"}},
    )
    async def get_ready() -> JSONResponse:
        """200 when every component is ``ok``, else 503 with each component's state."""
        try:
            readiness = await ctx.service.readiness()
        except Exception as exc:
            ctx.log.warning("api.readiness_failed", error_type=type(exc).__name__, exc_info=True)
            report = ReadinessReport(
                ready=False, role="unknown", components={"service": "readiness check failed"}
            )
        else:
            report = ReadinessReport(
                ready=readiness.ready,
                role=readiness.role,
                components={
                    name: ctx.scrubber().text(state) for name, state in readiness.components.items()
                },
                store_lag=lag_report(readiness.store_lag),
                shard=shard_report(readiness.shard),
                lateness=lateness_report(readiness.lateness),
            )
        return JSONResponse(
            report.model_dump(mode="json"), status_code=200 if report.ready else 503
        )

    return api


def shard_report(shard: ShardState | None) -> ShardReport | None:
    if shard is None:
        return None
    return ShardReport(
        member=shard.member,
        role=shard.role,
        owned=shard.owned,
        unowned=shard.unowned,
        members=dict(shard.members),
    )


def lateness_report(late: Lateness | None) -> LatenessReport | None:
    return None if late is None else lateness_of(late)


def lateness_of(late: Lateness) -> LatenessReport:
    return LatenessReport(
        runs=late.runs,
        p50_seconds=round(late.p50_s, 3),
        p95_seconds=round(late.p95_s, 3),
        max_seconds=round(late.max_s, 3),
    )


def lag_report(lag: StoreLag) -> StoreLagReport:
    age = None if lag.oldest_age_s is None else round(lag.oldest_age_s, 3)
    return StoreLagReport(spooled=lag.spooled, oldest_age_seconds=age)

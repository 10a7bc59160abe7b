"""``/api/v1/checks``: the configured checks, their results (paginated) and their uptime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from monitor.api.auth import may_see_artifacts, may_see_private
from monitor.api.context import ApiContext
from monitor.api.models import (
    ArtifactItem,
    AssertionItem,
    CheckDetail,
    CheckInfo,
    CheckList,
    ResultItem,
    ResultPage,
    UptimeReport,
    Window,
)
from monitor.api.routes import NAME_PATTERN, READ_ERRORS, REGION_PATTERN, IsoTime, errors, utc
from monitor.api.routes.artifacts import artifact_items
from monitor.api.scrub import Scrubber
from monitor.api.snapshot import check_snapshot, read_alerts, region_statuses, result_status
from monitor.api.verdict import UNKNOWN
from monitor.config.models import CheckCommon
from monitor.config.root import SmokewatchConfig
from monitor.store import ResultRecord
from monitor.store.artifacts import ArtifactRecord
from monitor.store.records import record_values

WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
MAX_PAGE = 500
MAX_ID = 2**63 - 1

CheckId = Annotated[
    str, Path(alias="id", pattern=NAME_PATTERN, description="the check's name", examples=["health"])
]
Region = Annotated[
    str | None, Query(pattern=REGION_PATTERN, description="only this region", examples=["eu"])
]


def check_info(check: CheckCommon, config: SmokewatchConfig, scrubber: Scrubber) -> CheckInfo:
    """What the API tells about a check: never its URL, headers or body."""
    interval = None if check.cron else config.settings_for(check).interval.total_seconds()
    return CheckInfo(
        name=check.name,
        kind=check.kind,
        description=scrubber.text(check.description),
        enabled=check.enabled,
        interval_seconds=interval,
        cron=check.cron,
        regions=list(check.regions) if check.regions is not None else None,
        tags={key: scrubber.text(value) for key, value in check.tags.items()},
        group=check.group,
        public=check.public,
    )


def result_item(
    record: ResultRecord, scrubber: Scrubber, artifacts: list[ArtifactItem] | None = None
) -> ResultItem:
    """The API's view of a stored result: its fields, scrubbed where a person wrote text."""
    return ResultItem(
        **{
            **record_values(record, ResultItem.model_fields),
            "id": record.id or 0,
            "status": result_status(record.status),
            "message": scrubber.text(record.message),
            "timings": dict(record.timings),
            "assertions": [
                AssertionItem.model_validate(scrubber.data(a)) for a in record.assertions
            ],
            "details": scrubber.data(record.details),
            "artifacts": artifacts or [],
        }
    )


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(prefix="/api/v1/checks", tags=["checks"])

    @api.get(
        "",
        summary="Every configured check",
        response_model=CheckList,
        responses=errors(*READ_ERRORS),
    )
    async def list_checks(request: Request) -> CheckList:
        """Name, kind, description, schedule, regions, tags, group and visibility of each check
        (enabled or not); checks with ``public: false`` for bearer-token holders only."""
        config, scrubber = ctx.config, ctx.scrubber()
        private = may_see_private(ctx, request)
        return CheckList(
            checks=[check_info(c, config, scrubber) for c in config.checks if c.public or private]
        )

    @api.get(
        "/{id}",
        summary="One check and its newest result per region",
        response_model=CheckDetail,
        responses=errors(404, 422, *READ_ERRORS),
    )
    async def get_check(request: Request, check_id: CheckId) -> CheckDetail:
        check = ctx.check(check_id, private=may_see_private(ctx, request))
        config, scrubber = ctx.config, ctx.scrubber()
        latest = {r.region: r for r in await ctx.service.store.latest() if r.check == check.name}
        alerts = (await read_alerts(ctx.service)).get(check.name, ())
        item = check_snapshot(config, check, latest, alerts, datetime.now(UTC))
        return CheckDetail(
            **check_info(check, config, scrubber).model_dump(),
            status=item.verdict.state if check.enabled else UNKNOWN.state,
            latest=region_statuses(item, scrubber),
            alerts=list(item.alerts),
        )

    @api.get(
        "/{id}/results",
        summary="A check's results, newest first, paginated",
        response_model=ResultPage,
        responses=errors(404, 422, *READ_ERRORS),
    )
    async def get_results(
        request: Request,
        check_id: CheckId,
        *,
        region: Region = None,
        since: Annotated[
            datetime | None,
            IsoTime,
            Query(description="only results started at or after this time (ISO 8601)"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = 100,
        before: Annotated[
            int | None,
            Query(ge=1, le=MAX_ID, description="cursor: the previous page's next_before"),
        ] = None,
    ) -> ResultPage:
        """Keyset pagination: follow ``next`` (or pass ``next_before`` as ``before``)."""
        check = ctx.check(check_id, private=may_see_private(ctx, request))
        records = await ctx.service.store.results(
            check.name,
            region=region,
            since=utc(since, "since"),
            before_id=before,
            limit=limit + 1,
        )
        page, more = records[:limit], len(records) > limit
        cursor = page[-1].id if more and page else None
        nxt = None
        if cursor is not None:
            url = request.url.include_query_params(before=cursor)
            nxt = f"{url.path}?{url.query}"
        scrubber = ctx.scrubber()
        links: dict[int, list[ArtifactRecord]] = {}
        if may_see_artifacts(ctx, request):
            links = await ctx.artifacts().of_results([r.id for r in page if r.id is not None])
        public_url = ctx.settings.public_url
        return ResultPage(
            check=check.name,
            results=[
                result_item(r, scrubber, artifact_items(links.get(r.id or 0, []), public_url))
                for r in page
            ],
            next_before=cursor,
            next=nxt,
        )

    @api.get(
        "/{id}/uptime",
        summary="A check's uptime and response times over a window",
        response_model=UptimeReport,
        responses=errors(404, 422, *READ_ERRORS),
    )
    async def get_uptime(
        request: Request,
        check_id: CheckId,
        window: Annotated[Window, Query(description="how far back to look")] = "24h",
        region: Region = None,
    ) -> UptimeReport:
        """Computed in SQL over the window; errors (the probe could not run) are not downtime."""
        check = ctx.check(check_id, private=may_see_private(ctx, request))
        since = datetime.now(UTC) - WINDOWS[window]
        summary = await ctx.service.store.uptime(check.name, since=since, region=region)
        return UptimeReport(
            check=check.name,
            region=region,
            window=window,
            since=since,
            total=summary.total,
            passed=summary.passed,
            degraded=summary.degraded,
            failed=summary.failed,
            errored=summary.errored,
            uptime=summary.uptime,
            avg_ms=summary.avg_ms,
            p50_ms=summary.p50_ms,
            p95_ms=summary.p95_ms,
            p99_ms=summary.p99_ms,
            max_ms=summary.max_ms,
        )

    return api

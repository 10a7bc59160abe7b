"""``/badges/...``: SVG status, uptime and response-time badges per check and per group."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from monitor.api.auth import may_see_private
from monitor.api.badges import (
    STATE_COLOUR,
    STATE_TEXT,
    Badge,
    ms_text,
    render,
    uptime_colour,
    uptime_text,
)
from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.routes import NAME_PATTERN, READ_ERRORS, errors
from monitor.api.routes.checks import WINDOWS
from monitor.api.snapshot import take_snapshot
from monitor.api.verdict import group_state
from monitor.config.models import CheckCommon

BadgeWindow = Literal["24h", "7d", "30d", "90d"]
BadgeKind = Literal["status", "uptime", "response-time"]
MAX_AGE_S = 60
SVG = "image/svg+xml"

Name = Annotated[str, Path(pattern=NAME_PATTERN, description="the check's name")]
Group = Annotated[
    str, Path(min_length=1, max_length=100, description="the group's name, URL-encoded")
]
Kind = Annotated[BadgeKind, Path(description="what the badge shows")]
WindowParam = Annotated[
    BadgeWindow, Query(description="the window an uptime or response-time figure covers")
]
Label = Annotated[str | None, Query(min_length=1, max_length=50, description="the left-hand text")]


def _respond(request: Request, body: bytes, *, private: bool) -> Response:
    """The badge with an ETag; a 304 when the caller already has this one."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"{'private' if private else 'public'}, max-age={MAX_AGE_S}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=SVG, headers=headers)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(prefix="/badges", tags=["badges"])
    svg: dict[int | str, dict[str, Any]] = {200: {"content": {SVG: {"schema": {"type": "string"}}}}}

    def visible(request: Request, group: str) -> tuple[list[CheckCommon], bool]:
        private = may_see_private(ctx, request)
        found = [
            c for c in ctx.config.checks if c.group == group and c.enabled and (c.public or private)
        ]
        if not found:
            raise ApiError(404, "unknown_group", f"no group named '{group}'")
        return found, private

    async def figures(checks: list[CheckCommon], window: str) -> tuple[float | None, float | None]:
        """Uptime and mean response time over ``window`` across ``checks``."""
        since = datetime.now(UTC) - WINDOWS[window]
        up = counted = 0
        weighted = 0.0
        for check in checks:
            summary = await ctx.service.store.uptime(check.name, since=since)
            measured = summary.passed + summary.degraded + summary.failed
            up += summary.passed + summary.degraded
            counted += measured
            weighted += (summary.avg_ms or 0.0) * measured
        if not counted:
            return None, None
        return up / counted, weighted / counted

    async def badge(
        kind: BadgeKind, window: str, label: str | None, checks: list[CheckCommon], private: bool
    ) -> Badge:
        """The ``kind`` badge of ``checks`` (one check, or a group's): ``label`` overrides the
        default left-hand text (the name for a status badge)."""
        if kind == "status":
            snapshot = await take_snapshot(ctx.service, private=private)
            names = {c.name for c in checks}
            state = group_state(c.verdict.state for c in snapshot.checks if c.check.name in names)
            return Badge(label or "", STATE_TEXT[state], STATE_COLOUR[state])
        uptime, mean = await figures(checks, window)
        if kind == "uptime":
            return Badge(label or f"uptime {window}", uptime_text(uptime), uptime_colour(uptime))
        return Badge(label or f"response {window}", ms_text(mean), "info")

    async def answer(
        request: Request,
        kind: BadgeKind,
        *,
        window: str,
        label: str | None,
        subject: str,
        checks: list[CheckCommon],
        private: bool,
    ) -> Response:
        """The badge of ``subject`` (a check's name, or ``group:<name>``) from the cache."""

        async def compute() -> bytes:
            name = subject.removeprefix("group:") if kind == "status" else None
            return render(await badge(kind, window, label or name, checks, private)).encode()

        key = f"badge:{subject}:{kind}:{window}:{label}"
        return _respond(request, await ctx.cached(key, compute, private=private), private=private)

    @api.get(
        "/checks/{name}/{kind}.svg",
        summary="A check's badge: status, uptime or response time",
        response_class=Response,
        responses={**svg, **errors(404, 422, *READ_ERRORS)},
    )
    async def check_badge(
        request: Request,
        name: Name,
        kind: Kind,
        window: WindowParam = "24h",
        label: Label = None,
    ) -> Response:
        """``status``: ``up``, ``degraded``, ``recovering``, ``down`` or ``no data``, as on the
        page; ``uptime``: as ``/api/v1/checks/{id}/uptime`` computes it over ``window``;
        ``response-time``: the mean duration over ``window`` of the results that measured the
        target.  A ``public: false`` check is a 404 without the token."""
        private = may_see_private(ctx, request)
        check = ctx.check(name, private=private)
        return await answer(
            request,
            kind,
            window=window,
            label=label,
            subject=check.name,
            checks=[check],
            private=private,
        )

    @api.get(
        "/groups/{group}/{kind}.svg",
        summary="A group's badge: status, uptime or response time",
        response_class=Response,
        responses={**svg, **errors(404, 422, *READ_ERRORS)},
    )
    async def group_badge(
        request: Request,
        group: Group,
        kind: Kind,
        window: WindowParam = "24h",
        label: Label = None,
    ) -> Response:
        """The group's state as its page section shows it, or the uptime and mean response
        time over ``window`` of all its checks' runs together (its private checks count
        for token holders only)."""
        checks, private = visible(request, group)
        return await answer(
            request,
            kind,
            window=window,
            label=label,
            subject=f"group:{group}",
            checks=checks,
            private=private,
        )

    return api

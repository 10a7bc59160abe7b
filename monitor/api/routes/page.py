"""``/`` and ``/checks/{name}``: the server-rendered status pages (no JavaScript, no external
resources)."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.templating import Jinja2Templates
from jinja2 import Template

from monitor.api.auth import may_see_artifacts, may_see_private
from monitor.api.branding import brand_view, page_csp
from monitor.api.check_page import FAILURES_SHOWN, ChartRange, build_check_page
from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.notice_page import notices_view
from monitor.api.notices import read_notices
from monitor.api.page import ArtifactLinks, build_page
from monitor.api.refresh import REFRESH_S, SCRIPT
from monitor.api.routes import NAME_PATTERN, READ_ERRORS, errors
from monitor.api.snapshot import take_snapshot
from monitor.store import ResultRecord
from probes.base import Status

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
GZIP_LEVEL = 6  # as the app's GZip middleware: half of level 9's CPU for ~5 % more bytes


def gzipped(template: Template, **context: object) -> bytes:
    """``template`` rendered with ``context``, gzip-compressed (blocking: a thread's work)."""
    return gzip.compress(template.render(**context).encode(), compresslevel=GZIP_LEVEL)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["page"])
    templates = Jinja2Templates(directory=TEMPLATES)
    template = templates.get_template("status.html")

    async def links(records: list[ResultRecord]) -> ArtifactLinks:
        """Links to the artifacts of ``records``, for a reader allowed to see them."""
        found = await ctx.artifacts().of_results([r.id for r in records if r.id])
        return ArtifactLinks(found, ctx.settings.public_url)

    async def render(with_artifacts: bool, private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        shown = [r for item in snapshot.checks for r in item.latest.values()]
        artifacts = await links(shown) if with_artifacts else None
        view = await build_page(
            ctx.service,
            snapshot,
            title=ctx.settings.title,
            scrubber=ctx.scrubber(),
            artifacts=artifacts,
        )
        visible = frozenset(c.check.name for c in snapshot.checks)
        notices = await read_notices(ctx.service, now=snapshot.taken_at, visible=visible)
        # In a thread, like the rows: seconds of template CPU with a thousand checks.
        return await asyncio.to_thread(
            gzipped,
            template,
            view=view,
            notices=notices_view(notices, snapshot),
            brand=brand_view(ctx.settings),
            refresh_js=SCRIPT,
            refresh_s=REFRESH_S,
        )

    check_template = templates.get_template("check.html")

    async def render_check(
        name: str, chart_range: str, with_artifacts: bool, private: bool
    ) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        item = next((c for c in snapshot.checks if c.check.name == name), None)
        if item is None:  # disabled, or removed by a reload since the request began
            raise ApiError(404, "unknown_check", f"no check named '{name}'")
        failures = await ctx.service.store.results(
            name, statuses=[Status.FAIL], limit=FAILURES_SHOWN
        )
        shown = [*item.latest.values(), *failures]
        artifacts = await links(shown) if with_artifacts else None
        view = await build_check_page(
            ctx.service,
            item,
            title=ctx.settings.title,
            scrubber=ctx.scrubber(),
            chart_range=chart_range,
            failures=failures,
            artifacts=artifacts,
            now=snapshot.taken_at,
        )
        return gzipped(
            check_template,
            view=view,
            brand=brand_view(ctx.settings),
            refresh_js=SCRIPT,
            refresh_s=REFRESH_S,
        )

    @api.get(
        "/checks/{name}",
        summary="One check's status page",
        response_class=Response,
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **errors(404, 422, *READ_ERRORS),
        },
    )
    async def check_page(
        request: Request,
        name: Annotated[str, PathParam(pattern=NAME_PATTERN, description="the check's name")],
        chart_range: Annotated[
            ChartRange, Query(alias="range", description="the response-time chart's range")
        ] = "24h",
    ) -> Response:
        """Current state per region, uptime over 24h/7d/30d/90d per region, response time by
        phase over ``range``, the newest failures with their reasons (and artifact links for
        token holders).  A ``public: false`` check is a 404 without the token."""
        allowed, private = may_see_artifacts(ctx, request), may_see_private(ctx, request)
        check = ctx.check(name, private=private)
        key = f"check:{check.name}:{chart_range}" + ("+artifacts" if allowed else "")
        body = await ctx.cached(
            key,
            lambda: render_check(check.name, chart_range, allowed, private),
            page=True,
            private=private,
        )
        return html(request, body, page_csp(ctx.settings))

    @api.get(
        "/",
        summary="The status page",
        response_class=Response,
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **errors(*READ_ERRORS),
        },
    )
    async def status_page(request: Request) -> Response:
        """Checks by group, per-check status by region, 90-day uptime bars, response-time
        sparklines, incidents; checks with ``public: false`` and links to failure artifacts for
        token holders (artifacts: anyone with api.public_artifacts)."""
        # Pages are cached with and without artifact links and private checks; each reader
        # gets theirs.
        allowed, private = may_see_artifacts(ctx, request), may_see_private(ctx, request)
        body = await ctx.cached(
            "page+artifacts" if allowed else "page",
            lambda: render(allowed, private),
            page=True,
            private=private,
        )
        return html(request, body, page_csp(ctx.settings))

    return api


def html(request: Request, compressed: bytes, csp: str) -> Response:
    """A page, cached gzip-compressed (150 checks are ~1.5 MB of HTML: compressing it on
    every request would cost more than building it), sent as it is to clients that accept
    gzip; HTML that may load nothing from anywhere (but a configured logo's origin) and run
    only its refresh script."""
    headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        # The GZip middleware leaves an encoded answer alone (and adds Vary to the others).
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(content=compressed, media_type="text/html", headers=headers)
    return Response(content=gzip.decompress(compressed), media_type="text/html", headers=headers)

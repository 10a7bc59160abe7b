"""``/``: the server-rendered status page (no JavaScript, no external resources)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.templating import Jinja2Templates

from monitor.api.auth import may_see_artifacts, may_see_private
from monitor.api.context import ApiContext
from monitor.api.page import ArtifactLinks, build_page
from monitor.api.routes import READ_ERRORS, errors
from monitor.api.snapshot import take_snapshot

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Inline styles only; nothing is fetched from anywhere, not even from here.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["page"])
    templates = Jinja2Templates(directory=TEMPLATES)
    template = templates.get_template("status.html")

    async def render(with_artifacts: bool, private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        artifacts = None
        if with_artifacts:
            ids = [r.id for item in snapshot.checks for r in item.latest.values() if r.id]
            found = await ctx.artifacts().of_results(ids)
            artifacts = ArtifactLinks(found, ctx.settings.public_url)
        view = await build_page(
            ctx.service,
            snapshot,
            title=ctx.settings.title,
            scrubber=ctx.scrubber(),
            artifacts=artifacts,
        )
        return template.render(view=view).encode()

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
        return Response(
            content=body,
            media_type="text/html",
            headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
        )

    return api

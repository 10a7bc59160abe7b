"""The status API and status page of ``smokewatch serve``: ``create_app(service)``.

The app knows the service only through :class:`~monitor.contract.ServiceView`.  Its
lifespan starts and stops the service; everything else it needs (the answer cache,
the log) belongs to this app instance, so two apps in one process share nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from monitor.api.auth import read_guard
from monitor.api.context import ApiContext
from monitor.api.docs import install_docs
from monitor.api.errors import CatchAll, install_error_handlers
from monitor.api.limits import BodyLimit
from monitor.api.routes import (
    admin,
    alerts,
    artifacts,
    badges,
    checks,
    feed,
    health,
    heartbeat,
    incidents,
    metrics,
    notices,
    page,
    status,
    statuspage,
)
from monitor.contract import ServiceView
from monitor.version import smokewatch_version

DESCRIPTION = """\
Synthetic monitoring results: the overall status, each check's results and uptime,
incidents, and a Statuspage-compatible summary.

Reads are public unless `api.public_reads` is false; writes always need
`Authorization: Bearer <api.token>`.  Every error is
`{"error": {"code": ..., "message": ...}}`.
"""

TAGS = [
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics"},
    {"name": "status", "description": "The overall status, per check and region"},
    {"name": "checks", "description": "Configured checks, their results and uptime"},
    {"name": "incidents", "description": "Outages per check and region"},
    {"name": "alerts", "description": "Alert states and silences; silence writes need the token"},
    {
        "name": "artifacts",
        "description": "Failure screenshots, traces and response excerpts; need the bearer "
        "token unless api.public_artifacts is true",
    },
    {"name": "statuspage", "description": "Atlassian Statuspage v2 compatible"},
    {"name": "admin", "description": "Writes; need the bearer token"},
    {
        "name": "heartbeat",
        "description": "Pings of heartbeat checks' jobs; the token in the URL is the credential",
    },
    {"name": "page", "description": "The HTML status page and per-check pages"},
    {
        "name": "badges",
        "description": "SVG status, uptime and response-time badges per check and per group",
    },
]


def create_app(service: ServiceView, *, log: Any | None = None) -> FastAPI:
    """The FastAPI app serving ``service``; ``log`` defaults to a structlog logger of its own."""
    version = smokewatch_version()
    ctx = ApiContext(
        service=service,
        log=log if log is not None else structlog.get_logger().bind(component="api"),
        version=version,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="smokewatch status API",
        version=version,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves them from local assets
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app, log=ctx.log, scrubber=ctx.scrubber)
    reads = [Depends(read_guard(ctx))]
    app.include_router(health.router(ctx))
    app.include_router(metrics.router(ctx), dependencies=reads)
    app.include_router(status.router(ctx), dependencies=reads)
    app.include_router(checks.router(ctx), dependencies=reads)
    app.include_router(incidents.router(ctx), dependencies=reads)
    app.include_router(alerts.router(ctx), dependencies=reads)
    app.include_router(artifacts.router(ctx), dependencies=reads)
    app.include_router(statuspage.router(ctx), dependencies=reads)
    app.include_router(admin.router(ctx))
    app.include_router(heartbeat.router(ctx))  # its token is in the URL: no read guard
    app.include_router(page.router(ctx), dependencies=reads)
    app.include_router(badges.router(ctx), dependencies=reads)
    app.include_router(notices.router(ctx), dependencies=reads)
    app.include_router(feed.router(ctx), dependencies=reads)
    # Innermost first: CORS headers then also go on the 500s CatchAll writes.
    app.add_middleware(CatchAll, log=ctx.log, scrubber=ctx.scrubber)
    origins = list(service.loaded.config.api.cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    # Outermost: the status page is ~10 KB of bars per check and compresses ~10x.  Level 6
    # costs half of the default 9's CPU for ~5 % more bytes (bench/api.py).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    # Outside everything: an oversized body is refused before any other layer reads it.
    app.add_middleware(BodyLimit, max_bytes=lambda: service.loaded.config.api.max_body_bytes)
    # Before all of them: a plain Prometheus scrape is the cached bytes, sent at once.
    app.add_middleware(metrics.FastScrape, ctx=ctx)
    app.state.api = ctx
    return app

"""``/metrics``: the Prometheus exposition of the service's own registry.

Two ways in, one answer (:func:`scrape_response`):

- the route, documented in OpenAPI, behind the app's middleware and read guard;
- :class:`FastScrape`, the app's outermost middleware: a plain scrape (``GET /metrics``,
  no body, no ``Origin``, reads allowed to this caller) is answered from the cached
  exposition before routing and the other middleware run.  Prometheus scrapes every
  few seconds; the framework's layers cost more than sending the cached bytes
  (``bench/scrape_peer.py``).  Anything else (``HEAD``, a cross-origin request, a
  caller the read guard would refuse, a failing render) goes the route's way, so CORS
  headers, 401/403 and error answers are the app's own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.api.auth import may_read
from monitor.api.context import ApiContext
from monitor.api.routes import READ_ERRORS, errors
from monitor.telemetry.scrape import Exposition

PATH = "/metrics"
# A request with any of these is not a plain scrape: the app answers it.
_NOT_PLAIN = frozenset((b"origin", b"content-length", b"transfer-encoding"))


def scrape_response(answer: Exposition, accept_encoding: str | None) -> Response:
    """The answer's gzip bytes to a scraper that accepts gzip, else its plain bytes."""
    if "gzip" in (accept_encoding or "").lower():
        # Compressed once per render; the GZip middleware leaves an encoded answer alone.
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(answer.gzipped, media_type=answer.content_type, headers=headers)
    return Response(answer.body, media_type=answer.content_type)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get(
        PATH,
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/openmetrics-text": {"schema": {"type": "string"}},
                }
            },
            **errors(*READ_ERRORS),
        },
    )
    async def get_metrics(
        accept: Annotated[str | None, Header()] = None,
        accept_encoding: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Prometheus text format, or OpenMetrics 1.0.0 when the Accept header prefers it."""
        return scrape_response(await ctx.service.metrics(accept), accept_encoding)

    return api


class FastScrape:
    """ASGI middleware: a plain scrape of ``/metrics`` answered without the app's layers."""

    def __init__(self, app: ASGIApp, *, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        accept = accept_encoding = None
        for name, value in scope["headers"]:
            if name in _NOT_PLAIN:
                await self.app(scope, receive, send)
                return
            if name == b"accept" and accept is None:  # the first, as the route reads it
                accept = value.decode("latin-1")
            elif name == b"accept-encoding" and accept_encoding is None:
                accept_encoding = value.decode("latin-1")
        if not may_read(self.ctx, Request(scope)):
            await self.app(scope, receive, send)  # the read guard answers 401 or 403
            return
        try:
            answer = await self.ctx.service.metrics(accept)
        except Exception:  # noqa: BLE001 -- the app's route fails it again and answers 500
            await self.app(scope, receive, send)
            return
        await scrape_response(answer, accept_encoding)(scope, receive, send)

"""``/metrics``: the Prometheus exposition of the service's own registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from monitor.api.context import ApiContext
from monitor.api.routes import READ_ERRORS, errors


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get(
        "/metrics",
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
        answer = await ctx.service.metrics(accept)
        if "gzip" in (accept_encoding or "").lower():
            # Compressed once per render; the GZip middleware leaves an encoded answer alone.
            headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(answer.gzipped, media_type=answer.content_type, headers=headers)
        return Response(answer.body, media_type=answer.content_type)

    return api

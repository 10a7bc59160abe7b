"""``/metrics``: the Prometheus exposition of the service's own registry."""

from __future__ import annotations

from fastapi import APIRouter, Response

from monitor.api.context import ApiContext
from monitor.api.routes import READ_ERRORS, errors


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **errors(*READ_ERRORS),
        },
    )
    async def get_metrics() -> Response:
        """Prometheus text exposition format (version 0.0.4)."""
        body, content_type = ctx.service.metrics()
        return Response(content=body, media_type=content_type)

    return api

"""``/api/v1/heartbeat/{check}/{token}[/start|/fail]``: a job's pings for a heartbeat check.

The token in the path is the credential (jobs cannot easily send a bearer token,
and ``curl -fsS <url>`` is the whole integration), so these routes need no
``Authorization`` and answer alike to reads being public or not.  A wrong token and
an unknown check get the same 404, so the URL reveals nothing by guessing.  The
signal goes to the store: any replica may take it, any replica judges it.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request

from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.models import HeartbeatReport
from monitor.api.routes import NAME_PATTERN, errors
from monitor.store import StoreError
from monitor.store.heartbeats import HeartbeatLedger
from probes.heartbeat import HeartbeatSpec, Signal

CheckName = Annotated[str, Path(alias="check", pattern=NAME_PATTERN)]
Token = Annotated[str, Path(max_length=200)]
_METHODS = ["GET", "POST"]


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["heartbeat"])

    async def ping(check: str, token: str, signal: Signal, request: Request) -> HeartbeatReport:
        configured = _heartbeat(ctx, check)
        known = configured.token.get_secret_value() if configured is not None else ""
        # Compared even for an unknown check, so timing does not tell the two apart.
        if not hmac.compare_digest(token.encode(), known.encode()) or configured is None:
            raise ApiError(
                404, "unknown_heartbeat", f"no heartbeat check '{check}' with that token"
            )
        message = ""
        if signal == "fail" and request.method == "POST":
            message = (await request.body()).decode("utf-8", "replace").strip()
        at = datetime.now(UTC)
        try:
            await HeartbeatLedger(ctx.service.store).record(check, signal, at=at, message=message)
        except StoreError as exc:
            ctx.log.warning(
                "api.heartbeat_not_stored",
                check=check,
                signal=signal,
                error=ctx.scrubber().text(str(exc)),
            )
            raise ApiError(
                503, "store_unavailable", "the ping could not be stored; send it again shortly"
            ) from exc
        return HeartbeatReport(check=check, signal=signal, at=at)

    async def ping_success(check: CheckName, token: Token, request: Request) -> HeartbeatReport:
        """Records a success ping now: the check passes until ``period + grace`` from now."""
        return await ping(check, token, "success", request)

    async def ping_signal(
        check: CheckName,
        token: Token,
        signal: Annotated[Literal["start", "fail", "success"], Path()],
        request: Request,
    ) -> HeartbeatReport:
        """``start``: a run began (``max_run`` counts from here); ``fail``: the job failed
        (a POST body, up to 1000 characters, is kept as its message); ``success``: as the
        bare URL."""
        return await ping(check, token, signal, request)

    routes = (
        ("/api/v1/heartbeat/{check}/{token}", ping_success, "A heartbeat job succeeded"),
        (
            "/api/v1/heartbeat/{check}/{token}/{signal}",
            ping_signal,
            "A heartbeat job started, failed or succeeded",
        ),
    )
    for path, endpoint, summary in routes:
        for method in _METHODS:  # one operation each: OpenAPI ids must be unique
            api.add_api_route(
                path,
                endpoint,
                methods=[method],
                operation_id=f"heartbeat_{endpoint.__name__}_{method.lower()}",
                summary=summary,
                response_model=HeartbeatReport,
                responses=errors(404, 422, 503),
            )
    return api


def _heartbeat(ctx: ApiContext, name: str) -> HeartbeatSpec | None:
    for check in ctx.config.checks:
        if check.name == name and isinstance(check, HeartbeatSpec):
            return check
    return None

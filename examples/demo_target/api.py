"""The demo target's JSON API and websocket: health, status, test endpoint, auth, enhance."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from examples.demo_target.faults import MAX_DELAY_MS
from examples.demo_target.state import TargetState, state_of, utc_now_iso

State = Annotated[TargetState, Depends(state_of)]
READ = ["GET", "HEAD"]


class Credentials(BaseModel):
    email: str
    password: str


class EnhanceRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=2000)


def status_body(state: TargetState, path: str) -> dict[str, Any]:
    """The health body; ``wrong_json`` makes it degraded and drops ``ml_service``."""
    services = {"database": "healthy", "redis": "healthy", "ml_service": "healthy"}
    status = "healthy"
    if state.faults.wrong_json and state.faults.applies("wrong_json", path):
        status = "degraded"
        del services["ml_service"]
    return {
        "status": status,
        "version": state.version,
        "timestamp": utc_now_iso(),
        "services": services,
    }


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _unauthorized() -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": "unauthorized"}, status_code=401, headers=headers)


def api_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/health", methods=READ)
    async def health(request: Request, state: State) -> JSONResponse:
        return JSONResponse({"status": status_body(state, request.url.path)["status"]})

    @router.api_route("/api/v1/health", methods=READ)
    @router.api_route("/api/v1/status", methods=READ)
    async def status(request: Request, state: State) -> JSONResponse:
        return JSONResponse(status_body(state, request.url.path))

    @router.api_route("/api/v1/test", methods=READ)
    async def api_test(request: Request, state: State) -> JSONResponse:
        decision = state.limiter.hit(request.client.host if request.client else "unknown")
        headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(decision.reset_s),
        }
        if not decision.allowed:
            state.stats.rate_limited += 1
            headers["Retry-After"] = str(decision.reset_s)
            return JSONResponse({"error": "rate limit exceeded"}, status_code=429, headers=headers)
        body = {"ok": True, "endpoint": "test", "timestamp": utc_now_iso()}
        return JSONResponse(body, headers=headers)

    @router.post("/api/auth/login")
    async def login(credentials: Credentials, state: State) -> JSONResponse:
        if not state.check_credentials(credentials.email, credentials.password):
            state.stats.failed_logins += 1
            return JSONResponse({"error": "invalid credentials"}, status_code=401)
        session = state.sessions.open(state.email, "api")
        body = {"access_token": session.token, "token_type": "bearer", "expires_in": 3600}
        return JSONResponse(body)

    @router.api_route("/api/user/profile", methods=READ)
    async def profile(request: Request, state: State) -> JSONResponse:
        session = state.sessions.get(bearer_token(request))
        if session is None:
            return _unauthorized()
        return JSONResponse({"email": session.email, "plan": state.plan})

    @router.post("/api/auth/logout")
    async def logout(request: Request, state: State) -> Response:
        if state.sessions.close(bearer_token(request)) is None:
            return _unauthorized()
        return Response(status_code=204)

    @router.post("/api/v1/enhance")
    async def enhance(body: EnhanceRequest, state: State) -> JSONResponse:
        state.stats.enhancements += 1  # counted, never stored
        result = f"{body.prompt.strip()} Be specific, give context, and name the output format."
        return JSONResponse({"result": result, "saved": False})

    @router.post("/api/track", status_code=204)
    async def track() -> Response:
        # A write no smoke check should make; the fault gate counts it as unexpected.
        return Response(status_code=204)

    @router.get("/delay")
    async def delay(ms: Annotated[int, Query(ge=0, le=MAX_DELAY_MS)] = 0) -> JSONResponse:
        await asyncio.sleep(ms / 1000)
        return JSONResponse({"slept_ms": ms})

    @router.get("/fast")
    async def fast() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @router.websocket("/ws/echo")
    async def ws_echo(websocket: WebSocket) -> None:
        state = state_of(websocket)
        await websocket.accept()
        state.stats.websocket_connections += 1
        await websocket.send_json({"type": "hello"})
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                state.stats.websocket_messages += 1
                if message.get("text") is not None:
                    await websocket.send_text(message["text"])
                elif message.get("bytes") is not None:
                    await websocket.send_bytes(message["bytes"])
        except WebSocketDisconnect:
            return

    return router

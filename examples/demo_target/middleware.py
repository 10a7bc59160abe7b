"""The outermost layer of the demo target: count every request, then inject request faults.

It wraps the whole app (outside Starlette's error middleware) so it holds the
server's own ``send``: that is how ``down`` finds the connection to drop.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from examples.demo_target.state import TargetState

CONTROL_PREFIX = "/_control/"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The only writes a smoke check is allowed to make; any other non-read is counted as unexpected.
SAFE_WRITES = frozenset(
    {"/api/auth/login", "/api/auth/logout", "/api/v1/enhance", "/login", "/logout"}
)
_SYNTHETIC_HEADER = b"x-synthetic-monitor"


class FaultGate:
    """Pure ASGI middleware: counts requests, applies delays, ``down``, ``status``, flaky, 500s."""

    def __init__(self, app: ASGIApp, state: TargetState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        method: str = scope["method"] if scope["type"] == "http" else "WS"
        synthetic = any(name == _SYNTHETIC_HEADER for name, _ in scope.get("headers", ()))
        state.stats.count_request(path, method, synthetic=synthetic)
        if scope["type"] == "http" and method not in READ_METHODS and path not in SAFE_WRITES:
            state.stats.count_unexpected_write(path, method)

        faults = state.faults
        if faults.slow_ms and faults.applies("slow_ms", path):
            state.stats.count_fault("slow_ms")
            await asyncio.sleep(faults.slow_ms / 1000)
        if faults.jitter_ms and faults.applies("jitter_ms", path):
            state.stats.count_fault("jitter_ms")
            await asyncio.sleep(state.next_jitter_s())
        if faults.down and faults.applies("down", path):
            state.stats.count_fault("down")
            await _drop_connection(scope, send)
            return
        status = self._status_for(path)
        if status is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            body = {"error": "injected fault", "status": status}
            await JSONResponse(body, status_code=status)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1011})  # before accept: a 403 handshake

    def _status_for(self, path: str) -> int | None:
        """The injected status for this request, if any fault picks one."""
        faults, stats = self.state.faults, self.state.stats
        if faults.status is not None and faults.applies("status", path):
            stats.count_fault("status")
            return faults.status
        if (
            faults.flaky_percent
            and faults.applies("flaky_percent", path)
            and self.state.next_flaky()
        ):
            stats.count_fault("flaky_percent")
            return 503
        is_asset = path.startswith("/static/")
        if faults.subresource_500 and is_asset and faults.applies("subresource_500", path):
            stats.count_fault("subresource_500")
            return 500
        return None


async def _drop_connection(scope: Scope, send: Send) -> None:
    """Close the client's connection without a response, as a crashed backend would.

    Under uvicorn ``send`` is a bound method of the connection's protocol object,
    which holds the transport.  Under any other server, fall back to a response
    that promises a body and never sends it, so the server closes the connection.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.Transport):
        transport.abort()
        # Let the server see the connection is gone, so it does not answer with a 500 itself.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}
    )

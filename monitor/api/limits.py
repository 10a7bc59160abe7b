"""Limits on what one HTTP request may take from the API server.

    app.add_middleware(BodyLimit, max_bytes=lambda: 1_048_576)    # 413 past the limit
    uvicorn.Config(app, http=bounded_h11(request_timeout_s=10.0))  # 408 / close past the time

- ``BodyLimit`` (ASGI): a declared ``Content-Length`` over ``api.max_body_bytes`` is
  answered 413 before the app runs; a body that grows past it (chunked) is cut off and
  answered 413.  Either way the connection is closed after the answer.
- ``bounded_h11`` (uvicorn's h11 protocol): a request must arrive whole, headers and
  body, within ``api.request_timeout`` of its first byte (or of the connection opening).
  Past that, a request still unanswered gets 408 and the connection is closed; one
  already answered (the app did not need the rest of its body) is just closed.  So a
  client announcing ``Content-Length: 999999`` and sending 2 bytes holds a connection
  for ``request_timeout`` at most.  Header size is bounded by h11 (16 KiB: 400).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.api.errors import error_response

_RECEIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR)


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413, connection closed."""

    def __init__(self, app: ASGIApp, *, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes  # read per request: a reload's new limit applies at once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, scope, receive, send)
            return
        received = 0
        over = started = False

        async def limited() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}  # the app stops reading; we answer
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a cut-off body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited, guarded)
        if over and not started:
            await _too_large(limit, scope, receive, send)


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(
        413,
        "payload_too_large",
        f"the request body is larger than {limit} bytes (api.max_body_bytes)",
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # h11 refuses these before the app sees them
    return None


_TIMEOUT_BODY = b"the request did not arrive within the server's request timeout\n"
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


def bounded_h11(request_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline on reading each request (headers and body)."""

    class BoundedH11Protocol(H11Protocol):
        _read_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._read_deadline is None:
                self._arm()  # the first byte of a new request starts its clock
            super().data_received(data)
            if self.conn.their_state in _RECEIVED:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._read_deadline = self.loop.call_later(request_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._read_deadline is not None:
                self._read_deadline.cancel()
                self._read_deadline = None

        def _too_slow(self) -> None:
            self._read_deadline = None
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is not None and cycle.response_started and not cycle.response_complete:
                cycle.keep_alive = False  # an answer is going out: close once it is sent
                return
            if cycle is None or not cycle.response_started:
                if cycle is not None:
                    cycle.disconnected = True  # whatever the app answers later goes nowhere
                self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()

    return BoundedH11Protocol

"""Limits on what one HTTP request may take from the API server.

    app.add_middleware(BodyLimit, max_bytes=lambda: 1_048_576)    # 413 past the limit
    uvicorn.Config(app, http=bounded_http(request_timeout_s=10.0, max_head_bytes=16384))

- ``BodyLimit`` (ASGI): a declared ``Content-Length`` over ``api.max_body_bytes`` is
  answered 413 before the app runs; a body that grows past it (chunked) is cut off and
  answered 413.  Either way the connection is closed after the answer.
- ``bounded_http`` (uvicorn's httptools protocol, the C parser: about 0.06 ms of CPU less
  per request than its pure-Python h11 one, ``bench/api_protocol.py``): a request must
  arrive whole, headers and body, within ``api.request_timeout`` of its first byte (or of
  the connection opening).  Past that, a request still unanswered gets 408 and the
  connection is closed; one already answered (the app did not need the rest of its body)
  is just closed.  So a client announcing ``Content-Length: 999999`` and sending 2 bytes
  holds a connection for ``request_timeout`` at most.  The request line and headers may
  take ``max_head_bytes``; past that the request is answered 400 and the connection
  closed, before the app sees it (httptools itself sets no such limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from monitor.api.errors import error_response
from monitor.errors import SmokewatchError


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
                return None  # the HTTP parser refuses these before the app sees them
    return None


_TIMEOUT_BODY = b"the request did not arrive within the server's request timeout\n"
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


_HEAD_TOO_LARGE = "Invalid HTTP request received: the request line and headers are too large."


class _HeadTooLargeError(SmokewatchError):
    """Raised in a parser callback: uvicorn answers the parser's error with a 400, closes."""


def bounded_http(request_timeout_s: float, max_head_bytes: int) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline on reading each request (headers and
    body) and a limit on the size of its request line and headers."""

    class BoundedHttpProtocol(HttpToolsProtocol):
        _read_deadline: asyncio.TimerHandle | None = None
        _in_head = False  # between a request's first byte and the end of its headers
        _head = 0  # bytes of the request line and headers parsed so far (exact)
        _fed = 0  # bytes received since the request began, while its head is incomplete
        _begun = 0  # requests begun on this connection

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._read_deadline is None:
                self._arm()  # the first byte of a new request starts its clock
            begun = self._begun
            super().data_received(data)
            if self._in_head and not self.transport.is_closing():
                # A header still arriving is buffered by the parser, not yet counted in
                # _head: bound it by the bytes received since its request began.
                self._fed = (self._fed if begun == self._begun else 0) + len(data)
                if self._fed > max_head_bytes:
                    self.send_400_response(_HEAD_TOO_LARGE)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._head, self._begun = True, 0, self._begun + 1
            if self._read_deadline is None:
                self._arm()  # a request pipelined behind one just received

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)  # ": " and CRLF
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()  # received whole: the app has it all

        def handle_websocket_upgrade(self) -> None:
            self._disarm()  # the connection is the WebSocket protocol's from here
            super().handle_websocket_upgrade()

        def _count(self, size: int) -> None:
            self._head += size
            if self._head > max_head_bytes:
                raise _HeadTooLargeError  # before the app is started for it

        def send_400_response(self, msg: str) -> None:
            if self._head > max_head_bytes:  # the parser's error was _count's
                msg = _HEAD_TOO_LARGE
            super().send_400_response(msg)

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

    return BoundedHttpProtocol

"""An httpx transport that speaks HTTP/1.1 over a bare asyncio protocol, one connection a request.

The checks' shared client (``monitor.runtime.runtime.build_client``) never keeps a connection
alive, so httpcore's pool, its locks and anyio's task and cancel-scope machinery are
pure overhead on every probe (about a third of its CPU).  :class:`WireTransport` does
the same exchange with one :class:`asyncio.Protocol`: connect (the name lookup
included), TLS with the client's context, write the request, parse the status line
and headers with h11's own grammar, and stream the body (``Content-Length``,
``chunked`` or until the peer closes) back through httpx, which still decodes
``Content-Encoding``, follows redirects, keeps cookies and applies timeouts as
configured. It reports the same ``trace`` events as httpcore (:mod:`probes.timing`), the
end of the head and of the body stamped (``info["at"]``) with when their last bytes
arrived rather than when they were parsed, and raises the same httpx errors with the
same messages, so a failure reads the same whichever transport ran it. The connection is
closed once the body is read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import httpx
from h11._abnf import chunk_header, field_name, field_value, header_field, status_line

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]

_READ_LIMIT: Final = 65_536  # pause reading past this much unread data
_MAX_HEAD: Final = 16 * 1024  # h11's max_incomplete_event_size default is 16 KiB
_HAPPY_EYEBALLS_S: Final = 0.25  # as anyio.connect_tcp: the next address after 250 ms
_NAME: Final = re.compile(field_name.encode("ascii"))
_VALUE: Final = re.compile(field_value.encode("ascii"))
_STATUS: Final = re.compile(status_line.encode("ascii"))
_FIELD: Final = re.compile(header_field.encode("ascii"))
_CHUNK: Final = re.compile(chunk_header.encode("ascii"))
_BLANK_LINE: Final = re.compile(rb"\n\r?\n")
_LINE_END: Final = re.compile(rb"\r?\n")
_FOLD: Final = re.compile(rb"[ \t]+")
_CONTENT_LENGTH: Final = re.compile(rb"[0-9]+")
_NO_BODY_STATUS: Final = frozenset({204, 304})


async def _no_trace(event: str, info: dict[str, Any]) -> None:
    return None


class _Wire(asyncio.Protocol):
    """Buffers what the peer sends; one reader waits on it at a time."""

    __slots__ = ("_loop", "_paused", "arrived", "buffer", "closed", "error", "transport", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.buffer = bytearray()
        self.closed = False  # EOF or connection lost
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None
        self._paused = False
        self.arrived = 0.0  # perf_counter() when the latest bytes (or the EOF) came in

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.arrived = time.perf_counter()
        self.buffer += data
        if len(self.buffer) > _READ_LIMIT and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.arrived = time.perf_counter()
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self, wait_s: float | None) -> bool:
        """Wait for more data; False at EOF.  Raises httpx errors for a lost connection."""
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        if self.closed:
            self._raise_lost()
            return False
        waiter = self._loop.create_future()
        self.waiter = waiter
        timer = None if wait_s is None else self._loop.call_later(wait_s, _expire, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()
        if self.closed and not self.buffer:
            self._raise_lost()
            return False
        return True

    def _raise_lost(self) -> None:
        if self.error is not None:
            raise httpx.ReadError(str(self.error)) from self.error


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("timed out"))


def _transport_of(wire: _Wire) -> asyncio.Transport:
    if wire.transport is None:  # connection_made always runs before create_connection returns
        raise httpx.ConnectError("connection not established")
    return wire.transport


class _NetworkStream:
    """What ``response.extensions["network_stream"]`` offers: the transport's extra info."""

    __slots__ = ("_transport",)

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def get_extra_info(self, info: str) -> Any:
        return self._transport.get_extra_info(info)


class _Body(httpx.AsyncByteStream):
    """The response body as httpx reads it; the connection closes when it ends or is closed."""

    def __init__(
        self, wire: _Wire, trace: Trace, framing: int | None, timeout: float | None
    ) -> None:
        # framing: a Content-Length, -1 for chunked, None for "until the peer closes"
        self._wire, self._trace, self._framing, self._timeout = wire, trace, framing, timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await self._trace("http11.receive_response_body.started", {})
        try:
            if self._framing == -1:
                async for chunk in self._chunked():
                    yield chunk
            else:
                async for chunk in self._plain(self._framing):
                    yield chunk
        except BaseException:
            await self._trace("http11.receive_response_body.failed", {})
            raise
        # Timed when the last byte arrived, not when the caller got round to reading it.
        await self._trace("http11.receive_response_body.complete", {"at": self._wire.arrived})

    async def _plain(self, length: int | None, cut_short: str = "") -> AsyncIterator[bytes]:
        wire = self._wire
        remaining = -1 if length is None else length  # -1: until the peer closes
        while remaining != 0:
            if wire.buffer:
                take = len(wire.buffer) if remaining < 0 else min(remaining, len(wire.buffer))
                data = bytes(wire.buffer[:take])
                del wire.buffer[:take]
                if remaining > 0:
                    remaining -= take
                yield data
                continue
            if not await wire.more(self._timeout):
                if length is None:
                    return
                raise httpx.RemoteProtocolError(
                    cut_short
                    or "peer closed connection without sending complete message body "
                    f"(received {length - remaining} bytes, expected {length})"
                )

    async def _chunked(self) -> AsyncIterator[bytes]:
        while True:
            line = await self._line()
            matches = _CHUNK.fullmatch(line)
            if matches is None:
                raise httpx.RemoteProtocolError(f"illegal chunk header: {bytearray(line)!r}")
            size = int(matches["chunk_size"], 16)
            if size == 0:
                while await self._line() != b"\r\n":  # the trailer, up to its blank line
                    pass
                return
            async for data in self._plain(size, cut_short=_INCOMPLETE_CHUNKED):
                yield data
            footer = await self._exactly(2)
            if footer != b"\r\n":
                raise httpx.RemoteProtocolError(
                    f"malformed chunk footer: {footer!r} (expected b'\\r\\n')"
                )

    async def _line(self) -> bytes:
        """The next line, its CRLF included (h11's chunk-header grammar ends with it)."""
        wire = self._wire
        while (end := wire.buffer.find(b"\r\n")) < 0:
            if len(wire.buffer) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("chunk header too long")
            if not await wire.more(self._timeout):
                raise httpx.RemoteProtocolError(_INCOMPLETE_CHUNKED)
        line = bytes(wire.buffer[: end + 2])
        del wire.buffer[: end + 2]
        return line

    async def _exactly(self, size: int) -> bytes:
        wire = self._wire
        while len(wire.buffer) < size:
            if not await wire.more(self._timeout):
                raise httpx.RemoteProtocolError(_INCOMPLETE_CHUNKED)
        data = bytes(wire.buffer[:size])
        del wire.buffer[:size]
        return data

    async def aclose(self) -> None:
        transport = self._wire.transport
        if transport is not None:
            transport.close()


_INCOMPLETE_CHUNKED: Final = (
    "peer closed connection without sending complete message body (incomplete chunked read)"
)


class WireTransport(httpx.AsyncBaseTransport):
    """One fresh HTTP/1.1 connection per request over asyncio; no pool, no keep-alive.

    ``verify`` is the TLS context (or ``True`` for the system's, ``False`` for none) as
    :class:`httpx.AsyncClient` takes it.
    """

    def __init__(self, *, verify: ssl.SSLContext | bool = True) -> None:
        if isinstance(verify, ssl.SSLContext):
            self._ssl = verify
        else:
            self._ssl = httpx.create_ssl_context(verify=verify)

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme}://'."
            )
        if not url.host:
            raise httpx.UnsupportedProtocol("Request URL is missing a 'host'.")
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        trace: Trace = request.extensions.get("trace") or _no_trace
        head = _request_head(request)  # invalid headers fail before any connection
        port = url.port or (443 if url.scheme == "https" else 80)
        wire = await _connect(
            url.host,
            port,
            self._ssl if url.scheme == "https" else None,
            trace,
            timeouts.get("connect"),
        )
        try:
            await _send(wire, request, head, trace)
            return await _receive(wire, request, trace, timeouts.get("read"))
        except BaseException:
            if wire.transport is not None:
                wire.transport.abort()
            raise


async def _connect(
    host: str, port: int, tls: ssl.SSLContext | None, trace: Trace, limit_s: float | None
) -> _Wire:
    loop = asyncio.get_running_loop()
    wire = _Wire(loop)
    await trace("connection.connect_tcp.started", {"host": host, "port": port})
    try:
        async with asyncio.timeout(limit_s):
            await loop.create_connection(
                lambda: wire,
                host,
                port,
                # A name may resolve to several addresses: race them as anyio would.  An
                # address is one already; asyncio's race would only cost a task.
                happy_eyeballs_delay=None if _is_address(host) else _HAPPY_EYEBALLS_S,
            )
    except TimeoutError as exc:
        await trace("connection.connect_tcp.failed", {})
        raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
    except OSError as exc:
        await trace("connection.connect_tcp.failed", {})
        message = str(exc)
        if message.startswith("Multiple exceptions"):  # every address failed: say it as anyio
            message = "All connection attempts failed"
        raise httpx.ConnectError(message) from exc
    await trace("connection.connect_tcp.complete", {})
    plain = wire.transport
    if tls is None or plain is None:
        return wire
    await trace("connection.start_tls.started", {})
    try:
        async with asyncio.timeout(limit_s):
            secure = await loop.start_tls(plain, wire, tls, server_hostname=host)
    except BaseException as exc:
        plain.abort()
        await trace("connection.start_tls.failed", {})
        if isinstance(exc, TimeoutError):
            raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
        if isinstance(exc, OSError):  # ssl.SSLError is an OSError
            raise httpx.ConnectError(str(exc)) from exc
        raise
    wire.transport = secure if isinstance(secure, asyncio.Transport) else plain
    await trace("connection.start_tls.complete", {})
    return wire


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _request_head(request: httpx.Request) -> bytes:
    """The request line and headers, validated as h11 would before sending them."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        if _NAME.fullmatch(name) is None:
            raise httpx.LocalProtocolError(f"Illegal header name {name!r}")
        if _VALUE.fullmatch(value) is None:
            raise httpx.LocalProtocolError(f"Illegal header value {value!r}")
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


async def _send(wire: _Wire, request: httpx.Request, head: bytes, trace: Trace) -> None:
    transport = _transport_of(wire)
    await trace("http11.send_request_headers.started", {"request": request})
    transport.write(head)
    await trace("http11.send_request_headers.complete", {})
    await trace("http11.send_request_body.started", {"request": request})
    chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
    if isinstance(request.stream, httpx.AsyncByteStream):
        async for chunk in request.stream:
            if chunk:
                transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
    if chunked:
        transport.write(b"0\r\n\r\n")
    if wire.closed and wire.error is not None:
        raise httpx.WriteError(str(wire.error)) from wire.error
    await trace("http11.send_request_body.complete", {})


async def _receive(
    wire: _Wire, request: httpx.Request, trace: Trace, read_s: float | None
) -> httpx.Response:
    await trace("http11.receive_response_headers.started", {"request": request})
    while True:  # skip interim 1xx answers (100 Continue), as h11 does
        version, status, reason, headers = await _read_head(wire, read_s)
        if not 100 <= status < 200 or status == 101:
            break
    await trace("http11.receive_response_headers.complete", {"at": wire.arrived})
    framing = _framing(request.method, status, headers)
    transport = _transport_of(wire)
    body = _Body(wire, trace, framing, read_s)
    return httpx.Response(
        status,
        headers=headers,
        stream=body,
        extensions={
            "http_version": b"HTTP/" + version,
            "reason_phrase": reason,
            "network_stream": _NetworkStream(transport),
        },
    )


async def _read_head(
    wire: _Wire, read_s: float | None
) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    while (end := _BLANK_LINE.search(wire.buffer)) is None:
        if len(wire.buffer) > _MAX_HEAD:
            raise httpx.RemoteProtocolError("Receive buffer too long")
        if not await wire.more(read_s):
            # httpcore says this of a close anywhere before the end of the head
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    raw = bytes(wire.buffer[: end.start()]).removesuffix(b"\r")
    del wire.buffer[: end.end()]
    lines = _LINE_END.split(raw)
    matches = _STATUS.fullmatch(lines[0])
    if matches is None:
        raise httpx.RemoteProtocolError(f"illegal status line: {bytearray(lines[0])!r}")
    headers: list[tuple[bytes, bytes]] = []
    for raw_line in lines[1:]:
        line = raw_line
        fold = _FOLD.match(line)
        if fold is not None:  # obs-fold: a continuation of the previous header's value
            if not headers:
                raise httpx.RemoteProtocolError("continuation line at start of headers")
            name, value = headers.pop()
            line = name + b": " + value + b" " + line[fold.end() :]
        field = _FIELD.fullmatch(line)
        if field is None:
            raise httpx.RemoteProtocolError(f"illegal header line: {bytearray(line)!r}")
        headers.append((field["field_name"], field["field_value"]))
    return matches["http_version"], int(matches["status_code"]), matches["reason"] or b"", headers


def _framing(method: str, status: int, headers: list[tuple[bytes, bytes]]) -> int | None:
    """How the body ends: its length (0: no body), -1 for chunked, None when the peer closes."""
    if method == "HEAD" or status in _NO_BODY_STATUS or 100 <= status < 200:
        return 0
    length: bytes | None = None
    chunked = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            if chunked:
                raise httpx.RemoteProtocolError("multiple Transfer-Encoding headers")
            if value.lower() != b"chunked":
                raise httpx.RemoteProtocolError("Only Transfer-Encoding: chunked is supported")
            chunked = True
        elif lowered == b"content-length":
            lengths = {part.strip() for part in value.split(b",")}
            if len(lengths) != 1 or (length is not None and length != next(iter(lengths))):
                raise httpx.RemoteProtocolError("conflicting Content-Length headers")
            length = lengths.pop()
            if _CONTENT_LENGTH.fullmatch(length) is None or len(length) > 20:
                raise httpx.RemoteProtocolError("bad Content-Length")
    if chunked:
        return -1
    return None if length is None else int(length)

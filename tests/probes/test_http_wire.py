"""probes.http_wire: the checks' own HTTP/1.1 transport answers as httpcore does.

Each exchange runs twice, once through :class:`WireTransport` (the runtime's client)
and once through httpx's default transport with no keep-alive (the reference), and
the two must agree: status, headers, body, final URL, HTTP version, or the same
failure message, transience and reason.  Framings uvicorn never sends (HTTP/1.0
close-delimited bodies, trailers, interim 100s, truncated or garbled answers) come
from a raw asyncio server that replays canned bytes.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from monitor.runtime.runtime import build_client
from probes.base import ProbeContext
from probes.http import Exchange, HttpProbeError, send
from probes.http_wire import WireTransport
from probes.timing import PHASES
from tests.probes.conftest import MARKER_HEADERS, LiveServer

Sender = Callable[..., Awaitable[Exchange]]
Outcome = tuple[Any, ...]


@pytest.fixture
async def wire_ctx(trusting_ssl: ssl.SSLContext) -> AsyncIterator[ProbeContext]:
    async with build_client(trusting_ssl) as client:
        yield ProbeContext(client=client, headers=MARKER_HEADERS, deadline_s=5.0)


@pytest.fixture
async def core_ctx(trusting_ssl: ssl.SSLContext) -> AsyncIterator[ProbeContext]:
    """httpx's own transport, configured as the runtime's client was before http_wire."""
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
        verify=trusting_ssl,
    ) as client:
        yield ProbeContext(client=client, headers=MARKER_HEADERS, deadline_s=5.0)


async def outcome(ctx: ProbeContext, url: str, **options: Any) -> Outcome:
    """What a check could see of one exchange: the response, or the failure."""
    try:
        exchange = await send(ctx, url=url, **{"method": "GET", **options})
    except HttpProbeError as exc:
        return (type(exc).__name__, exc.message, getattr(exc, "transient", None), exc.reason)
    headers = [(k, v) for k, v in exchange.headers.multi_items() if k != "date"]
    return (
        exchange.status_code,
        headers,
        exchange.body,
        exchange.truncated,
        exchange.url,
        exchange.http_version,
        exchange.encoding,
        exchange.tls_not_after,
        sorted(exchange.timings),
    )


class TestAgreesWithHttpcore:
    @pytest.mark.parametrize(
        ("path", "options"),
        [
            ("/health", {}),
            ("/echo", {"headers": {"Authorization": SecretStr("Bearer x"), "X-B": "b"}}),
            ("/echo", {"method": "POST", "json_body": {"pw": SecretStr("hunter2")}}),
            ("/echo", {"method": "POST", "form": {"pw": "x y"}}),
            ("/echo", {"method": "POST", "content": b"raw"}),
            ("/health", {"method": "HEAD"}),
            ("/large/300000", {"max_body_bytes": 100_000}),
            ("/large/300000", {"max_body_bytes": 300_000}),
            ("/large/10", {"max_body_bytes": 0}),
            ("/drip/10", {}),
            ("/redirect", {}),
            ("/redirect", {"follow_redirects": False}),
            ("/status/503?retry_after=7", {}),
            ("/status/204", {}),
            ("/text", {}),
            ("/loop", {}),
            ("/delay/3000", {"timeout_s": 1.0}),
            ("/health", {"headers": {"X-A": "a\nb"}}),
            ("/health", {"headers": {"X-A": "caf\u00e9"}}),
        ],
        ids=[
            "get",
            "request-headers",
            "json-body",
            "form-body",
            "raw-body",
            "head",
            "over-cap",
            "exactly-cap",
            "zero-cap",
            "chunked-slow-body",
            "redirect-followed",
            "redirect-kept",
            "503-retry-after",
            "204-no-body",
            "text-charset",
            "too-many-redirects",
            "timeout",
            "illegal-header-value",
            "non-ascii-header",
        ],
    )
    async def test_over_http(
        self,
        wire_ctx: ProbeContext,
        core_ctx: ProbeContext,
        server: LiveServer,
        path: str,
        options: dict[str, Any],
    ) -> None:
        """The same request gets the same answer (or failure) through either transport."""
        url = server.url(path)
        assert await outcome(wire_ctx, url, **options) == await outcome(core_ctx, url, **options)

    @pytest.mark.parametrize(
        "path", ["/health", "/redirect", "/large/100000"], ids=["get", "redirect", "large"]
    )
    async def test_over_https(
        self, wire_ctx: ProbeContext, core_ctx: ProbeContext, tls_server: LiveServer, path: str
    ) -> None:
        """Over TLS too, with the certificate's expiry read from the verified handshake."""
        url = tls_server.url(path)
        wire = await outcome(wire_ctx, url)
        assert wire == await outcome(core_ctx, url)
        assert wire[7] is not None  # tls_not_after

    async def test_an_untrusted_certificate(self, tls_server: LiveServer) -> None:
        """A certificate outside the trust store fails the same lasting way."""
        async with (
            httpx.AsyncClient(transport=WireTransport(), trust_env=False) as wire,
            httpx.AsyncClient(trust_env=False) as core,
        ):
            url = tls_server.url("/health")
            got = await outcome(ProbeContext(client=wire), url)
            assert got == await outcome(ProbeContext(client=core), url)
        assert str(got[1]).startswith("TLS certificate not trusted")

    @pytest.mark.parametrize(
        "url",
        ["http://127.0.0.1:{closed}/", "http://no-such-host.invalid/"],
        ids=["refused", "dns"],
    )
    async def test_no_connection(
        self, wire_ctx: ProbeContext, core_ctx: ProbeContext, closed_port: int, url: str
    ) -> None:
        """A refused connection or a name that does not resolve fails the same way."""
        target = url.format(closed=closed_port)
        assert await outcome(wire_ctx, target) == await outcome(core_ctx, target)


def _gzip_reply() -> bytes:
    body = gzip.compress(b"squeezed " * 100)
    return b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


# Canned answers, written as they are and then the connection closed.
REPLIES: dict[str, bytes] = {
    "http10-close-delimited": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    "no-reason-phrase": b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
    "bare-newlines": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "folded-header": b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n",
    "chunked-with-trailer": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    ),
    "interim-100": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "gzip": _gzip_reply(),
    "latin-1": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=latin-1\r\n"
        b"Content-Length: 4\r\n\r\ncaf\xe9"
    ),
    "silent-close": b"",
    "short-body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "short-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    "bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "bad-status-line": b"HTTP/1.1 OK\r\n\r\n",
    "bad-header-line": b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    "conflicting-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
    "gzip-garbage": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    "half-a-head": b"HTTP/1.1 200 OK\r\nContent-Le",
}


@pytest.fixture
async def canned() -> AsyncIterator[Callable[[str], str]]:
    """A raw server that answers ``/<name>`` with ``REPLIES[name]`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        name = line.split(b" ")[1].decode().lstrip("/")
        writer.write(REPLIES[name])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield lambda name: f"http://127.0.0.1:{port}/{name}"
    server.close()
    await server.wait_closed()


class TestFramings:
    @pytest.mark.parametrize("name", list(REPLIES), ids=list(REPLIES))
    async def test_agrees_with_httpcore(
        self,
        wire_ctx: ProbeContext,
        core_ctx: ProbeContext,
        canned: Callable[[str], str],
        name: str,
    ) -> None:
        """An unusual or broken answer reads the same (body or failure) through either."""
        url = canned(name)
        assert await outcome(wire_ctx, url) == await outcome(core_ctx, url)

    @pytest.mark.parametrize(
        ("name", "body"),
        [
            ("http10-close-delimited", b"until close"),
            ("chunked-with-trailer", b"hello world"),
            ("gzip", b"squeezed " * 100),
        ],
        ids=["http10", "chunked", "gzip"],
    )
    async def test_reads_the_whole_body(
        self, wire_ctx: ProbeContext, canned: Callable[[str], str], name: str, body: bytes
    ) -> None:
        """Close-delimited, chunked and compressed bodies arrive whole and decoded."""
        exchange = await send(wire_ctx, method="GET", url=canned(name))
        assert exchange.body == body


HOLD_S = 0.2  # the raw server's pause; phases are checked against it from below only


@pytest.fixture
async def slow() -> AsyncIterator[str]:
    """A raw server that holds the headers, then the body, ``HOLD_S`` each."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        await asyncio.sleep(HOLD_S)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
        await writer.drain()
        await asyncio.sleep(HOLD_S)
        writer.write(b"cd")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    server.close()
    await server.wait_closed()


class TestPhases:
    async def test_each_wait_lands_in_its_phase(self, wire_ctx: ProbeContext, slow: str) -> None:
        """The server's pause before the headers is first_byte; its pause mid-body, transfer."""
        exchange = await send(wire_ctx, method="GET", url=slow)
        timings = exchange.timings
        assert exchange.body == b"abcd"
        assert timings["first_byte"] >= HOLD_S * 1000
        assert timings["transfer"] >= HOLD_S * 1000
        assert timings["connect"] > 0.0
        assert timings["tls"] == 0.0
        assert sum(timings[p] for p in PHASES) <= timings["total"] + 0.01

    async def test_https_times_the_handshake(
        self, wire_ctx: ProbeContext, tls_server: LiveServer
    ) -> None:
        """Every request opens a fresh connection: connect and TLS are paid each time."""
        for _ in range(2):
            exchange = await send(wire_ctx, method="GET", url=tls_server.url("/health"))
            assert exchange.timings["connect"] > 0.0
            assert exchange.timings["tls"] > 0.0

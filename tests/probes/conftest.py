"""Real HTTP(S) targets on 127.0.0.1 for the probe tests.

One Starlette app served by uvicorn in a background thread, twice: over plain
http and over https with a ``trustme`` certificate that expires in
:data:`CERT_DAYS` days.  Tests get a fresh ``httpx.AsyncClient`` (it belongs to
the test's event loop) that trusts the test CA.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from probes.base import ProbeContext

CERT_DAYS = 10
MARKER_HEADERS = {"User-Agent": "smokewatch-test/1", "X-Synthetic-Monitor": "smokewatch"}
HEALTH = {
    "status": "healthy",
    "services": {"database": "healthy", "redis": "degraded"},
    "components": ["database", "cache"],
    "version": "1.2.3",
    "uptime": 3600,
    "ratio": 0.5,
    "enabled": True,
    "maintenance": None,
}


async def health(request: Request) -> Response:
    return JSONResponse(HEALTH)


async def delay(request: Request) -> Response:
    await asyncio.sleep(int(request.path_params["ms"]) / 1000)
    return JSONResponse({"status": "healthy"})


async def drip(request: Request) -> Response:
    """Headers at once, then the body after ``ms`` milliseconds."""
    pause = int(request.path_params["ms"]) / 1000

    async def body() -> AsyncIterator[bytes]:
        yield b'{"status":'
        await asyncio.sleep(pause)
        yield b' "healthy"}'

    return StreamingResponse(body(), media_type="application/json")


async def status(request: Request) -> Response:
    headers = {}
    if "retry_after" in request.query_params:
        headers["Retry-After"] = request.query_params["retry_after"]
    return JSONResponse({"status": "broken"}, int(request.path_params["code"]), headers)


async def with_headers(request: Request) -> Response:
    return JSONResponse(
        {"status": "healthy"},
        headers={
            "X-RateLimit-Limit": "100",
            "X-Frame-Options": "DENY",
            "Set-Cookie": "session=s3cr3t-session-token; HttpOnly",
        },
    )


async def large(request: Request) -> Response:
    size = int(request.path_params["size"])
    chunk = 65536

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, size, chunk):
            yield b"x" * min(chunk, size - start)

    return StreamingResponse(body(), media_type="application/octet-stream")


async def echo(request: Request) -> Response:
    """Request method, headers and body, as the server received them."""
    body = (await request.body()).decode()
    return JSONResponse({"method": request.method, "headers": dict(request.headers), "body": body})


async def text(request: Request) -> Response:
    return PlainTextResponse("all systems healthy")


async def not_json(request: Request) -> Response:
    return Response("<html>maintenance</html>", media_type="text/html")


async def redirect(request: Request) -> Response:
    return RedirectResponse("/health", 302)


async def loop(request: Request) -> Response:
    return RedirectResponse("/loop", 302)


APP = Starlette(
    routes=[
        Route("/health", health),
        Route("/delay/{ms:int}", delay),
        Route("/drip/{ms:int}", drip),
        Route("/status/{code:int}", status),
        Route("/headers", with_headers),
        Route("/large/{size:int}", large),
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/text", text),
        Route("/not-json", not_json),
        Route("/redirect", redirect),
        Route("/loop", loop),
    ]
)


@dataclass
class LiveServer:
    """A running server; ``url("/health")`` gives a full URL."""

    base: str
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)

    def url(self, path: str) -> str:
        return self.base + path


def _start(scheme: str, **config: Any) -> LiveServer:
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP; without it Nagle adds 40 ms to reused connections.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = uvicorn.Config(
        APP, log_level="warning", lifespan="off", ws="none", http="h11", **config
    )
    server = uvicorn.Server(settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"test {scheme} server did not start")
        time.sleep(0.01)
    return LiveServer(f"{scheme}://127.0.0.1:{port}", server, thread)


def _stop(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=10)


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    live = _start("http")
    yield live
    _stop(live)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    cert = ca.issue_cert("127.0.0.1", not_after=datetime.now(UTC) + timedelta(days=CERT_DAYS))
    folder: Path = tmp_path_factory.mktemp("tls")
    pem = folder / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    live = _start("https", ssl_certfile=str(pem), ssl_keyfile=str(pem))
    yield live
    _stop(live)


@pytest.fixture(scope="session")
def trusting_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def client(trusting_ssl: ssl.SSLContext) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=trusting_ssl, trust_env=False) as shared:
        yield shared


@pytest.fixture
def ctx(client: httpx.AsyncClient, trusting_ssl: ssl.SSLContext) -> ProbeContext:
    # tls: the client's own context, as the Runtime hands it to probes with their own sockets.
    return ProbeContext(
        client=client, headers=MARKER_HEADERS, deadline_s=5.0, check_name="t", tls=trusting_ssl
    )


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

"""Real loopback servers and listeners the telemetry tests talk to, and a run builder."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import socket
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.runner import CheckRun
from probes.base import ProbeResult, Status
from tests.support.serving import serving

if TYPE_CHECKING:
    from monitor.runtime.runtime import Runtime

HOST = "127.0.0.1"

# run_checks(checks_yaml, *, region) -> (the open Runtime, its runs): see conftest.
RunChecks = Callable[..., Awaitable[tuple["Runtime", list[CheckRun]]]]


def make_run(
    check: str = "api",
    kind: str = "http",
    status: Status = Status.PASS,
    *,
    region: str = "eu-west-1",
    duration_ms: float = 120.0,
    attempts: int = 1,
    timings: dict[str, float] | None = None,
    message: str = "ok",
    details: dict[str, Any] | None = None,
    started_at: datetime | None = None,
) -> CheckRun:
    """A finished run as the runner returns it."""
    return CheckRun(
        check=check,
        kind=kind,
        region=region,
        run_id="run-1",
        started_at=started_at or datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        duration_ms=duration_ms,
        attempts=attempts,
        result=ProbeResult(status, message, timings=timings or {}, details=details or {}),
    )


def json_logger() -> tuple[Any, io.StringIO]:
    """A Runtime-style logger writing JSON lines to a buffer the test can read."""
    stream = io.StringIO()
    return make_logger(Redactor(frozenset()), fmt="json", stream=stream), stream


def log_events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        body = self.body
        if self.headers.get("content-encoding") == "deflate":
            body = zlib.decompress(body)
        elif self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return json.loads(body)


@dataclass
class Recorder:
    """An HTTP server on 127.0.0.1 that records every request and answers ``status``.

    ``answers`` (status, headers) are given first, one per request, in order.
    """

    status: int = 202
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay_s: float = 0.0
    body: bytes = b"{}"
    received: list[Received] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    tls: bool = False

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.server.server_port}"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)


def _recording_handler(recorder: Recorder) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.received.append(
                Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
            if recorder.delay_s:
                time.sleep(recorder.delay_s)
            status, headers = recorder.answers.pop(0) if recorder.answers else (recorder.status, {})
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(recorder.body)))
                self.end_headers()
                self.wfile.write(recorder.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: what the timeout tests want

        def do_GET(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serve(
    handler: type[http.server.BaseHTTPRequestHandler],
    tls: ssl.SSLContext | None = None,
) -> Iterator[http.server.ThreadingHTTPServer]:
    """Run ``handler`` on a free loopback port in a thread for the ``with`` block."""
    server = http.server.ThreadingHTTPServer((HOST, 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    with serving(server):
        yield server


@contextmanager
def recording_server(recorder: Recorder, tls: ssl.SSLContext | None = None) -> Iterator[Recorder]:
    with serve(_recording_handler(recorder), tls) as server:
        recorder.server = server
        yield recorder


@contextmanager
def metrics_server(registry: CollectorRegistry) -> Iterator[str]:
    """Serve ``generate_latest(registry)`` at /metrics (text only); yields host:port."""
    with negotiating_server(lambda _: (generate_latest(registry), CONTENT_TYPE_LATEST)) as (
        address,
        _,
    ):
        yield address


@contextmanager
def negotiating_server(
    render: Callable[[str | None], tuple[bytes, str]],
) -> Iterator[tuple[str, list[tuple[str | None, str]]]]:
    """Serve ``render(Accept)`` at /metrics, as the API does; yields host:port and the
    (Accept, content type) of every scrape so far."""
    served: list[tuple[str | None, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            accept = self.headers.get("Accept")
            body, content_type = render(accept)
            served.append((accept, content_type))
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    with serve(Handler) as server:
        yield f"{HOST}:{server.server_port}", served


class DatagramListener:
    """A bound datagram socket (UDP or Unix) collecting what arrives."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(0.05)

    def receive(self, *, until: Callable[[list[bytes]], bool], timeout: float = 3.0) -> list[bytes]:
        """Datagrams received until ``until(datagrams)`` holds or ``timeout`` passes."""
        got: list[bytes] = []
        deadline = time.monotonic() + timeout
        while not until(got) and time.monotonic() < deadline:
            try:
                got.append(self.sock.recv(65535))
            except TimeoutError:
                continue
        return got

    def lines(self, *, count: int, timeout: float = 3.0) -> list[str]:
        """The next ``count`` lines, however they were packed into datagrams."""

        def enough(datagrams: list[bytes]) -> bool:
            return sum(len(d.decode().splitlines()) for d in datagrams) >= count

        datagrams = self.receive(until=enough, timeout=timeout)
        return [line for d in datagrams for line in d.decode().splitlines()]

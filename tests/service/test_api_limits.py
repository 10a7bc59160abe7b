"""Specifications of what one HTTP request may take from ``smokewatch serve``'s API: a body
over ``api.max_body_bytes`` is answered 413, and a request that does not arrive whole
within ``api.request_timeout`` is answered 408 (or closed) instead of holding a connection."""

from __future__ import annotations

import contextlib
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.service.conftest import HEALTH, ServeProcess, StartServe, WriteConfig

pytestmark = pytest.mark.timeout(300)

LIMITS = "api:\n  max_body_bytes: 4096\n  request_timeout: 2s\n  token: t0ken\n"
BOUND_S = 30.0  # far above request_timeout: only a connection held forever fails


@pytest.fixture
def serve(write_config: WriteConfig, start_serve: StartServe) -> ServeProcess:
    config = write_config(HEALTH, interval="1h")
    config.write_text(config.read_text() + LIMITS)
    return start_serve(config)


def raw_exchange(serve: ServeProcess, request: bytes) -> tuple[bytes, float]:
    """Send ``request`` on a fresh connection, read until the server closes it; the answer
    and how long the connection stayed open."""
    parts = urlsplit(serve.url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=BOUND_S) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


class TestBodyLimit:
    def test_a_declared_body_over_the_limit_is_413_before_the_app_runs(
        self, serve: ServeProcess
    ) -> None:
        """A 10 KB silence against a 4 KiB limit: 413 with a JSON message, nothing created."""
        response = httpx.post(
            serve.url + "/api/v1/silences",
            content=b"{" + b" " * 10_000 + b"}",
            headers={"Authorization": "Bearer t0ken", "Content-Type": "application/json"},
            timeout=BOUND_S,
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert "4096 bytes (api.max_body_bytes)" in response.json()["error"]["message"]
        silences = httpx.get(serve.url + "/api/v1/silences", timeout=BOUND_S).json()
        assert silences["silences"] == []

    def test_a_chunked_body_growing_past_the_limit_is_413(self, serve: ServeProcess) -> None:
        """Without Content-Length the body is counted as it arrives and cut off at the limit."""

        def chunks() -> object:
            for _ in range(10):
                yield b"x" * 1024

        response = httpx.post(
            serve.url + "/api/v1/silences",
            content=chunks(),  # type: ignore[arg-type]
            headers={"Authorization": "Bearer t0ken"},
            timeout=BOUND_S,
        )
        assert response.status_code == 413


class TestRequestTimeout:
    def test_a_huge_declared_body_is_refused_at_once(self, serve: ServeProcess) -> None:
        """``Content-Length: 999999`` with 2 bytes sent: 413 without waiting for the body."""
        answer, held = raw_exchange(
            serve,
            b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n{}",
        )
        assert answer.startswith(b"HTTP/1.1 413")
        assert held < BOUND_S

    def test_a_body_that_never_arrives_gets_408_and_the_connection_closes(
        self, serve: ServeProcess
    ) -> None:
        """``Content-Length: 4000`` (under the body limit) with 2 bytes sent: answered 408 and
        closed after about ``request_timeout``, not held open."""
        answer, held = raw_exchange(
            serve,
            b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n"
            b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{}",
        )
        assert answer.startswith(b"HTTP/1.1 408") or answer == b""
        assert held < BOUND_S

    def test_headers_trickled_forever_are_cut_off(self, serve: ServeProcess) -> None:
        """A client that sends half a request line and stops holds nothing past the timeout."""
        answer, held = raw_exchange(serve, b"GET /api/v1/sta")
        assert answer.startswith(b"HTTP/1.1 408") or answer == b""
        assert held < BOUND_S

    def test_the_service_still_answers_after_the_slow_clients(self, serve: ServeProcess) -> None:
        """Slow clients cost their own connection only: /health answers meanwhile."""
        parts = urlsplit(serve.url)
        hold = [
            socket.create_connection((parts.hostname or "", parts.port or 0), timeout=BOUND_S)
            for _ in range(20)
        ]
        try:
            for s in hold:
                s.sendall(b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
            assert serve.get("/health").status_code == 200
        finally:
            for s in hold:
                s.close()


class TestHeadLimit:
    """The request line and headers may take 16 KiB (``MAX_HEADER_BYTES``); past that the
    request is answered 400 and the connection closed, before the app sees it."""

    def test_headers_over_the_limit_are_refused_before_the_app_runs(
        self, serve: ServeProcess
    ) -> None:
        """An authorised silence is created with a 1,000-byte header; the same with a
        17,000-byte header is answered 400 naming the cause, and creates nothing."""

        def silence(padding: int) -> bytes:
            body = (
                b'{"matchers": {"check": "health"}, "ends_at": "2099-01-01T00:00:00Z", '
                b'"author": "test", "comment": "padded"}'
            )
            return raw_exchange(
                serve,
                b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n"
                b"Content-Type: application/json\r\nConnection: close\r\n"
                b"X-Padding: " + b"p" * padding + b"\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
            )[0]

        assert silence(1_000).startswith(b"HTTP/1.1 201")
        refused = silence(17_000)
        assert refused.startswith(b"HTTP/1.1 400")
        assert b"request line and headers are too large" in refused
        silences = httpx.get(serve.url + "/api/v1/silences", timeout=BOUND_S).json()
        assert len(silences["silences"]) == 1

    def test_a_header_trickled_past_the_limit_is_refused_without_waiting(
        self, serve: ServeProcess
    ) -> None:
        """One header value that never ends, sent 1,000 bytes at a time: refused once it
        passes the limit (400, not the request timeout's 408)."""
        parts = urlsplit(serve.url)
        with socket.create_connection((parts.hostname or "", parts.port or 0), BOUND_S) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            with contextlib.suppress(OSError):  # the server may close while we still send
                for _ in range(40):
                    s.sendall(b"e" * 1000)
                    time.sleep(0.01)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400")
        assert b"too large" in answer

    def test_headers_under_the_limit_and_pipelined_requests_are_served(
        self, serve: ServeProcess
    ) -> None:
        """A 12 KiB header is served; so are two requests sent in one write."""
        big, _ = raw_exchange(
            serve,
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 12_000 + b"\r\n"
            b"Connection: close\r\n\r\n",
        )
        assert big.startswith(b"HTTP/1.1 200")
        both, _ = raw_exchange(
            serve,
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        assert both.count(b"HTTP/1.1 200") == 2


class TestUpgrades:
    def test_a_websocket_upgrade_is_refused_and_closed(self, serve: ServeProcess) -> None:
        """The API serves no WebSocket: a handshake is refused (403) and the connection
        closed, not held."""
        answer, held = raw_exchange(
            serve,
            b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 403")
        assert held < BOUND_S

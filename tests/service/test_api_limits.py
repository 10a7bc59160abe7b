"""Specifications of what one HTTP request may take from ``smokewatch serve``'s API: a body
over ``api.max_body_bytes`` is answered 413, and a request that does not arrive whole
within ``api.request_timeout`` is answered 408 (or closed) instead of holding a connection."""

from __future__ import annotations

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

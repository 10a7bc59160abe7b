"""Specifications of the websocket probe (probes.websocket) against the real demo target."""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import USER_AGENT, Request

from examples.demo_target import DemoTargetThread, TargetState
from probes.base import ProbeContext, Status
from probes.websocket import PROBE, WebSocketSpec
from tests.probes.conftest import MARKER_HEADERS

ECHO = "/ws/echo"


@pytest.fixture
def echo_url(served: DemoTargetThread, target: TargetState) -> str:
    return served.url.replace("http://", "ws://", 1) + ECHO


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        port: int = sock.getsockname()[1]
        yield port


class HeaderRecorder:
    """A real websocket server on 127.0.0.1 that keeps each handshake's request headers.

    The demo target only counts the X-Synthetic-Monitor header, so this one shows values.
    """

    def __init__(self) -> None:
        self.seen: list[Headers] = []
        self.url = ""

    def record(self, connection: ServerConnection, request: Request) -> None:
        self.seen.append(request.headers)

    async def handle(self, connection: ServerConnection) -> None:
        async for _ in connection:
            pass


@pytest.fixture
async def recorder() -> AsyncIterator[HeaderRecorder]:
    recording = HeaderRecorder()
    server: Server
    async with serve(recording.handle, "127.0.0.1", 0, process_request=recording.record) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        recording.url = f"ws://127.0.0.1:{port}/"
        yield recording


def spec(url: str, **fields: Any) -> WebSocketSpec:
    return WebSocketSpec.model_validate({"kind": "websocket", "url": url, **fields})


class TestWebSocketSpec:
    @pytest.mark.parametrize(
        "url",
        ["ws://example.com/ws", "wss://example.com:8443/ws?x=1"],
        ids=["ws", "wss"],
    )
    def test_accepts_websocket_urls(self, url: str) -> None:
        """ws:// and wss:// URLs with a host validate."""
        assert spec(url).url == url

    @pytest.mark.parametrize(
        "url",
        ["http://example.com/ws", "https://example.com/ws", "ws:///ws", "example.com/ws", ""],
        ids=["http", "https", "no-host", "no-scheme", "empty"],
    )
    def test_rejects_non_websocket_urls(self, url: str) -> None:
        """Anything but a ws:// or wss:// URL with a host is a config error."""
        with pytest.raises(ValidationError, match=r"ws:// or wss://"):
            spec(url)

    @pytest.mark.parametrize("pattern", ["(unclosed", "[a-", "*star"], ids=["paren", "set", "star"])
    def test_rejects_a_bad_regex(self, pattern: str) -> None:
        """expect.matches must compile, at load time."""
        with pytest.raises(ValidationError, match="invalid regex"):
            spec("ws://example.com/ws", send="x", expect={"matches": pattern})

    @pytest.mark.parametrize(
        "expect",
        [{"contains": "pong"}, {"matches": "po+ng"}],
        ids=["contains", "matches"],
    )
    def test_a_reply_expectation_needs_a_message_to_send(self, expect: dict[str, str]) -> None:
        """A reply is only awaited after 'send', so expecting one without it is a config error."""
        with pytest.raises(ValidationError, match="needs 'send'"):
            spec("ws://example.com/ws", expect=expect)

    def test_rejects_unknown_fields(self) -> None:
        """A typo in the check is an error, not a silently ignored field."""
        with pytest.raises(ValidationError, match="expectt"):
            spec("ws://example.com/ws", expectt={})


class TestWebSocketRun:
    async def test_connect_send_and_matching_reply_passes(
        self, echo_url: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """The echo reply contains the text sent; connect and reply times are recorded."""
        result = await PROBE.run(
            spec(echo_url, send="ping-123", expect={"contains": "ping-1"}), ctx
        )
        assert (result.status, result.message) == (Status.PASS, "ok")
        assert [(a.name, a.passed, a.actual) for a in result.assertions] == [
            ("reply", True, "ping-123")
        ]
        assert set(result.timings) == {"connect", "reply", "total"}
        assert 0 < result.timings["connect"] <= result.timings["total"]
        assert 0 < result.timings["reply"] <= result.timings["total"]
        assert (target.stats.websocket_connections, target.stats.websocket_messages) == (1, 1)

    @pytest.mark.parametrize(
        ("send", "expect", "actual"),
        [
            ("ping-123", {"matches": r"^ping-\d+$"}, "ping-123"),
            ("ping-123", {"contains": "ping", "matches": r"\d{3}"}, "ping-123"),
            ("anything", {}, '{"type":"hello"}'),
            ("ping", {"contains": "hello"}, '{"type":"hello"}'),
        ],
        ids=["regex", "contains-and-regex", "any-reply", "greeting-matches"],
    )
    async def test_the_first_matching_message_passes(
        self,
        echo_url: str,
        ctx: ProbeContext,
        send: str,
        expect: dict[str, str],
        actual: str,
    ) -> None:
        """Messages are read until one matches; the greeting counts if it matches."""
        result = await PROBE.run(spec(echo_url, send=send, expect=expect), ctx)
        assert result.status is Status.PASS
        assert result.assertions[-1].actual == actual

    async def test_connect_only_passes_on_the_handshake(
        self, echo_url: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """Without 'send' a completed handshake is the whole check."""
        result = await PROBE.run(spec(echo_url), ctx)
        assert (result.status, result.assertions) == (Status.PASS, [])
        assert set(result.timings) == {"connect", "total"}
        assert target.stats.request_count(ECHO, "WS") == 1

    async def test_a_reply_that_never_matches_fails_after_the_deadline(
        self, echo_url: str, ctx: ProbeContext
    ) -> None:
        """Replies that never match fail the check at the deadline, showing the last one."""
        short = dataclasses.replace(ctx, deadline_s=0.3)
        started = time.perf_counter()
        result = await PROBE.run(spec(echo_url, send="ping", expect={"contains": "pong"}), short)
        elapsed = time.perf_counter() - started
        assert result.status is Status.FAIL
        assert result.message == "reply: expected contains 'pong', got ping (timed out)"
        assert result.transient is False
        assert 0.2 <= elapsed < 1.5
        assert result.timings["total"] < 1000

    @pytest.mark.parametrize(
        ("expect", "status"),
        [
            ({"connect_degraded_ms": 0.001}, Status.DEGRADED),
            ({"connect_fail_ms": 0.001}, Status.FAIL),
            ({"connect_degraded_ms": 0.001, "connect_fail_ms": 0.002}, Status.FAIL),
            ({"connect_degraded_ms": 5000, "connect_fail_ms": 10000}, Status.PASS),
        ],
        ids=["over-degraded", "over-fail", "over-both", "within-both"],
    )
    async def test_connect_time_budgets(
        self, echo_url: str, ctx: ProbeContext, expect: dict[str, float], status: Status
    ) -> None:
        """Connect time over a budget degrades or fails the check."""
        result = await PROBE.run(spec(echo_url, expect=expect), ctx)
        assert result.status is status
        assert all(a.name == "connect time" for a in result.assertions)

    async def test_a_refused_connection_fails_as_transient(
        self, closed_port: int, ctx: ProbeContext
    ) -> None:
        """Nothing listening on the port: FAIL, and a retry may help."""
        result = await PROBE.run(spec(f"ws://127.0.0.1:{closed_port}/ws"), ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith("connection failed: ConnectionRefusedError")
        assert result.transient is True
        assert result.details == {"cause": "connection"}

    async def test_an_unanswered_handshake_times_out(
        self, silent_port: int, ctx: ProbeContext
    ) -> None:
        """A server that accepts TCP but never completes the handshake times out, transient."""
        short = dataclasses.replace(ctx, deadline_s=0.3)
        started = time.perf_counter()
        result = await PROBE.run(spec(f"ws://127.0.0.1:{silent_port}/ws"), short)
        assert time.perf_counter() - started < 1.5
        assert result.status is Status.FAIL
        assert result.message == "timed out after 0.3 s"
        assert result.transient is True

    @pytest.mark.parametrize(
        ("fault", "transient"),
        [({"status": 503}, False), ({"down": True}, True)],
        ids=["handshake-refused", "connection-dropped"],
    )
    async def test_a_faulted_endpoint_fails(
        self,
        echo_url: str,
        target: TargetState,
        ctx: ProbeContext,
        fault: dict[str, Any],
        transient: bool,
    ) -> None:
        """A refused handshake (HTTP 403) is not transient; a dropped connection is."""
        target.set_faults(path_prefix=ECHO, **fault)
        result = await PROBE.run(spec(echo_url, send="ping", expect={"contains": "ping"}), ctx)
        assert result.status is Status.FAIL
        assert result.transient is transient
        if not transient:
            assert (
                result.message == "handshake failed: server rejected WebSocket connection: HTTP 403"
            )

    @pytest.mark.parametrize(
        ("headers", "synthetic"),
        [
            ({"User-Agent": "smokewatch-test/1", "X-Synthetic-Monitor": "smokewatch"}, 1),
            ({"user-agent": "smokewatch-test/1", "x-synthetic-monitor": "smokewatch"}, 1),
            ({}, 0),
        ],
        ids=["marker", "marker-lowercase", "no-marker"],
    )
    async def test_synthetic_headers_reach_the_server(
        self,
        echo_url: str,
        target: TargetState,
        ctx: ProbeContext,
        headers: dict[str, str],
        synthetic: int,
    ) -> None:
        """The synthetic-traffic marker goes with the handshake, so the target can count it."""
        marked = dataclasses.replace(ctx, headers=headers)
        result = await PROBE.run(spec(echo_url), marked)
        assert result.status is Status.PASS
        assert target.stats.request_count(ECHO, "WS") == 1
        assert target.stats.synthetic_requests == synthetic

    @pytest.mark.parametrize(
        ("context", "configured", "agent", "others"),
        [
            (MARKER_HEADERS, {}, "smokewatch-test/1", {"X-Synthetic-Monitor": "smokewatch"}),
            (
                {k.lower(): v for k, v in MARKER_HEADERS.items()},
                {},
                "smokewatch-test/1",
                {"X-Synthetic-Monitor": "smokewatch"},
            ),
            (
                MARKER_HEADERS,
                {"user-agent": "custom/2", "X-Synthetic-Monitor": "no", "X-Api-Key": "k-123"},
                "smokewatch-test/1",
                {"X-Synthetic-Monitor": "smokewatch", "X-Api-Key": "k-123"},
            ),
            ({}, {"X-Api-Key": "k-123"}, USER_AGENT, {"X-Api-Key": "k-123"}),
        ],
        ids=["marker", "marker-lowercase", "marker-wins-over-config", "config-only"],
    )
    async def test_handshake_headers_arrive_once_each(
        self,
        recorder: HeaderRecorder,
        ctx: ProbeContext,
        context: dict[str, str],
        configured: dict[str, str],
        agent: str,
        others: dict[str, str],
    ) -> None:
        """Configured headers and the context's marker are sent once each; the marker wins."""
        marked = dataclasses.replace(ctx, headers=context)
        result = await PROBE.run(spec(recorder.url, headers=configured), marked)
        assert result.status is Status.PASS
        [headers] = recorder.seen
        assert headers.get_all("User-Agent") == [agent]
        for name, value in others.items():
            assert headers.get_all(name) == [value]

"""Specifications of request timing by phase (probes.timing.PhaseTimer)."""

from __future__ import annotations

import asyncio
import time

import pytest

from probes.base import ProbeContext
from probes.http import send
from probes.timing import PHASES, PhaseTimer
from tests.probes.conftest import LiveServer

# Scheduling noise allowed on a busy machine: the client may resume a little late after
# sending (shortening what it measures) or after receiving (lengthening it).
EARLY_MS = 15
SLACK_MS = 250  # a loaded 2-core CI machine adds scheduling delay to every phase
DELAY_MS = 500  # the server's wait: twice the slack, so the phase it lands in is unmistakable


async def feed(timer: PhaseTimer, *events: str, pause_s: float = 0.0) -> None:
    for event in events:
        await timer.trace(event, {})
        if pause_s:
            await asyncio.sleep(pause_s)


class TestPhaseTimer:
    async def test_reports_every_phase_and_the_total(self) -> None:
        """A timer with no events reports each phase as 0 and a total."""
        timer = PhaseTimer()
        timer.start()
        timer.stop()
        timings = timer.as_dict()
        assert set(timings) == {*PHASES, "total"}
        assert all(timings[phase] == 0.0 for phase in PHASES)
        assert timings["total"] >= 0.0

    @pytest.mark.parametrize(
        ("step", "phase"),
        [
            ("connection.connect_tcp", "connect"),
            ("connection.start_tls", "tls"),
            ("http11.send_request_headers", "request"),
            ("http11.send_request_body", "request"),
            ("http11.receive_response_headers", "first_byte"),
            ("http11.receive_response_body", "transfer"),
            ("http2.send_request_headers", "request"),
            ("http2.receive_response_headers", "first_byte"),
            ("http2.receive_response_body", "transfer"),
        ],
        ids=lambda v: v,
    )
    async def test_maps_each_httpcore_step_to_its_phase(self, step: str, phase: str) -> None:
        """The time between a step's ``started`` and ``complete`` events lands in its phase."""
        timer = PhaseTimer()
        await feed(timer, f"{step}.started", f"{step}.complete", pause_s=0.02)
        timings = timer.as_dict()
        assert timings[phase] >= 19.0
        assert all(timings[other] == 0.0 for other in PHASES if other != phase)

    async def test_sums_a_phase_over_several_hops(self) -> None:
        """Two connects (a redirect to another host) add up."""
        timer = PhaseTimer()
        step = "connection.connect_tcp"
        for _ in range(2):
            await feed(timer, f"{step}.started", f"{step}.complete", pause_s=0.01)
        assert timer.as_dict()["connect"] >= 19.0

    async def test_transfer_runs_from_the_headers_to_the_last_byte(self) -> None:
        """Time between the response headers and the caller reading the body is transfer."""
        timer = PhaseTimer()
        await feed(timer, "http11.receive_response_headers.started")
        await feed(timer, "http11.receive_response_headers.complete", pause_s=0.02)
        await feed(timer, "http11.receive_response_body.started")
        await feed(timer, "http11.receive_response_body.complete")
        assert timer.as_dict()["transfer"] >= 19.0

    async def test_an_event_stamped_with_its_arrival_is_timed_then(self) -> None:
        """``info["at"]`` (when the bytes arrived) times the event, not the callback's call."""
        timer = PhaseTimer()
        began = time.perf_counter()
        await timer.trace("http11.receive_response_headers.started", {"at": began})
        await timer.trace("http11.receive_response_headers.complete", {"at": began + 0.25})
        await timer.trace("http11.receive_response_body.complete", {"at": began + 0.5})
        timer.stop()
        timings = timer.as_dict()
        assert (timings["first_byte"], timings["transfer"]) == (250.0, 250.0)
        assert timings["total"] == 500.0

    async def test_a_failed_step_still_counts(self) -> None:
        """A ``failed`` event ends the phase like ``complete`` does."""
        timer = PhaseTimer()
        step = "connection.start_tls"
        await feed(timer, f"{step}.started", f"{step}.failed", pause_s=0.01)
        assert timer.as_dict()["tls"] >= 9.0

    async def test_closes_a_phase_left_open_at_stop(self) -> None:
        """A body abandoned at the size cap is timed up to stop()."""
        timer = PhaseTimer()
        timer.start()
        await feed(timer, "http11.receive_response_body.started")
        await asyncio.sleep(0.01)
        timer.stop()
        assert timer.as_dict()["transfer"] >= 9.0

    async def test_remembers_where_it_stopped(self) -> None:
        """last_phase names the phase of the latest event, e.g. where a timeout hit."""
        timer = PhaseTimer()
        assert timer.last_phase is None
        await feed(timer, "connection.connect_tcp.started", "connection.connect_tcp.complete")
        await feed(timer, "http11.receive_response_headers.started")
        await feed(timer, "http11.receive_response_headers.failed")
        assert timer.last_phase == "first_byte"

    @pytest.mark.parametrize(
        "event",
        ["connection.close.started", "http11.response_closed.complete", "bogus", ""],
        ids=["close", "response-closed", "unknown", "empty"],
    )
    async def test_ignores_events_it_does_not_time(self, event: str) -> None:
        """Events outside the timed steps change nothing."""
        timer = PhaseTimer()
        await feed(timer, event, "http11.receive_response_body.complete")
        assert all(value == 0.0 for value in timer.as_dict().values())


class TestPhasesOfRealRequests:
    async def test_server_think_time_shows_up_in_first_byte(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """A 500 ms server delay appears in first_byte, not in the other phases."""
        exchange = await send(ctx, method="GET", url=server.url(f"/delay/{DELAY_MS}"))
        timings = exchange.timings
        assert DELAY_MS - EARLY_MS <= timings["first_byte"] <= DELAY_MS + SLACK_MS
        assert timings["transfer"] < SLACK_MS
        assert timings["request"] < SLACK_MS

    async def test_a_slow_body_shows_up_in_transfer(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """Headers at once and the body 500 ms later: the wait is transfer time."""
        exchange = await send(ctx, method="GET", url=server.url(f"/drip/{DELAY_MS}"))
        assert DELAY_MS - EARLY_MS <= exchange.timings["transfer"] <= DELAY_MS + SLACK_MS
        assert exchange.timings["first_byte"] < SLACK_MS

    async def test_only_a_fresh_connection_pays_for_connect(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """The first request connects; the second reuses the pooled connection (connect 0)."""
        first = await send(ctx, method="GET", url=server.url("/health"))
        second = await send(ctx, method="GET", url=server.url("/health"))
        assert first.timings["connect"] > 0.0
        assert second.timings["connect"] == 0.0
        assert first.timings["tls"] == 0.0

    async def test_https_pays_for_the_tls_handshake(
        self, ctx: ProbeContext, tls_server: LiveServer
    ) -> None:
        """Over https a fresh connection spends time in the TLS handshake."""
        exchange = await send(ctx, method="GET", url=tls_server.url("/health"))
        assert exchange.timings["tls"] > 0.0
        assert exchange.timings["connect"] > 0.0

    async def test_total_covers_every_phase(self, ctx: ProbeContext, server: LiveServer) -> None:
        """The phases are parts of the total, never more than it."""
        exchange = await send(ctx, method="GET", url=server.url("/delay/20"))
        timings = exchange.timings
        assert sum(timings[phase] for phase in PHASES) <= timings["total"] + 0.01
        assert timings["total"] == exchange.total_ms >= 20.0

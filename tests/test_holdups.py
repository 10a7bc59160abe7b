"""Specifications: the monitor's own hold-ups never make a verdict about time.

When smokewatch's event loop is held up while a response is on its way (a burst of
work, a start-up, a CPU starved by Chromium launching), the answer waits in the
socket and the target looks slow.  The runner measures how long its loop was held up
during each attempt (``monitor.looplag``), keeps it as ``monitor_lag_ms``, and
measures again at once a verdict set by a time budget that the hold-up could
explain.  A real target on loopback answers; the hold-up is a real blocking call on
the runner's loop, made the moment the target has the request.
"""

from __future__ import annotations

import asyncio
import io
import json
import textwrap
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_config
from monitor.looplag import LoopLag
from monitor.runner import CheckRun
from monitor.runtime.runtime import Runtime
from probes.base import Status
from tests.support.serving import serving


class Target(ThreadingHTTPServer):
    """Answers every GET after ``delay_s`` with ``{"status": "ok"}``; tells the test when a
    request arrives, so it can hold the monitor's loop up while the answer is on its way."""

    daemon_threads = True

    def __init__(self, delay_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay_s = delay_s
        self.requests = 0
        self.on_request: Callable[[int], None] = lambda number: None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Target

    def do_GET(self) -> None:
        self.server.requests += 1
        self.server.on_request(self.server.requests)
        time.sleep(self.server.delay_s)
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def fast() -> Iterator[Target]:
    with serving(Target(0.02)) as server:
        yield server


@pytest.fixture
def slow() -> Iterator[Target]:
    with serving(Target(0.2)) as server:
        yield server


def block(seconds: float) -> None:
    """Hold the calling thread (the event loop's, here) for ``seconds``: the hold-up."""
    time.sleep(seconds)


def hold_up_on(server: Target, number: int, hold_s: float) -> None:
    """Block the running event loop for ``hold_s`` when request ``number`` reaches the target."""
    loop = asyncio.get_running_loop()

    def arrived(n: int) -> None:
        if n == number:
            loop.call_soon_threadsafe(block, hold_s)

    server.on_request = arrived


CHECK = """\
- name: api
  kind: http
  url: ${TARGET}/health
  expect:
    response_time: {degraded_ms: 100}
"""


def runtime(tmp_path: Path, url: str, checks: str, log: io.StringIO, extra: str = "") -> Runtime:
    """A Runtime (no store) for ``checks`` against ``url``, logging JSON to ``log``."""
    path = tmp_path / "smokewatch.yaml"
    path.write_text(
        extra
        + "defaults:\n  retries: 2\n  timeout: 5s\nalert_rules: null\nchecks:\n"
        + textwrap.indent(checks, "  ")
    )
    loaded = load_config(path, env={"TARGET": url})
    return Runtime(loaded, region="test", use_store=False, log_stream=log, env={})


async def run(
    tmp_path: Path, url: str, checks: str = CHECK
) -> tuple[CheckRun, list[dict[str, Any]]]:
    """One ``run --once`` of ``checks``; the run and its JSON log events."""
    log = io.StringIO()
    async with runtime(tmp_path, url, checks, log) as rt:
        (result,) = await rt.run_once()
    return result, [json.loads(line) for line in log.getvalue().splitlines()]


def ledger(result: CheckRun) -> list[dict[str, Any]]:
    attempts = result.result.details.get("attempts")
    assert isinstance(attempts, list)
    return attempts


class TestAHeldUpMonitorInventsNoSlowness:
    async def test_a_fast_answer_read_late_is_measured_again_and_passes(
        self, tmp_path: Path, fast: Target
    ) -> None:
        """A 20 ms answer read 300 ms late is not 'degraded': measured again, it passes."""
        hold_up_on(fast, 1, 0.3)
        result, events = await run(tmp_path, fast.url)
        assert (result.status, result.attempts, fast.requests) == (Status.PASS, 2, 2)
        first, second = ledger(result)
        assert first["status"] == "degraded"
        assert first["then_remeasured"] is True
        assert first["monitor_lag_ms"] >= 200
        assert second["status"] == "pass"
        assert result.duration_ms < 100  # the measurement that stands is the second
        (remeasure,) = [e for e in events if e["event"] == "check.remeasure"]
        assert remeasure["monitor_lag_ms"] >= 200
        assert remeasure["delay_s"] == 0

    async def test_a_slow_target_stays_degraded_when_measured_again(
        self, tmp_path: Path, slow: Target
    ) -> None:
        """A target that really answers in 200 ms is degraded on the second measurement too."""
        hold_up_on(slow, 1, 0.3)
        result, _ = await run(tmp_path, slow.url)
        assert (result.status, result.attempts, slow.requests) == (Status.DEGRADED, 2, 2)
        assert [a["status"] for a in ledger(result)] == ["degraded", "degraded"]
        assert result.duration_ms >= 200

    async def test_a_slow_target_without_a_hold_up_is_measured_once(
        self, tmp_path: Path, slow: Target
    ) -> None:
        """No hold-up, no second request: the slow answer is degraded at once."""
        result, events = await run(tmp_path, slow.url)
        assert (result.status, result.attempts, slow.requests) == (Status.DEGRADED, 1, 1)
        assert not any(e["event"] == "check.remeasure" for e in events)

    async def test_a_verdict_beyond_the_hold_up_is_not_measured_again(
        self, tmp_path: Path, slow: Target
    ) -> None:
        """Over the budget by more than the hold-up: the hold-up cannot explain it."""
        hold_up_on(slow, 1, 0.05)
        checks = CHECK.replace("degraded_ms: 100", "degraded_ms: 20")
        result, _ = await run(tmp_path, slow.url, checks)
        assert (result.status, result.attempts, slow.requests) == (Status.DEGRADED, 1, 1)
        assert result.result.details["monitor_lag_ms"] >= 20

    async def test_a_verdict_another_assertion_shares_is_not_measured_again(
        self, tmp_path: Path, fast: Target
    ) -> None:
        """A wrong JSON value fails the check whatever the time: no second request."""
        hold_up_on(fast, 1, 0.3)
        checks = CHECK + "    json: [{path: $.status, equals: down}]\n"
        result, _ = await run(tmp_path, fast.url, checks)
        assert (result.status, result.attempts, fast.requests) == (Status.FAIL, 1, 1)
        (attempt,) = ledger(result)
        assert attempt["monitor_lag_ms"] >= 200
        assert "then_remeasured" not in attempt

    async def test_a_fail_budget_is_measured_again_too(self, tmp_path: Path, fast: Target) -> None:
        """fail_ms as degraded_ms: a 20 ms answer read 300 ms late does not fail the check."""
        hold_up_on(fast, 1, 0.3)
        checks = CHECK.replace("degraded_ms: 100", "fail_ms: 100")
        result, _ = await run(tmp_path, fast.url, checks)
        assert (result.status, result.attempts) == (Status.PASS, 2)
        assert ledger(result)[0]["status"] == "fail"

    async def test_the_second_measurement_stands_even_if_held_up_again(
        self, tmp_path: Path, fast: Target
    ) -> None:
        """Once per run: a second hold-up leaves the second measurement as the verdict."""
        hold_up_on(fast, 1, 0.3)
        first = fast.on_request
        fast.on_request = lambda n: first(1 if n in (1, 2) else n)
        result, _ = await run(tmp_path, fast.url)
        assert (result.status, result.attempts, fast.requests) == (Status.DEGRADED, 2, 2)
        assert result.result.details["monitor_lag_ms"] >= 200


class TestTheBudgetDoesNotPayForOurHoldUps:
    async def test_a_remeasurement_leaves_the_budget_to_the_checks_planned(
        self, tmp_path: Path, fast: Target
    ) -> None:
        """A budget of 2 requests a minute for 2 checks, one after the other: the first is
        held up and measured again, and the second still gets its request (its slot was
        not spent on the re-measurement)."""
        hold_up_on(fast, 1, 0.3)
        checks = CHECK + CHECK.replace("name: api", "name: second")
        budget = (
            "runner: {concurrency: 1}\n"
            f"rate_limit: {{fraction: 1.0, max_wait: 1s, hosts: {{'{fast.url}': "
            "{limit: 2, window: 1m}}}\n"
        )
        log = io.StringIO()
        async with runtime(tmp_path, fast.url, checks, log, budget) as rt:
            first, second = await rt.run_once()
        assert (first.status, first.attempts) == (Status.PASS, 2)
        assert second.status is Status.PASS, second.result.message
        assert fast.requests == first.attempts + second.attempts


class TestTheHoldUpsAreMetrics:
    async def test_held_up_time_and_remeasures_are_counted_per_region(
        self, tmp_path: Path, fast: Target
    ) -> None:
        """/metrics shows how long the loop was held up while measuring, and each re-measure."""
        hold_up_on(fast, 1, 0.3)
        async with runtime(tmp_path, fast.url, CHECK, io.StringIO()) as rt:
            await rt.run_once()
            text = generate_latest(rt.registry).decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        (held,) = families["smokewatch_loop_held_up_seconds"].samples
        (again,) = families["smokewatch_remeasures"].samples
        assert held.labels == {"region": "test"}
        assert held.value >= 0.2
        assert (again.labels, again.value) == ({"region": "test"}, 1.0)


class TestLoopLag:
    async def test_a_blocking_call_inside_a_window_is_its_lag(self) -> None:
        """A 100 ms blocking call counts about 100 ms; the sleeps around it count nothing."""
        lag = LoopLag()
        with lag.window() as held:
            await asyncio.sleep(0.05)
            block(0.1)
            await asyncio.sleep(0.05)
        assert 80 <= held.lag_ms <= 250

    async def test_waiting_is_not_lag(self) -> None:
        """A window spent awaiting (the loop free) measures next to nothing."""
        lag = LoopLag()
        with lag.window() as held:
            await asyncio.sleep(0.3)
        assert held.lag_ms < 60  # a fifth of the window at most, even on a busy machine

    async def test_a_hold_up_still_under_way_at_the_close_counts(self) -> None:
        """The window closing inside a hold-up counts it: no tick had to wake first."""
        lag = LoopLag()
        with lag.window() as held:
            await asyncio.sleep(0.02)
            block(0.1)
        assert held.lag_ms >= 80

    async def test_each_open_window_sees_the_hold_ups_of_its_own_span(self) -> None:
        """Windows overlap freely: each counts what happened while it was open."""
        lag = LoopLag()
        with lag.window() as outer:
            block(0.06)
            await asyncio.sleep(0.02)
            with lag.window() as inner:
                await asyncio.sleep(0.02)
                block(0.06)
                await asyncio.sleep(0.02)
        assert 40 <= inner.lag_ms <= 150
        assert outer.lag_ms >= inner.lag_ms + 40

    async def test_nothing_is_measured_while_no_window_is_open(self) -> None:
        """Between windows the sensor is off: a hold-up then counts in no window."""
        lag = LoopLag()
        with lag.window():
            await asyncio.sleep(0.02)
        before = lag.total_s()
        block(0.1)
        with lag.window() as later:
            pass
        assert later.lag_ms == 0
        assert lag.total_s() == before

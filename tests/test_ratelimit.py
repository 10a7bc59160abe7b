"""Specifications of the per-origin request budget (monitor.scheduling.ratelimit.HostBudget)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.config.models import HostLimit, RateLimit
from monitor.runtime.runtime import Runtime
from monitor.scheduling.ratelimit import HostBudget
from probes.base import GateClosed, Status, origin_of


class FakeClock:
    """A clock the test moves by hand; ``sleep`` advances it (no real waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def budget(clock: FakeClock, **settings: object) -> HostBudget:
    return HostBudget(RateLimit.model_validate(settings), clock=clock, sleep=clock.sleep)


def response(status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


class TestHostBudget:
    async def test_stays_at_a_tenth_of_the_declared_limit(self) -> None:
        """100 per minute declared means 10 per minute sent; the 11th waits for the window."""
        clock = FakeClock()
        gate = budget(
            clock,
            hosts={"api.example": HostLimit(limit=100, window=timedelta(minutes=1))},
            max_wait=timedelta(minutes=2),
        )
        for _ in range(10):
            await gate.acquire("api.example")
        assert clock.slept == []
        await gate.acquire("api.example")
        assert clock.slept == [pytest.approx(60.0)]

    async def test_learns_a_lower_limit_from_response_headers(self) -> None:
        """X-RateLimit-Limit lower than the default shrinks the budget to 10 % of it."""
        clock = FakeClock()
        gate = budget(clock)
        gate.observe("t.example", response(X_RateLimit_Limit="50"))
        assert gate.budget("t.example") == (5, 60.0)

    async def test_a_configured_limit_is_not_overridden_by_headers(self) -> None:
        """What the operator declared wins over what a response says."""
        clock = FakeClock()
        gate = budget(clock, hosts={"t.example": HostLimit(limit=1000)})
        gate.observe("t.example", response(X_RateLimit_Limit="50"))
        assert gate.budget("t.example") == (100, 60.0)

    async def test_429_closes_the_host_until_retry_after(self) -> None:
        """After a 429 with Retry-After: 3 the next request waits 3 s."""
        clock = FakeClock()
        gate = budget(clock)
        gate.observe("t.example", response(429, Retry_After="3"))
        await gate.acquire("t.example")
        assert clock.slept == [pytest.approx(3.0)]

    async def test_a_wait_beyond_max_wait_raises_gate_closed(self) -> None:
        """A host closed for longer than max_wait fails fast rather than queueing."""
        clock = FakeClock()
        gate = budget(clock, max_wait=timedelta(seconds=5))
        gate.observe("t.example", response(429, Retry_After="120"))
        with pytest.raises(GateClosed, match=r"t\.example"):
            await gate.acquire("t.example")

    async def test_an_uncounted_request_needs_no_budget_but_respects_a_429(self) -> None:
        """A re-measurement is admitted with the budget spent, and is not counted; a 429
        still holds it (and one beyond max_wait refuses it)."""
        clock = FakeClock()
        gate = budget(
            clock,
            hosts={"t.example": HostLimit(limit=1, window=timedelta(minutes=1))},
            fraction=1.0,
            max_wait=timedelta(seconds=5),
        )
        await gate.acquire("t.example")
        await gate.acquire_uncounted("t.example")
        assert clock.slept == []
        gate.observe("t.example", response(429, Retry_After="3"))
        await gate.acquire_uncounted("t.example")
        assert clock.slept == [pytest.approx(3.0)]
        gate.observe("t.example", response(429, Retry_After="120"))
        with pytest.raises(GateClosed, match=r"t\.example"):
            await gate.acquire_uncounted("t.example")
        clock.now += 180  # the 429 and the window are over: the one slot is free again
        await gate.acquire("t.example")
        assert clock.slept == [pytest.approx(3.0)]

    async def test_remaining_zero_waits_for_the_reset(self) -> None:
        """X-RateLimit-Remaining: 0 with a reset delta holds requests until then."""
        clock = FakeClock()
        gate = budget(clock)
        gate.observe("t.example", response(X_RateLimit_Remaining="0", X_RateLimit_Reset="4"))
        await gate.acquire("t.example")
        assert clock.slept == [pytest.approx(4.0)]

    async def test_hosts_have_separate_budgets(self) -> None:
        """Spending one host's budget does not slow another host."""
        clock = FakeClock()
        gate = budget(clock, default=HostLimit(limit=10))
        await gate.acquire("a.example")
        await gate.acquire("b.example")
        assert clock.slept == []


class TestOrigins:
    async def test_a_limit_learnt_from_one_port_leaves_another_port_alone(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState
    ) -> None:
        """A service on port A declaring 100/min does not throttle 12 checks on port B."""
        with DemoTargetThread() as other:
            checks = "".join(
                f"  - name: b{i}\n    kind: http\n    url: {other.url}/health\n" for i in range(12)
            )
            text = (
                "rate_limit: {max_wait: 1s}\ndefaults: {retries: 0}\nalert_rules: null\n"
                f"checks:\n  - name: a\n    kind: http\n    url: {served.url}/api/v1/test\n"
                + checks
            )
            path = tmp_path / "smokewatch.yaml"
            path.write_text(text)
            loaded = load_config(path, env={})
            async with Runtime(
                loaded, region="test", use_store=False, log_stream=io.StringIO(), env={}
            ) as rt:
                (first,) = await rt.run_once(["a"])
                runs = await rt.run_once([f"b{i}" for i in range(12)])
        assert first.status is Status.PASS
        assert [r.status for r in runs] == [Status.PASS] * 12

    async def test_a_bare_host_key_groups_all_its_ports(self) -> None:
        """hosts: {127.0.0.1: ...} gives one budget to every origin on 127.0.0.1."""
        clock = FakeClock()
        gate = budget(clock, hosts={"127.0.0.1": {"limit": 20, "window": "1m"}})
        assert gate.budget("http://127.0.0.1:8001") == (2, 60.0)
        await gate.acquire("http://127.0.0.1:8001")
        await gate.acquire("http://127.0.0.1:8002")
        with pytest.raises(GateClosed):
            await gate.acquire("https://127.0.0.1:443")

    async def test_an_origin_key_limits_only_that_origin(self) -> None:
        """hosts: {'http://h:1': ...} applies to that origin; h's other ports get the default."""
        clock = FakeClock()
        gate = budget(clock, hosts={"http://h:1": {"limit": 20, "window": "1m"}})
        assert gate.budget("http://h:1") == (2, 60.0)
        assert gate.budget("http://h:2") == (60, 60.0)

    async def test_learning_from_headers_can_be_switched_off(self) -> None:
        """learn_from_headers: false keeps the default budget whatever the target declares."""
        clock = FakeClock()
        gate = budget(clock, learn_from_headers=False)
        gate.observe("http://h:1", response(x_ratelimit_limit="10"))
        assert gate.budget("http://h:1") == (60, 60.0)

    def test_origin_of_fills_the_default_port(self) -> None:
        """An origin is scheme://host:port with the scheme's default port made explicit."""
        assert origin_of("https://Example.com/x?y") == "https://example.com:443"
        assert origin_of("http://127.0.0.1:8080/a") == "http://127.0.0.1:8080"
        assert origin_of("ws://h/socket") == "ws://h:80"

"""Specifications of the per-host request budget (monitor.ratelimit.HostBudget)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from monitor.config.models import HostLimit, RateLimit
from monitor.ratelimit import HostBudget
from probes.base import GateClosed


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

"""Specifications of ``monitor.scheduling.budgets``: checks that cannot fit a host's request budget
are named at load (``validate`` fails, ``serve`` warns) and paced by the scheduler, never turned
into ``error`` results by the monitor's own overcommitment."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.loader import LoadedConfig, load_config
from monitor.runtime.runtime import Runtime
from monitor.scheduling.budgets import budget_problems, origin_loads
from monitor.scheduling.ratelimit import HostBudget
from monitor.scheduling.scheduler import JobPlan, plan_jobs
from probes.base import GateClosed

ORIGIN = "http://127.0.0.1:9"


def many_checks(tmp_path: Path, count: int, *, interval: str = "60s", extra: str = "") -> Path:
    listed = "".join(
        f"  - name: c{n:05d}\n    kind: http\n    url: {ORIGIN}/p{n}\n    interval: {interval}\n"
        for n in range(count)
    )
    path = tmp_path / "smokewatch.yaml"
    path.write_text(f"alert_rules: null\nstorage: {{url: 'sqlite:///{tmp_path}/r.db'}}\n"
                    f"{extra}checks:\n{listed}")  # fmt: skip
    return path


def loaded(path: Path) -> LoadedConfig:
    return load_config(path, {})


def fire_times(plans: dict[str, JobPlan], start: datetime, span_s: float) -> list[datetime]:
    """Every fire time of ``plans`` in ``span_s`` after ``start``, as the scheduler would use
    them (a paced check skips the run at start; the others run at start first)."""
    times = []
    end = start + timedelta(seconds=span_s)
    for plan in plans.values():
        trigger = plan.trigger(start)
        at = trigger.get_next_fire_time(None, start) if plan.paced else start
        while at < end:
            times.append(at)
            at = trigger.get_next_fire_time(at, at)
    return sorted(times)


async def gate_outcomes(config: LoadedConfig, times: list[datetime]) -> tuple[int, int]:
    """Feed the fire times to the real ``HostBudget`` on a simulated clock: (sent, refused)."""
    start = times[0]
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    budget = HostBudget(config.config.rate_limit, clock=lambda: now[0], sleep=sleep)
    sent = refused = 0
    for at in times:
        now[0] = max(now[0], (at - start).total_seconds())
        try:
            await budget.acquire(ORIGIN)
        except GateClosed:
            refused += 1
        else:
            sent += 1
    return sent, refused


class TestOriginLoads:
    def test_needed_and_allowed_rates_per_origin(self, tmp_path: Path) -> None:
        """1,000 checks a minute on one host need 1,000 requests a minute; the default budget
        (600 a minute x 10 %) allows 60."""
        config = loaded(many_checks(tmp_path, 1000)).config
        (load,) = origin_loads(config, config.checks)
        assert load.origin == ORIGIN
        assert load.field == "rate_limit.default"
        assert round(load.needed_per_s * 60, 6) == 1000
        assert round(load.allowed_per_s * 60, 6) == 60
        assert load.overcommitted
        assert round(load.stretch, 6) == round(1000 / 60, 6)

    def test_a_declared_bare_host_groups_its_origins(self, tmp_path: Path) -> None:
        """A bare host in rate_limit.hosts is one budget, named by the host."""
        config = loaded(
            many_checks(tmp_path, 10, extra="rate_limit: {hosts: {127.0.0.1: {limit: 6000}}}\n")
        ).config
        (load,) = origin_loads(config, config.checks)
        assert (load.origin, load.field) == ("127.0.0.1", "rate_limit.hosts.127.0.0.1")
        assert not load.paced


class TestValidate:
    def test_overcommitted_host_is_a_problem_naming_file_item_and_rates(
        self, tmp_path: Path
    ) -> None:
        """The problem names the file, the line of the origin's first check, the origin, the
        needed and the allowed rate."""
        path = many_checks(tmp_path, 1000)
        (problem,) = budget_problems(loaded(path))
        assert str(problem).startswith(f"{path}:4: origin {ORIGIN}: field 'rate_limit.default': ")
        assert "1000 check(s) need 1000 requests a minute, the budget allows 60" in str(problem)

    def test_a_config_that_fits_has_no_problem(self, tmp_path: Path) -> None:
        """60 checks a minute fit the default budget exactly."""
        assert budget_problems(loaded(many_checks(tmp_path, 60))) == []

    def test_declared_limit_problem_points_at_its_line(self, tmp_path: Path) -> None:
        """An origin limited in rate_limit.hosts is reported at that key's line."""
        extra = f"rate_limit:\n  hosts:\n    '{ORIGIN}': {{limit: 10}}\n"
        (problem,) = budget_problems(loaded(many_checks(tmp_path, 2, extra=extra)))
        assert (problem.line, problem.item) == (5, f"origin {ORIGIN}")
        assert problem.field == f"rate_limit.hosts.{ORIGIN}"


class TestPacing:
    START = datetime(2025, 3, 1, 12, 0, 3, tzinfo=UTC)

    async def test_thousand_checks_on_the_default_budget_are_never_refused(
        self, tmp_path: Path
    ) -> None:
        """1,000 checks every 60 s on one host: paced, every run is admitted by the real
        HostBudget (before: 940 of the first 1,000 were refused and stored as 'error')."""
        config = loaded(many_checks(tmp_path, 1000))
        plans = plan_jobs(config.config, config.config.checks)
        assert all(p.paced for p in plans.values())
        assert {round(p.interval_s, 6) for p in plans.values()} == {round(60 * 1000 / 60, 6)}
        times = fire_times(plans, self.START, 2 * 1000)
        sent, refused = await gate_outcomes(config, times)
        assert refused == 0
        assert sent == len(times) >= 1900

    async def test_more_checks_than_a_window_admits_are_spread_not_stretched(
        self, tmp_path: Path
    ) -> None:
        """100 checks every 30 min fit 60 a minute on average, but not all at once: each
        keeps its 30 min, runs spread 18 s apart, none refused."""
        config = loaded(many_checks(tmp_path, 100, interval="30m"))
        plans = plan_jobs(config.config, config.config.checks)
        assert {p.interval_s for p in plans.values()} == {1800.0}
        offsets = sorted(p.offset_s for p in plans.values())
        assert offsets == [n * 18.0 for n in range(100)]
        assert (await gate_outcomes(config, fire_times(plans, self.START, 3600)))[1] == 0

    def test_checks_that_fit_keep_their_schedule(self, tmp_path: Path) -> None:
        """Within budget and burst, checks run at start and every interval, as configured."""
        config = loaded(many_checks(tmp_path, 20))
        plans = plan_jobs(config.config, config.config.checks)
        assert not any(p.paced for p in plans.values())
        assert {p.interval_s for p in plans.values()} == {60.0}


class TestLoadWarning:
    async def test_runtime_warns_at_load_naming_the_origin_and_rates(self, tmp_path: Path) -> None:
        """serve and run log config.over_budget when they load an overcommitted config."""
        stream = io.StringIO()
        async with Runtime(loaded(many_checks(tmp_path, 120)), log_stream=stream, env={}):
            pass
        events = [json.loads(line) for line in stream.getvalue().splitlines() if line]
        (warning,) = [e for e in events if e["event"] == "config.over_budget"]
        assert warning["origin"] == ORIGIN
        assert (warning["needed_per_minute"], warning["allowed_per_minute"]) == (120, 60)
        assert warning["level"] == "warning"

"""Specifications of the runner: hard timeouts, what is retried, backoff, crashes become results."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from pydantic import BaseModel, ConfigDict

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.runtime.runtime import Runtime
from probes import PROBES
from probes.base import ProbeContext, ProbeResult, Status


def runtime_for(
    tmp_path: Path, checks: str, url: str, log: io.StringIO, extra: str = ""
) -> Runtime:
    text = (
        extra + "defaults:\n  retries: 2\n  backoff: {initial: 10ms, max: 40ms}\n  timeout: 2s\n"
        "alert_rules: null\nchecks:\n" + textwrap.indent(textwrap.dedent(checks), "  ")
    )
    path = tmp_path / "smokewatch.yaml"
    path.write_text(text)
    loaded = load_config(path, env={"TARGET": url, "API_TOKEN": "secret-token-value"})
    return Runtime(loaded, region="test", use_store=False, log_stream=log, env={})


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


class TestRetries:
    async def test_a_hung_target_is_cut_at_the_timeout_and_retried(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """A response slower than the timeout fails as 'timed out'; timeouts are retried."""
        checks = "- name: slow\n  kind: http\n  url: ${TARGET}/delay?ms=3000\n  timeout: 300ms\n"
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            (run,) = await rt.run_once()
        assert (run.status, run.attempts) == (Status.FAIL, 3)
        assert "timed out" in run.result.message
        assert target.stats.request_count("/delay", "GET") == 3
        assert run.duration_ms < 3 * 300 + 500

    async def test_retry_on_can_exclude_5xx(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """With retry_on: [connection], a 503 is final after one attempt."""
        target.set_faults(status=503, path_prefix="/health")
        checks = "- name: h\n  kind: http\n  url: ${TARGET}/health\n  retry_on: [connection]\n"
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            (run,) = await rt.run_once()
        assert (run.status, run.attempts) == (Status.FAIL, 1)
        assert target.stats.request_count("/health", "GET") == 1

    async def test_each_retry_is_logged_with_its_delay(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """Retries appear in the JSON log with check, region, run_id, attempt and delay."""
        target.set_faults(status=500, path_prefix="/health")
        checks = "- name: h\n  kind: http\n  url: ${TARGET}/health\n"
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            await rt.run_once()
        events = [json.loads(line) for line in log.getvalue().splitlines()]
        retries = [e for e in events if e["event"] == "check.retry"]
        assert [e["attempt"] for e in retries] == [1, 2]
        assert all(e["check"] == "h" and e["region"] == "test" and e["run_id"] for e in retries)
        assert 0.008 <= retries[0]["delay_s"] <= 0.012  # 10 ms +/- 20 % jitter
        assert 0.016 <= retries[1]["delay_s"] <= 0.024  # doubled


class TestEvidenceFromRetries:
    async def test_a_spent_budget_after_real_failures_keeps_the_fail_and_its_evidence(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """Two 503s then no budget: the result is fail with the 503's evidence, never error."""
        target.set_faults(status=503, path_prefix="/health")
        extra = "rate_limit: {hosts: {127.0.0.1: {limit: 20, window: 1m}}, max_wait: 1s}\n"
        checks = "- name: h\n  kind: http\n  url: ${TARGET}/health\n"
        async with runtime_for(tmp_path, checks, served.url, log, extra) as rt:
            (run,) = await rt.run_once()
        assert run.status is Status.FAIL
        assert run.result.details["status_code"] == 503
        assert any(not a.passed for a in run.result.assertions)
        assert "budget" in str(run.result.details["retry_skipped"])
        assert target.stats.request_count("/health", "GET") == 2

    async def test_retries_that_would_overrun_the_run_cap_are_skipped(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """With interval 1s (cap 0.8 s) and timeout 300ms, a third attempt never starts."""
        checks = (
            "- name: slow\n  kind: http\n  url: ${TARGET}/delay?ms=3000\n"
            "  interval: 1s\n  timeout: 300ms\n"
        )
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            (run,) = await rt.run_once()
        assert run.status is Status.FAIL
        assert run.attempts <= 2
        assert "timed out" in run.result.message
        assert str(run.result.details["retry_skipped"]).startswith("run cap")

    async def test_probe_time_wall_time_and_waiting_are_kept_apart(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """duration_ms is the last attempt's probe time; backoff shows in wait_ms and wall_ms."""
        target.set_faults(status=503, path_prefix="/health")
        checks = (
            "- name: h\n  kind: http\n  url: ${TARGET}/health\n"
            "  backoff: {initial: 300ms, max: 300ms, jitter: 0}\n"
        )
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            (run,) = await rt.run_once()
        assert run.attempts == 3
        assert run.wait_ms >= 600
        assert run.wall_ms >= run.wait_ms + run.duration_ms
        assert run.duration_ms < 600
        record = run.to_record()
        assert (record.wall_ms, record.wait_ms) == (run.wall_ms, run.wait_ms)


FLOW = """\
- name: login
  kind: flow
  steps:
    - name: login
      method: POST
      allow_write: true
      url: ${TARGET}/api/auth/login
      json: {email: EMAIL, password: PASSWORD}
      expect: {status: [200]}
      capture: {token: {json: $.access_token}}
  cleanup:
    - name: logout
      method: POST
      allow_write: true
      url: ${TARGET}/api/auth/logout
      headers: {Authorization: "Bearer {{ token }}"}
      expect: {status: [204]}
""".replace("EMAIL", DEFAULT_EMAIL).replace("PASSWORD", DEFAULT_PASSWORD)


class TestCleanup:
    async def test_a_failing_logout_is_retried_then_reported_and_counted_not_failed(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """A logout answering 503 is retried under retry_on; the check passes, cleanup counted."""
        target.set_faults(status=503, path_prefix="/api/auth/logout")
        async with runtime_for(tmp_path, FLOW, served.url, log) as rt:
            (run,) = await rt.run_once()
            metrics = generate_latest(rt.registry).decode()
        assert (run.status, run.attempts) == (Status.PASS, 3)
        assert target.stats.request_count("/api/auth/logout", "POST") == 3
        cleanup = run.result.details["cleanup"]
        assert isinstance(cleanup, dict)
        assert (cleanup["ok"], cleanup["status_code"]) == (False, 503)
        assert 'smoke_test_cleanup_failures_total{check="login",region="test"} 1.0' in metrics

    async def test_a_logout_failure_outside_retry_on_is_not_retried(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState, log: io.StringIO
    ) -> None:
        """With retry_on: [connection] a logout 503 is final: one attempt, still a pass."""
        target.set_faults(status=503, path_prefix="/api/auth/logout")
        checks = FLOW + "  retry_on: [connection]\n"
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            (run,) = await rt.run_once()
        assert (run.status, run.attempts) == (Status.PASS, 1)


class CrashingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = "crash"


class CrashingProbe:
    """A probe with a bug, to show the runner contains it (no real probe crashes on purpose)."""

    kind = "crash"
    spec_model = CrashingSpec

    async def run(self, spec: CrashingSpec, ctx: ProbeContext) -> ProbeResult:
        raise ZeroDivisionError("secret-token-value leaked in a bug")


class TestContainment:
    async def test_an_exception_escaping_a_probe_becomes_an_error_result(
        self, tmp_path: Path, served: DemoTargetThread, log: io.StringIO
    ) -> None:
        """A probe bug is an 'error' result with a redacted message, never a crash or a retry.

        The crashing probe is a test double: the real probes have no bug to trigger.
        """
        checks = (
            "- name: h\n  kind: http\n  url: ${TARGET}/health\n"
            "  headers: {Authorization: 'Bearer ${API_TOKEN}'}\n"
        )
        async with runtime_for(tmp_path, checks, served.url, log) as rt:
            probes: dict[str, Any] = {**PROBES, "http": CrashingProbe()}
            rt.runner.probes = probes
            (run,) = await rt.run_once()
        assert (run.status, run.attempts) == (Status.ERROR, 1)
        assert run.result.message == "probe error: ZeroDivisionError: *** leaked in a bug"
        assert "secret-token-value" not in log.getvalue()

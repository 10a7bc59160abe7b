"""Specification of failure reasons: every real fault gives a ``fail`` or ``error`` its one reason.

Each row runs a real check through the real Runtime (runner, probe, redaction) against
a real server on 127.0.0.1: the demo target, the test servers of this package, or a
port nothing listens on.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.runtime.runtime import Runtime
from probes import PROBES
from probes.base import ProbeContext, ProbeResult, Status
from probes.reasons import FailureReason
from tests.probes.conftest import LiveServer

R = FailureReason


def _runtime(tmp_path: Path, check: str, *, extra: str = "", timeout: str = "2s") -> Runtime:
    text = (
        f"{extra}defaults: {{retries: 0, timeout: {timeout}}}\nalert_rules: null\nchecks:\n"
        + textwrap.indent(textwrap.dedent(check), "  ")
    )
    path = tmp_path / "smokewatch.yaml"
    path.write_text(text)
    loaded = load_config(path, env={})
    return Runtime(loaded, region="test", use_store=False, log_stream=io.StringIO(), env={})


class Urls:
    """Where each row's check points: the demo target, the TLS test server, a closed port."""

    def __init__(self, demo: str, tls: str, closed_port: int) -> None:
        self.demo, self.tls, self.closed = demo, tls, f"http://127.0.0.1:{closed_port}"
        self.ws = demo.replace("http://", "ws://")


# fault -> (target faults, check YAML from the URLs, status, reason, words in the message)
FAULTS: dict[str, tuple[dict[str, Any], Callable[[Urls], str], Status, R, str]] = {
    "unresolvable name": (
        {},
        lambda u: "url: http://smokewatch-reasons.invalid/health",
        Status.FAIL,
        R.DNS,
        "DNS lookup failed",
    ),
    "refused connection": (
        {},
        lambda u: f"url: {u.closed}/health",
        Status.FAIL,
        R.CONNECT,
        "connection refused",
    ),
    "connection dropped without an answer": (
        {"down": True},
        lambda u: f"url: {u.demo}/health",
        Status.FAIL,
        R.CONNECT,
        "",
    ),
    "untrusted certificate": (
        {},
        lambda u: f"url: {u.tls}/health",
        Status.FAIL,
        R.TLS,
        "TLS certificate not trusted",
    ),
    "hung response": (
        {},
        lambda u: f"url: {u.demo}/delay?ms=3000\ntimeout: 300ms",
        Status.FAIL,
        R.TIMEOUT,
        "timed out",
    ),
    "503": (
        {"status": 503},
        lambda u: f"url: {u.demo}/health",
        Status.FAIL,
        R.HTTP_STATUS,
        "status: expected 2xx, got 503",
    ),
    "missing header": (
        {},
        lambda u: f"url: {u.demo}/health\nexpect: {{headers: [{{name: X-Absent, present: true}}]}}",
        Status.FAIL,
        R.ASSERTION,
        "header X-Absent",
    ),
    "HTML where JSON was expected": (
        {},
        lambda u: f"url: {u.demo}/\nexpect: {{json: [{{path: $.status, equals: ok}}]}}",
        Status.FAIL,
        R.SCHEMA,
        "json body: expected valid JSON",
    ),
    "wrong JSON value": (
        {"wrong_json": True},
        lambda u: f"url: {u.demo}/health\nexpect: {{json: [{{path: $.status, equals: ok}}]}}",
        Status.FAIL,
        R.CONTENT,
        "json $.status",
    ),
    "body without the expected text": (
        {},
        lambda u: f"url: {u.demo}/health\nexpect: {{body_matches: no-such-text}}",
        Status.FAIL,
        R.CONTENT,
        "body: expected matches",
    ),
    "slower than the fail budget": (
        {},
        lambda u: f"url: {u.demo}/delay?ms=300\nexpect: {{response_time: {{fail_ms: 100}}}}",
        Status.FAIL,
        R.LATENCY,
        "response time: expected <= 100 ms",
    ),
    "websocket upgrade refused": (
        {},
        lambda u: f"kind: websocket\nurl: {u.ws}/health",
        Status.FAIL,
        R.HANDSHAKE,
        "handshake failed",
    ),
    "websocket to a closed port": (
        {},
        lambda u: f"kind: websocket\nurl: {u.closed.replace('http', 'ws')}/ws/echo",
        Status.FAIL,
        R.CONNECT,
        "connection failed",
    ),
    "flow step refused": (
        {},
        lambda u: f"kind: flow\nsteps:\n  - {{name: first, url: '{u.closed}/health'}}",
        Status.FAIL,
        R.CONNECT,
        "step 'first': connection refused",
    ),
    "flow step answering 503": (
        {"status": 503},
        lambda u: f"kind: flow\nsteps:\n  - {{name: first, url: '{u.demo}/health'}}",
        Status.FAIL,
        R.HTTP_STATUS,
        "first: status",
    ),
}


class TestReasonsOfRealFaults:
    @pytest.mark.parametrize(
        ("faults", "check", "status", "reason", "words"), list(FAULTS.values()), ids=list(FAULTS)
    )
    async def test_each_fault_gives_its_reason(
        self,
        tmp_path: Path,
        served: DemoTargetThread,
        target: TargetState,
        tls_server: LiveServer,
        closed_port: int,
        faults: dict[str, Any],
        check: Callable[[Urls], str],
        status: Status,
        reason: FailureReason,
        words: str,
    ) -> None:
        """The runner's final result names the fault's reason, in the record and the JSON too."""
        target.set_faults(**faults)
        urls = Urls(served.url, tls_server.base, closed_port)
        spec = "- name: c\n" + textwrap.indent(check(urls), "  ")
        if "kind:" not in spec:
            spec += "\n  kind: http"
        async with _runtime(tmp_path, spec + "\n") as rt:
            (run,) = await rt.run_once()
        assert (run.status, run.result.reason) == (status, reason), run.result.message
        assert words in run.result.message
        assert run.to_record().reason is reason

    async def test_a_passing_check_has_no_reason(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState
    ) -> None:
        """``pass`` and ``degraded`` carry no reason."""
        check = (
            f"- name: c\n  kind: http\n  url: {served.url}/delay?ms=150\n"
            "  expect: {response_time: {degraded_ms: 50}}\n"
        )
        async with _runtime(tmp_path, check) as rt:
            (run,) = await rt.run_once()
        assert run.status is Status.DEGRADED
        assert run.result.reason is None


class TestMonitorSideReasons:
    async def test_a_spent_request_budget_is_an_error_with_reason_budget(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState
    ) -> None:
        """A host budget of 1 request an hour: the second run is ``error``/``budget``, not sent."""
        extra = (
            "rate_limit: {max_wait: 1s, fraction: 1.0, "
            f"hosts: {{'{served.url}': {{limit: 1, window: 1h}}}}}}\n"
        )
        check = f"- name: c\n  kind: http\n  url: {served.url}/health\n"
        async with _runtime(tmp_path, check, extra=extra) as rt:
            (first,) = await rt.run_once()
            (second,) = await rt.run_once()
        assert (first.status, first.result.reason) == (Status.PASS, None)
        assert (second.status, second.result.reason) == (Status.ERROR, R.BUDGET)
        assert "request budget" in second.result.message
        assert target.stats.request_count("/health", "GET") == 1

    async def test_an_exception_escaping_a_probe_is_an_error_with_reason_internal(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState
    ) -> None:
        """A probe bug becomes ``error``/``internal``.

        Mocked part: the broken probe (no real probe has a known bug to trigger); the
        runner, config and target are real.
        """

        class BrokenProbe:
            kind = "http"
            spec_model = PROBES["http"].spec_model

            async def run(self, spec: Any, ctx: ProbeContext) -> ProbeResult:
                raise KeyError("a bug")

        check = f"- name: c\n  kind: http\n  url: {served.url}/health\n"
        async with _runtime(tmp_path, check) as rt:
            rt.runner.probes = {"http": BrokenProbe()}
            (run,) = await rt.run_once()
        assert (run.status, run.result.reason) == (Status.ERROR, R.INTERNAL)
        assert run.result.message.startswith("probe error: KeyError")

    async def test_a_kind_without_a_probe_is_an_error_with_reason_config(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState
    ) -> None:
        """A check whose kind has no registered probe is ``error``/``config``."""
        check = f"- name: c\n  kind: http\n  url: {served.url}/health\n"
        async with _runtime(tmp_path, check) as rt:
            rt.runner.probes = {}
            (run,) = await rt.run_once()
        assert (run.status, run.result.reason) == (Status.ERROR, R.CONFIG)


class TestTheSetIsDocumented:
    def test_every_reason_is_in_the_readme_table(self) -> None:
        """README's "Failure reasons" table lists every reason, and no other."""
        readme = (Path(__file__).parents[2] / "README.md").read_text()
        section = readme.split("### Failure reasons", 1)[1].split("\n#", 1)[0]
        rows = {
            line.split("|")[1].strip().strip("`")
            for line in section.splitlines()
            if line.startswith("| `")
        }
        assert rows == {r.value for r in FailureReason}

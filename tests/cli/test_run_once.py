"""Specifications of ``smokewatch run --once``: results, exit codes, retries, JUnit, storage."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import httpx

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, TargetState
from tests.cli.conftest import Completed

HEALTHY = """\
- name: health
  kind: http
  url: ${TARGET}/health
  expect:
    json: [{path: $.status, equals: healthy}]
- name: api-status
  kind: http
  url: ${TARGET}/api/v1/status
  expect:
    json:
      - {path: $.status, equals: healthy}
      - {path: $.services.database, equals: healthy}
- name: api-test
  kind: http
  url: ${TARGET}/api/v1/test
  expect:
    headers: [{name: X-RateLimit-Limit, present: true}]
    response_time: {degraded_ms: 2000, fail_ms: 5000}
- name: login
  kind: flow
  steps:
    - name: login
      method: POST
      allow_write: true
      url: ${TARGET}/api/auth/login
      json: {email: smoke-test-basic@example.com, password: "${SMOKE_TEST_PASSWORD}"}
      capture: {token: {json: $.access_token}}
    - name: profile
      url: ${TARGET}/api/user/profile
      headers: {Authorization: "Bearer {{ token }}"}
  cleanup:
    - name: logout
      method: POST
      allow_write: true
      url: ${TARGET}/api/auth/logout
      headers: {Authorization: "Bearer {{ token }}"}
- name: echo
  kind: websocket
  url: ${TARGET_WS}/ws/echo
  send: ping-123
  expect: {contains: ping-123}
"""

Run = Callable[..., Completed]
PASSWORD_ENV = {"SMOKE_TEST_PASSWORD": DEFAULT_PASSWORD}


def results(completed: Completed) -> dict[str, dict[str, object]]:
    return {r["check"]: r for r in json.loads(completed.stdout)}


class TestRunOnce:
    def test_a_healthy_target_passes_with_exit_0(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """Every spec flow against a healthy target passes, and the run exits 0."""
        config = write_config(HEALTHY)
        done = smokewatch("run", "--once", "--json", "--config", str(config), env=PASSWORD_ENV)
        assert done.code == 0, done.stderr
        assert {name: r["status"] for name, r in results(done).items()} == {
            "health": "pass",
            "api-status": "pass",
            "api-test": "pass",
            "login": "pass",
            "echo": "pass",
        }
        assert target.sessions.active == {}
        assert len(target.sessions.ended) == 1

    def test_every_result_is_stored(
        self,
        smokewatch: Run,
        write_config: Callable[[str], Path],
        tmp_path: Path,
        target: TargetState,
    ) -> None:
        """Each check's result lands in the SQLite store with its region and attempts."""
        config = write_config(HEALTHY)
        done = smokewatch(
            "run", "--once", "--config", str(config), "--region", "eu-west-1", env=PASSWORD_ENV
        )
        assert done.code == 0, done.stderr
        with sqlite3.connect(tmp_path / "results.db") as db:
            rows = db.execute('SELECT "check", region, status, attempts FROM results').fetchall()
        assert sorted(rows) == sorted(
            (name, "eu-west-1", "pass", 1)
            for name in ("health", "api-status", "api-test", "login", "echo")
        )

    def test_a_5xx_is_retried_and_fails_with_exit_1(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """A 503 is transient: 1 try + 2 retries reach the target, then the check fails."""
        target.set_faults(status=503, path_prefix="/api/v1/status")
        done = smokewatch(
            "run", "--once", "--json", "--config", str(write_config(HEALTHY)), env=PASSWORD_ENV
        )
        assert done.code == 1
        status = results(done)["api-status"]
        assert (status["status"], status["attempts"], status["reason"]) == (
            "fail",
            3,
            "http_status",
        )
        assert results(done)["health"]["reason"] is None
        assert target.stats.request_count("/api/v1/status", "GET") == 3
        assert target.stats.request_count("/health", "GET") == 1

    def test_a_spent_rate_budget_after_503s_is_a_fail_with_exit_1(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """Issue 11 #1: two 503s then no budget is fail with the 503's evidence, exit 1."""
        target.set_faults(status=503, path_prefix="/health")
        path = write_config("- name: h\n  kind: http\n  url: ${TARGET}/health\n")
        limits = "rate_limit: {hosts: {127.0.0.1: {limit: 20, window: 1m}}, max_wait: 1s}\n"
        path.write_text(limits + path.read_text())
        done = smokewatch("run", "--once", "--json", "--config", str(path), env=PASSWORD_ENV)
        assert done.code == 1
        result = results(done)["h"]
        assert result["status"] == "fail"
        assert result["assertions"]
        details = result["details"]
        assert isinstance(details, dict)
        assert details["status_code"] == 503
        assert "budget" in details["retry_skipped"]
        assert {"duration_ms", "wall_ms", "wait_ms"} <= set(result)

    def test_an_assertion_failing_on_a_200_is_not_retried(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """Wrong JSON on a 200 is the target's answer, not a blip: exactly one request."""
        target.set_faults(wrong_json=True, path_prefix="/api/v1/status")
        done = smokewatch(
            "run", "--once", "--json", "--config", str(write_config(HEALTHY)), env=PASSWORD_ENV
        )
        assert done.code == 1
        status = results(done)["api-status"]
        assert status["attempts"] == 1
        assert "$.status" in str(status["message"])
        assert target.stats.request_count("/api/v1/status", "GET") == 1

    def test_a_flaky_endpoint_recovers_on_retry(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """With 50 % of requests failing (seed 7: fail, then pass), the retry passes: exit 0."""
        target.set_faults(flaky_percent=50, flaky_seed=7, path_prefix="/health")
        done = smokewatch(
            "run", "--once", "--json", "--config", str(write_config(HEALTHY)), env=PASSWORD_ENV
        )
        assert done.code == 0, done.stdout
        assert results(done)["health"]["attempts"] == 2
        assert target.stats.request_count("/health", "GET") == 2

    def test_a_down_target_fails_and_writes_junit(
        self,
        smokewatch: Run,
        write_config: Callable[[str], Path],
        target: TargetState,
        tmp_path: Path,
    ) -> None:
        """A closed port fails every HTTP check; JUnit XML records each failure for CI."""
        config = write_config(HEALTHY.replace("${TARGET}", "http://127.0.0.1:9"))
        report = tmp_path / "junit.xml"
        done = smokewatch(
            "run", "--once", "--config", str(config), "--junit", str(report), env=PASSWORD_ENV
        )
        assert done.code == 1
        suite = ET.parse(report).getroot().find("testsuite")
        assert suite is not None
        assert suite.get("tests") == "5"
        failed = {case.get("name") for case in suite if case.find("failure") is not None}
        assert failed == {"health", "api-status", "api-test", "login"}
        types = {f.get("type") for f in suite.iter("failure")}
        assert types == {"connect"}

    def test_requests_carry_the_synthetic_traffic_headers(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """Every request says it is synthetic, so the target can leave it out of analytics."""
        done = smokewatch("run", "--once", "--config", str(write_config(HEALTHY)), env=PASSWORD_ENV)
        assert done.code == 0, done.stderr
        received = sum(n for methods in target.stats.requests.values() for n in methods.values())
        assert target.stats.synthetic_requests == received > 0


class TestSecrets:
    def test_a_secret_header_is_sent_with_its_real_value(
        self, smokewatch: Run, write_config: Callable[[str], Path], served_url: str
    ) -> None:
        """A SecretStr header reaches the server as the real token, not '**********'."""
        token = httpx.post(
            f"{served_url}/api/auth/login",
            json={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD},
        ).json()["access_token"]
        config = write_config(
            """\
            - name: profile
              kind: http
              url: ${TARGET}/api/user/profile
              headers: {Authorization: "Bearer ${API_TOKEN}"}
              expect:
                json: [{path: $.email, equals: smoke-test-basic@example.com}]
            """
        )
        done = smokewatch("check", "profile", "--config", str(config), env={"API_TOKEN": token})
        assert done.code == 0, done.stdout + done.stderr
        assert token not in done.stdout + done.stderr

    def test_a_secret_never_reaches_output_logs_or_store(
        self,
        smokewatch: Run,
        write_config: Callable[[str], Path],
        target: TargetState,
        tmp_path: Path,
    ) -> None:
        """A token in a URL path and a wrong password appear nowhere smokewatch writes."""
        secret_token = "tok-Zq8vL2mN4pR7"
        wrong_password = "pw-Xy9Kd3Jf6Hs1"
        config = write_config(
            """\
            - name: leaky
              kind: http
              url: ${TARGET}/api/v1/items/${API_TOKEN}
            - name: login
              kind: flow
              steps:
                - name: login
                  method: POST
                  allow_write: true
                  url: ${TARGET}/api/auth/login
                  json: {email: smoke-test-basic@example.com, password: "${SMOKE_TEST_PASSWORD}"}
                  expect: {body_matches: "${SMOKE_TEST_PASSWORD}"}
            """
        )
        env = {"API_TOKEN": secret_token, "SMOKE_TEST_PASSWORD": wrong_password}
        done = smokewatch("run", "--once", "--json", "--config", str(config), env=env)
        assert done.code == 1
        stored = (tmp_path / "results.db").read_bytes()
        for secret in (secret_token, wrong_password):
            assert secret not in done.stdout
            assert secret not in done.stderr
            assert secret.encode() not in stored
        assert "***" in done.stdout

"""Specifications of the flow probe (probes.flow) against the real demo target."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, DemoTargetThread, TargetState
from probes.base import ProbeContext, ProbeResult, Status
from probes.flow import MASK, PROBE, FlowSpec
from tests.probes.conftest import LiveServer

LOGIN = "/api/auth/login"
PROFILE = "/api/user/profile"
LOGOUT = "/api/auth/logout"
BEARER = {"Authorization": "Bearer {{ token }}"}


@pytest.fixture
def base(served: DemoTargetThread, target: TargetState) -> str:
    return served.url


def login_step(base: str, **fields: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": "login",
        "method": "POST",
        "allow_write": True,
        "url": base + LOGIN,
        "json": {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD},
        "expect": {"status": [200]},
        "capture": {"token": {"json": "$.access_token"}},
    }
    return step | fields


def profile_step(base: str, email: str = DEFAULT_EMAIL, **fields: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": "profile",
        "url": base + PROFILE,
        "headers": BEARER,
        "expect": {"status": [200], "json": [{"path": "$.email", "equals": email}]},
    }
    return step | fields


def logout_step(base: str, **fields: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": "logout",
        "method": "POST",
        "allow_write": True,
        "url": base + LOGOUT,
        "headers": BEARER,
        "expect": {"status": [204]},
    }
    return step | fields


def login_flow(
    base: str,
    *,
    login: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
    logout: dict[str, Any] | None = None,
) -> FlowSpec:
    """The spec's API login: log in, read the profile, log out in cleanup."""
    return FlowSpec.model_validate(
        {
            "kind": "flow",
            "steps": [login or login_step(base), profile or profile_step(base)],
            "cleanup": [logout or logout_step(base)],
        }
    )


def sessions(state: TargetState) -> tuple[int, int, int]:
    """(logins, logouts, active sessions) as the target counts them."""
    store = state.sessions
    return store.opened, len(store.ended), len(store.active)


def step_reports(result: ProbeResult) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in result.details["steps"]}


class TestFlowSpec:
    def test_loads_the_login_flow(self) -> None:
        """The documented login flow validates, with its writes explicit and its capture known."""
        spec = login_flow("http://example.com")
        assert [s.name for s in spec.steps] == ["login", "profile"]
        assert [s.name for s in spec.cleanup] == ["logout"]
        assert spec.steps[0].allow_write
        assert spec.steps[1].placeholders() == {"token"}

    @pytest.mark.parametrize(
        ("where", "method"),
        [
            ("steps", "POST"),
            ("steps", "PUT"),
            ("steps", "PATCH"),
            ("steps", "DELETE"),
            ("cleanup", "POST"),
            ("cleanup", "DELETE"),
        ],
        ids=["post", "put", "patch", "delete", "cleanup-post", "cleanup-delete"],
    )
    def test_a_write_without_allow_write_is_rejected(self, where: str, method: str) -> None:
        """A step that may write must say allow_write: true; the error names the step."""
        write = {"name": "change-it", "method": method, "url": "http://example.com/x"}
        read = {"name": "read", "url": "http://example.com/y"}
        config = {"steps": [read], "cleanup": []} | {where: [write]}
        with pytest.raises(ValidationError, match=rf"step 'change-it' uses {method}"):
            FlowSpec.model_validate(config)

    @pytest.mark.parametrize("method", ["GET", "HEAD"], ids=["get", "head"])
    def test_reads_need_no_allow_write(self, method: str) -> None:
        """GET and HEAD steps are read-only and validate without allow_write."""
        spec = FlowSpec.model_validate(
            {"steps": [{"name": "read", "method": method, "url": "http://example.com/"}]}
        )
        assert spec.steps[0].allow_write is False

    @pytest.mark.parametrize(
        ("steps", "cleanup", "named"),
        [
            ([{"name": "a", "url": "http://x/{{ token }}"}], [], "step 'a'"),
            ([{"name": "a", "url": "http://x/", "headers": BEARER}], [], "step 'a'"),
            (
                [
                    {
                        "name": "a",
                        "method": "POST",
                        "allow_write": True,
                        "url": "http://x/",
                        "json": {"nested": ["{{token}}"]},
                    }
                ],
                [],
                "step 'a'",
            ),
            (
                [
                    {
                        "name": "a",
                        "method": "POST",
                        "allow_write": True,
                        "url": "http://x/",
                        "form": {"t": "{{ token }}"},
                    }
                ],
                [],
                "step 'a'",
            ),
            (
                [
                    {
                        "name": "a",
                        "url": "http://x/{{ token }}",
                        "capture": {"token": {"json": "$.t"}},
                    }
                ],
                [],
                "step 'a'",
            ),
            (
                [{"name": "a", "url": "http://x/"}, {"name": "b", "url": "http://x/{{ token }}"}],
                [],
                "step 'b'",
            ),
            (
                [{"name": "a", "url": "http://x/"}],
                [{"name": "c", "url": "http://x/{{ token }}"}],
                "'c'",
            ),
        ],
        ids=[
            "in-url",
            "in-header",
            "in-json",
            "in-form",
            "captured-by-the-same-step",
            "captured-by-no-step",
            "in-cleanup",
        ],
    )
    def test_a_placeholder_used_before_its_capture_is_rejected(
        self, steps: list[dict[str, Any]], cleanup: list[dict[str, Any]], named: str
    ) -> None:
        """Every placeholder must be captured by an earlier step; the error names the step."""
        with pytest.raises(ValidationError, match=rf"{named} uses \['token'\]"):
            FlowSpec.model_validate({"steps": steps, "cleanup": cleanup})

    @pytest.mark.parametrize(
        ("steps", "cleanup"),
        [
            ([{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://x/"}], []),
            ([{"name": "a", "url": "http://x/"}], [{"name": "a", "url": "http://x/"}]),
        ],
        ids=["two-steps", "step-and-cleanup"],
    )
    def test_a_step_name_used_twice_is_rejected(
        self, steps: list[dict[str, Any]], cleanup: list[dict[str, Any]]
    ) -> None:
        """Step names identify steps in results and timings, so each is used once."""
        with pytest.raises(ValidationError, match="step name 'a' is used twice"):
            FlowSpec.model_validate({"steps": steps, "cleanup": cleanup})

    @pytest.mark.parametrize(
        "capture",
        [{}, {"json": "$.a", "header": "X-A"}, {"json": "$[?"}],
        ids=["neither", "both", "bad-json-path"],
    )
    def test_a_capture_takes_one_valid_source(self, capture: dict[str, str]) -> None:
        """A capture names exactly one of a JSON path or a header, and the path must parse."""
        step = {"name": "a", "url": "http://x/", "capture": {"v": capture}}
        with pytest.raises(ValidationError, match=r"capture|JSON path"):
            FlowSpec.model_validate({"steps": [step]})


class TestFlowRun:
    async def test_the_login_flow_passes_and_leaves_no_session(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """Login, profile, logout passes; the target saw one login, one logout, no open session."""
        result = await PROBE.run(login_flow(base), ctx)
        assert (result.status, result.message) == (Status.PASS, "ok")
        assert sessions(target) == (1, 1, 0)
        stats = target.stats
        assert stats.request_count(LOGIN, "POST") == 1
        assert stats.request_count(PROFILE, "GET") == 1
        assert stats.request_count(LOGOUT, "POST") == 1
        assert stats.synthetic_requests == 3
        reports = result.details["steps"]
        assert [(r["name"], r["status_code"], r["ok"]) for r in reports] == [
            ("login", 200, True),
            ("profile", 200, True),
            ("logout", 204, True),
        ]
        assert {"step:login", "step:profile", "step:logout", "total"} <= set(result.timings)

    @pytest.mark.parametrize(
        ("email", "fault", "named", "transient"),
        [
            ("someone-else@example.com", None, "profile: json $.email", False),
            (DEFAULT_EMAIL, 500, "profile: status", True),
            (DEFAULT_EMAIL, 503, "profile: status", True),
            (DEFAULT_EMAIL, 429, "profile: status", True),
            (DEFAULT_EMAIL, 404, "profile: status", False),
        ],
        ids=["wrong-email-on-200", "fault-500", "fault-503", "fault-429", "fault-404"],
    )
    async def test_logout_runs_when_a_middle_step_fails(
        self,
        base: str,
        target: TargetState,
        ctx: ProbeContext,
        email: str,
        fault: int | None,
        named: str,
        transient: bool,
    ) -> None:
        """A failing profile fails the check, logout is still sent; 5xx and 429 are transient."""
        if fault is not None:
            target.set_faults(status=fault, path_prefix=PROFILE)
        result = await PROBE.run(login_flow(base, profile=profile_step(base, email)), ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith(named)
        assert result.transient is transient
        assert sessions(target) == (1, 1, 0)
        assert step_reports(result)["logout"]["ok"] is True

    async def test_a_failed_login_skips_cleanup(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """A wrong password (401) fails naming the login; with no token the logout is skipped."""
        login = login_step(base, json={"email": DEFAULT_EMAIL, "password": "wrong-password"})
        result = await PROBE.run(login_flow(base, login=login), ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith("login: status: expected 200, got 401")
        assert result.transient is False
        reports = step_reports(result)
        assert reports["login"] == reports["login"] | {"status_code": 401, "ok": False}
        assert "profile" not in reports
        assert reports["logout"] == {"name": "logout", "skipped": "not captured: ['token']"}
        assert target.stats.failed_logins == 1
        assert target.stats.request_count(PROFILE) == 0
        assert target.stats.request_count(LOGOUT) == 0

    async def test_a_failing_cleanup_is_reported_but_does_not_fail_the_check(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """A logout answering 500 leaves the journey's pass, with details.cleanup saying why."""
        target.set_faults(status=500, path_prefix=LOGOUT)
        result = await PROBE.run(login_flow(base), ctx)
        assert result.status is Status.PASS
        assert "cleanup failed: logout: status" in result.message
        assert result.assertions == [
            o for o in result.assertions if not o.name.startswith("logout")
        ]
        cleanup = result.details["cleanup"]
        assert isinstance(cleanup, dict)
        assert cleanup == cleanup | {"ok": False, "step": "logout", "status_code": 500}
        assert sessions(target) == (1, 0, 1)

    @pytest.mark.parametrize(
        "login_expect",
        [
            {"status": [200]},
            {"status": [200], "json": [{"path": "$.access_token", "equals": "not-it"}]},
            {"status": [200], "body_matches": "^nothing-like-this$"},
        ],
        ids=["passing", "assertion-shows-the-token", "body-assertion-fails"],
    )
    async def test_the_captured_token_never_appears_in_the_result(
        self,
        base: str,
        target: TargetState,
        ctx: ProbeContext,
        login_expect: dict[str, Any],
    ) -> None:
        """The token the target issued is nowhere in the result: message, assertions, details."""
        result = await PROBE.run(login_flow(base, login=login_step(base, expect=login_expect)), ctx)
        [session] = target.sessions.ended
        assert len(session.token) >= 4
        assert session.token not in repr(result)
        assert session.token not in str(result.details)

    async def test_a_shown_token_is_masked(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """An assertion reading the token under a credential name shows only its length."""
        login = login_step(base, expect={"json": [{"path": "$.access_token", "equals": "not-it"}]})
        result = await PROBE.run(login_flow(base, login=login), ctx)
        assert result.status is Status.FAIL
        (session,) = [*target.sessions.active.values(), *target.sessions.ended]
        assert result.message == (
            "login: json $.access_token: expected equals 'not-it', "
            f"got <redacted, {len(session.token)} chars>"
        )

    async def test_a_long_captured_value_is_masked_even_when_clipped(
        self, server: LiveServer, ctx: ProbeContext
    ) -> None:
        """A captured value longer than a snippet is masked, not shown as a clipped prefix."""
        secret = "tok-" + "Zq8vL2mN4pR7" * 12
        step = {
            "name": "echo",
            "url": server.url("/echo"),
            # X-Ref: a name no credential rule knows; only the capture makes it a secret
            "headers": {"X-Ref": secret},
            "capture": {"ref": {"json": "$.headers['x-ref']"}},
            "expect": {"json": [{"path": "$.headers['x-ref']", "equals": "other"}]},
        }
        result = await PROBE.run(FlowSpec.model_validate({"steps": [step]}), ctx)
        assert result.status is Status.FAIL
        assert secret[:12] not in repr(result)
        assert MASK in result.message

    async def test_a_captured_header_fills_a_later_step(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """A value captured from a response header is substituted into the next step's URL."""
        spec = FlowSpec.model_validate(
            {
                "steps": [
                    {
                        "name": "limits",
                        "url": base + "/api/v1/test",
                        "capture": {"limit": {"header": "x-ratelimit-limit"}},
                    },
                    {
                        "name": "use-it",
                        "url": base + "/delay?ms={{ limit }}",
                        "expect": {"json": [{"path": "$.slept_ms", "equals": 100}]},
                    },
                ]
            }
        )
        result = await PROBE.run(spec, ctx)
        assert (result.status, result.message) == (Status.PASS, "ok")
        assert target.stats.request_count("/delay", "GET") == 1

    @pytest.mark.parametrize(
        ("capture", "named"),
        [
            ({"json": "$.user_id"}, "login: capture user: expected a value at json $.user_id"),
            ({"header": "X-User-Id"}, "login: capture user: expected a value at header X-User-Id"),
        ],
        ids=["json-path-not-found", "header-absent"],
    )
    async def test_a_capture_that_finds_nothing_fails_the_step(
        self,
        base: str,
        target: TargetState,
        ctx: ProbeContext,
        capture: dict[str, str],
        named: str,
    ) -> None:
        """A missing capture fails its step and stops the flow; cleanup uses what was captured."""
        login = login_step(base, capture={"token": {"json": "$.access_token"}, "user": capture})
        result = await PROBE.run(login_flow(base, login=login), ctx)
        assert result.status is Status.FAIL
        # What the response was, never its body (it holds the token just captured).
        assert result.message.startswith(f"{named}, got nothing in a 200 application/json")
        assert "access_token" not in result.message
        assert result.transient is False
        assert "profile" not in step_reports(result)
        assert target.stats.request_count(PROFILE) == 0
        assert sessions(target) == (1, 1, 0)

    async def test_an_empty_value_is_not_captured(
        self, server: LiveServer, ctx: ProbeContext
    ) -> None:
        """An empty string is nothing to use later, so capturing it fails the step."""
        step = {"name": "echo", "url": server.url("/echo"), "capture": {"v": {"json": "$.body"}}}
        result = await PROBE.run(FlowSpec.model_validate({"steps": [step]}), ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith(
            "echo: capture v: expected a value at json $.body, got nothing in a 200"
        )

    async def test_a_refused_connection_fails_the_step_as_transient(
        self, base: str, target: TargetState, ctx: ProbeContext, closed_port: int
    ) -> None:
        """A step whose host refuses the connection fails the check, transient, naming the step."""
        profile = profile_step(f"http://127.0.0.1:{closed_port}")
        result = await PROBE.run(login_flow(base, profile=profile), ctx)
        assert result.status is Status.FAIL
        assert result.message == "step 'profile': connection refused"
        assert result.transient is True
        assert step_reports(result)["profile"]["error"] == result.message
        assert sessions(target) == (1, 1, 0)

    async def test_the_message_names_the_first_failure(
        self, base: str, target: TargetState, ctx: ProbeContext, closed_port: int
    ) -> None:
        """When the profile fails and then the logout gets no response, the profile is named."""
        profile = profile_step(base, "someone-else@example.com")
        logout = logout_step(f"http://127.0.0.1:{closed_port}")
        result = await PROBE.run(login_flow(base, profile=profile, logout=logout), ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith("profile: json $.email")
        assert step_reports(result)["logout"]["error"] == "step 'logout': connection refused"

    async def test_a_degraded_step_does_not_stop_the_flow(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """A step over its degraded budget still worked: later steps run, the result degrades."""
        login = login_step(base, expect={"status": [200], "response_time": {"degraded_ms": 0.001}})
        result = await PROBE.run(login_flow(base, login=login), ctx)
        assert result.status is Status.DEGRADED
        assert result.message.startswith("login: response time: expected <= 0.001 ms, got ")
        assert [r["ok"] for r in result.details["steps"]] == [True, True, True]
        assert target.stats.request_count(PROFILE, "GET") == 1
        assert sessions(target) == (1, 1, 0)

    async def test_a_request_error_outranks_a_degraded_step(
        self, base: str, target: TargetState, ctx: ProbeContext, closed_port: int
    ) -> None:
        """A step that got no response fails the check, even after a merely degraded step."""
        login = login_step(base, expect={"response_time": {"degraded_ms": 0.001}})
        profile = profile_step(f"http://127.0.0.1:{closed_port}")
        result = await PROBE.run(login_flow(base, login=login, profile=profile), ctx)
        assert result.status is Status.FAIL
        assert result.message == "step 'profile': connection refused"

    async def test_a_retry_after_on_a_failing_step_is_reported(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """A 429 with Retry-After on a step tells the runner how long to back off."""
        target.limiter = dataclasses.replace(target.limiter, limit=0)
        spec = FlowSpec.model_validate({"steps": [{"name": "api", "url": base + "/api/v1/test"}]})
        result = await PROBE.run(spec, ctx)
        assert result.status is Status.FAIL
        assert result.transient is True
        assert result.retry_after_s is not None
        assert 0 < result.retry_after_s <= 60

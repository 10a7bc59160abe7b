"""Specification of the browser probe's login journey: the test account in, checked, out."""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx
import pytest

from examples.demo_target import DemoTargetThread, TargetState
from probes.base import Status
from probes.browser import PROBE
from probes.browser_pool import BrowserPool
from tests.support.browser import (
    PASSWORD,
    WRONG_PASSWORD,
    artifact_files,
    login_spec,
    probe_context,
    shown,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


class TestLogin:
    async def test_the_test_account_logs_in_and_straight_out(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """Login, the account page, then logout: pass, and the target saw one session end."""
        result = await PROBE.run(
            login_spec(served.url), probe_context(browser_client, browser_pool)
        )
        assert result.status is Status.PASS, result.message
        assert target.sessions.opened == 1
        assert [s.kind for s in target.sessions.ended] == ["cookie"]
        assert target.sessions.active == {}
        assert target.stats.unexpected_writes == {}
        assert result.details["allowed_writes"] == [
            {"method": "POST", "url": "/login"},
            {"method": "POST", "url": "/logout"},
        ]
        assert all(step["ok"] for step in result.details["steps"] + result.details["cleanup"])

    async def test_wrong_credentials_fail_at_the_redirect(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """A rejected login is a non-transient fail naming the step expecting the account page."""
        spec = login_spec(served.url, password=WRONG_PASSWORD)
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool))
        assert result.status is Status.FAIL
        assert result.message.startswith("step 4: expect_url /account$: expected a URL matching")
        assert "/login" in result.message
        assert not result.transient
        assert target.stats.failed_logins == 1
        assert target.sessions.opened == 0

    async def test_logout_runs_after_a_failed_post_login_step(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """A step failing after login still logs out: the target sees the session end."""
        missing = {"expect_visible": "#no-such-widget", "timeout_ms": 300}
        spec = login_spec(served.url, extra_steps=(missing,))
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool))
        assert result.status is Status.FAIL
        assert result.message.startswith("step 6: expect_visible #no-such-widget")
        assert len(target.sessions.ended) == 1
        assert target.sessions.active == {}
        assert [step["ok"] for step in result.details["cleanup"]] == [True, True, True]


class TestSecrets:
    @pytest.mark.parametrize(
        ("password", "extra"),
        [
            (WRONG_PASSWORD, ()),
            (PASSWORD, ({"expect_text": "#account-email", "text": "nobody", "timeout_ms": 300},)),
        ],
        ids=["wrong-password", "failed-step-after-login"],
    )
    async def test_the_password_is_nowhere_in_the_result_or_the_artifacts(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
        browser_artifacts: Path,
        password: str,
        extra: tuple[dict[str, str], ...],
    ) -> None:
        """Neither the result, nor artifact names, nor the trace's contents hold the password."""
        spec = login_spec(served.url, password=password, extra_steps=extra).model_copy(
            update={"trace_every_attempt": True}
        )
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool, name="login"))
        assert result.status is Status.FAIL
        assert password not in shown(result)
        assert result.artifacts, "a failed check keeps artifacts"
        assert all(password not in p.name for p in artifact_files(browser_artifacts))
        trace = next(Path(p) for p in result.artifacts if p.endswith(".zip"))
        with zipfile.ZipFile(trace) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                assert password.encode() not in data, name
                assert password.replace("-", "%2D").encode() not in data, name
        # the trace is still a trace: the login form post is in it, the value masked
        with zipfile.ZipFile(trace) as archive:
            assert b"***" in archive.read("trace.trace")

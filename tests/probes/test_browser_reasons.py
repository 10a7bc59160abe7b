"""Specification of browser failure reasons, each produced by a real fault in real Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.demo_target import DEFAULT_EMAIL, DemoTargetThread, TargetState
from probes.base import Status
from probes.browser import PROBE, BrowserSpec
from probes.browser_pool import BrowserPool
from probes.reasons import FailureReason
from tests.support.browser import PASSWORD, homepage_spec, probe_context

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
R = FailureReason


def _journey(base: str, steps: list[dict[str, Any]]) -> BrowserSpec:
    return BrowserSpec.model_validate(
        {"url": base + "/login", "step_timeout_ms": 1500, "steps": steps}
    )


# fault -> (target faults, spec from the base URL, reason)
FAULTS: dict[str, tuple[dict[str, Any], Callable[[str], BrowserSpec], FailureReason]] = {
    "console error": ({"console_error": True}, homepage_spec, R.CONSOLE_ERROR),
    "uncaught exception": ({"js_exception": True}, homepage_spec, R.PAGE_ERROR),
    "missing element": ({"missing_element": True}, homepage_spec, R.MISSING_ELEMENT),
    "a subresource answers 500": ({"subresource_500": True}, homepage_spec, R.FAILED_REQUEST),
    "503 on the document": ({"status": 503}, homepage_spec, R.HTTP_STATUS),
    "load over the fail budget": (
        {"slow_page_ms": 1600},
        lambda base: homepage_spec(base, budgets={"fail_ms": 1000}),
        R.LATENCY,
    ),
    "text not as expected": (
        {},
        lambda base: _journey(base, [{"expect_text": "h1", "text": "no such heading"}]),
        R.CONTENT,
    ),
    "a step's page hangs": (
        {},
        lambda base: _journey(base, [{"goto": "/delay?ms=4000", "timeout_ms": 500}]),
        R.TIMEOUT,
    ),
    "a step's element never appears": (
        {},
        lambda base: _journey(base, [{"click": "#no-such-button", "timeout_ms": 500}]),
        R.MISSING_ELEMENT,
    ),
}


class TestBrowserReasons:
    @pytest.mark.parametrize(("faults", "spec", "reason"), list(FAULTS.values()), ids=list(FAULTS))
    async def test_each_page_fault_gives_its_reason(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
        faults: dict[str, Any],
        spec: Callable[[str], BrowserSpec],
        reason: FailureReason,
    ) -> None:
        """Each fault of the demo target fails the check with the fault's reason."""
        target.set_faults(**faults)
        result = await PROBE.run(spec(served.url), probe_context(browser_client, browser_pool))
        assert (result.status, result.reason) == (Status.FAIL, reason), result.message

    @pytest.mark.parametrize(
        ("host", "reason"),
        [("smokewatch-reasons.invalid", R.DNS), ("127.0.0.1:{port}", R.CONNECT)],
        ids=["unresolvable name", "refused connection"],
    )
    async def test_an_unreachable_page_says_how_it_was_unreachable(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        closed_port: int,
        host: str,
        reason: FailureReason,
    ) -> None:
        """Chromium's net:: error becomes dns or connect."""
        spec = homepage_spec("http://" + host.format(port=closed_port))
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool))
        assert (result.status, result.reason) == (Status.FAIL, reason), result.message

    async def test_a_blocked_write_names_the_request_and_the_missing_allow_write(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """A login submitted without ``allow_write`` names the write to allow, not an error page."""
        spec = _journey(
            served.url,
            [
                {"fill": "#email", "value": DEFAULT_EMAIL},
                {"fill": "#password", "value": PASSWORD},
                {"click": "#login-submit"},
                {"expect_url": "/account$"},
            ],
        )
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool))
        assert (result.status, result.reason) == (Status.FAIL, R.BLOCKED_WRITE)
        assert result.message == (
            f'blocked POST {served.url}/login: add "POST /login" to allow_write'
        )
        assert "chrome-error" not in result.message
        assert target.stats.request_count("/login", "POST") == 0

    async def test_a_missing_browser_is_an_error_with_reason_browser_unavailable(
        self, tmp_path: Path, browser_client: httpx.AsyncClient
    ) -> None:
        """No Chromium at the configured path: ``error``/``browser_unavailable``."""
        async with BrowserPool(
            artifacts_dir=tmp_path, executable_path="/nonexistent/chromium"
        ) as pool:
            result = await PROBE.run(
                homepage_spec("http://127.0.0.1:9"), probe_context(browser_client, pool)
            )
        assert (result.status, result.reason) == (Status.ERROR, R.BROWSER_UNAVAILABLE)

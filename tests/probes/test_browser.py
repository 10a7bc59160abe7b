"""Specification of the browser probe's homepage check, in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.demo_target import DemoTargetThread, TargetState
from probes.base import Status
from probes.browser import PROBE
from probes.browser_pool import BrowserPool
from tests.support.browser import (
    artifact_files,
    homepage_spec,
    probe_context,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


class TestHealthyHomepage:
    async def test_a_healthy_homepage_passes_with_navigation_timings(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """The demo homepage loads, shows its parts, errs nowhere: pass, with TTFB to LCP timed."""
        result = await PROBE.run(
            homepage_spec(served.url), probe_context(browser_client, browser_pool)
        )
        assert result.status is Status.PASS, result.message
        assert result.message == "ok"
        assert {"ttfb", "dcl", "load", "lcp", "total"} <= set(result.timings)
        assert 0 < result.timings["ttfb"] <= result.timings["dcl"] <= result.timings["load"]
        assert result.details["console_errors"] == {"count": 0, "messages": []}
        assert result.details["status_code"] == 200
        assert not result.transient

    async def test_every_request_carries_the_synthetic_traffic_headers(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """The document and every subresource the page loads are marked as synthetic.

        How many subresources reach the target varies: one full run on a slow machine
        counted 4 requests where 5 or more are usual (which one was missing was not
        recorded; the message now lists them).  So this asserts the document and at
        least one subresource, and that every request counted was marked."""
        await PROBE.run(homepage_spec(served.url), probe_context(browser_client, browser_pool))
        requests = target.stats.requests
        total = sum(sum(by_method.values()) for by_method in requests.values())
        assert "/" in requests, requests
        assert len(requests) >= 2, requests  # the page and at least one of its subresources
        assert target.stats.synthetic_requests == total, requests

    async def test_an_ignored_console_error_does_not_count(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """A console error matching an ``ignore_console`` regex is not held against the page."""
        target.set_faults(console_error=True)
        spec = homepage_spec(served.url, ignore_console=["fault: console_error$"])
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool))
        assert result.status is Status.PASS, result.message


# fault -> (spec fields, status, words the message must contain, transient)
FAILURES: dict[str, tuple[dict[str, Any], dict[str, Any], Status, str, bool]] = {
    "console error": (
        {"console_error": True},
        {},
        Status.FAIL,
        "console errors: expected at most 0, got 1: demo target fault: console_error",
        False,
    ),
    "js exception": (
        {"js_exception": True},
        {},
        Status.FAIL,
        "page errors: expected at most 0, got 1: Error: demo target fault: js_exception",
        False,
    ),
    "missing element": (
        {"missing_element": True},
        {},
        Status.FAIL,
        "selector #content visible: expected visible within 1500 ms, got not found",
        False,
    ),
    "subresource 500": (
        {"subresource_500": True},
        {},
        Status.FAIL,
        "failed requests: expected at most 0, got",
        False,
    ),
    "slow load over the fail budget": (
        {"slow_page_ms": 1600},
        {"budgets": {"fail_ms": 1000}},
        Status.FAIL,
        "load time: expected at most 1000 ms, got no load event after",
        False,
    ),
    "slow load over the degraded budget": (
        {"slow_page_ms": 1200},
        {"budgets": {"degraded_ms": 1000, "fail_ms": 4000}},
        Status.DEGRADED,
        "load time (degraded): expected at most 1000 ms, got",
        False,
    ),
    "500 on the document": (
        {"status": 503, "path_prefix": "/"},
        {},
        Status.FAIL,
        "document status: expected < 400, got 503",
        True,
    ),
}


class TestFailureModes:
    @pytest.mark.parametrize(
        ("faults", "fields", "status", "message", "transient"),
        list(FAILURES.values()),
        ids=list(FAILURES),
    )
    async def test_each_fault_gives_its_status_and_message(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
        faults: dict[str, Any],
        fields: dict[str, Any],
        status: Status,
        message: str,
        transient: bool,
    ) -> None:
        """Each page fault of the demo target is caught, named in the message, with its status."""
        target.set_faults(**faults)
        result = await PROBE.run(
            homepage_spec(served.url, **fields), probe_context(browser_client, browser_pool)
        )
        assert result.status is status
        assert result.message.startswith(message), result.message
        assert result.transient is transient

    async def test_a_500_subresource_is_listed_by_path_and_status(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """Failed requests name the asset's path (no host, no query) and its status."""
        target.set_faults(subresource_500=True)
        result = await PROBE.run(
            homepage_spec(served.url), probe_context(browser_client, browser_pool)
        )
        failed = result.details["failed_requests"]
        assert {"method": "GET", "url": "/static/app.css", "status": 500} in failed["requests"]
        assert failed["count"] == len(failed["requests"])

    async def test_an_unreachable_target_fails_transiently(
        self, browser_pool: BrowserPool, browser_client: httpx.AsyncClient, closed_port: int
    ) -> None:
        """A refused connection is a transient failure, retried by the runner."""
        spec = homepage_spec(f"http://127.0.0.1:{closed_port}")
        result = await PROBE.run(spec, probe_context(browser_client, browser_pool))
        assert result.status is Status.FAIL
        assert "ERR_CONNECTION_REFUSED" in result.message
        assert result.transient
        assert result.details["cause"] == "connection"


class TestReadOnlyGuard:
    async def test_a_post_from_page_javascript_is_blocked_and_reported(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """The page's own POST never reaches the target; the result lists it as blocked."""
        target.set_faults(post_from_page=True)
        result = await PROBE.run(
            homepage_spec(served.url), probe_context(browser_client, browser_pool)
        )
        assert result.status is Status.PASS, result.message
        assert "blocked 1 write request" in result.message
        assert result.details["blocked_requests"] == {
            "count": 1,
            "requests": [{"method": "POST", "url": "/api/track"}],
        }
        assert target.stats.request_count("/api/track") == 0
        assert target.stats.unexpected_writes == {}


class TestArtifacts:
    async def test_a_failure_keeps_a_screenshot_and_a_trace(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
        browser_artifacts: Path,
    ) -> None:
        """A failed check tracing every attempt stores a PNG and a trace zip, named by check."""
        target.set_faults(js_exception=True)
        result = await PROBE.run(
            homepage_spec(served.url, trace_every_attempt=True),
            probe_context(browser_client, browser_pool, name="home"),
        )
        assert result.status is Status.FAIL
        paths = [Path(p) for p in result.artifacts]
        assert [p.suffix for p in paths] == [".png", ".zip"]
        assert all(p.parent == browser_artifacts and p.name.startswith("home-") for p in paths)
        assert paths[0].read_bytes().startswith(b"\x89PNG")
        assert paths[1].read_bytes().startswith(b"PK")

    async def test_the_attempt_after_a_failure_records_the_trace(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """A first failure keeps a screenshot and no trace, the next attempt the same verdict
        and a trace; a pass ends the tracing."""
        spec = homepage_spec(served.url)
        ctx = probe_context(browser_client, browser_pool, name="home-retried")
        suffixes, verdicts = [], []
        for faulty in (True, True, False, True):
            target.set_faults(missing_element=faulty)
            result = await PROBE.run(spec, ctx)
            suffixes.append([Path(p).suffix for p in result.artifacts])
            verdicts.append((result.status, result.message, result.reason))
        assert suffixes == [[".png"], [".png", ".zip"], [], [".png"]]
        assert verdicts[0] == verdicts[1] == verdicts[3]
        assert verdicts[0][0] is Status.FAIL
        assert verdicts[2][0] is Status.PASS

    async def test_a_pass_exports_nothing(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
        browser_artifacts: Path,
    ) -> None:
        """A passing check writes no file and lists no artifact."""
        before = artifact_files(browser_artifacts)
        result = await PROBE.run(
            homepage_spec(served.url), probe_context(browser_client, browser_pool)
        )
        assert result.status is Status.PASS
        assert result.artifacts == []
        assert artifact_files(browser_artifacts) == before

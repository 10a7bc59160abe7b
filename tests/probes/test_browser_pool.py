"""Specification of the browser pool: one Chromium reused, recycled, recovered, never a crash."""

from __future__ import annotations

import asyncio
import io
import textwrap
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.runtime.runtime import Runtime
from probes.base import Status
from probes.browser import PROBE
from probes.browser_pool import BrowserPool, find_chromium
from tests.support.browser import PASSWORD, homepage_spec, probe_context, started_pool

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


def browser_processes() -> list[psutil.Process]:
    """Chromium main processes started from this test process (children of the driver)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            parent = proc.parent()
            if "chrom" in proc.name() and parent is not None and "chrom" not in parent.name():
                found.append(proc)
        except psutil.Error:
            continue
    return found


class TestRecycling:
    async def test_the_browser_is_reused_then_replaced_after_max_checks(
        self,
        tmp_path: Path,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """Three checks on a pool of max_checks=2 launch exactly two browsers, and all pass."""
        async with started_pool(tmp_path, max_checks=2) as browser_pool:
            spec = homepage_spec(served.url)
            results = [
                await PROBE.run(spec, probe_context(browser_client, browser_pool)) for _ in range(3)
            ]
            assert [r.status for r in results] == [Status.PASS] * 3
            await browser_pool.replaced()
            assert browser_pool.launches == 2
            assert len(browser_processes()) == 1

    async def test_a_planned_restart_is_never_on_a_checks_clock(
        self,
        tmp_path: Path,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """A Chromium that takes 3 s to start, restarted after every check: checks with a
        2.5 s deadline still pass, each on a browser that is up (the old one serves while
        the new one starts), and every restart is done by the end."""
        slow = tmp_path / "slow-chromium"
        real = find_chromium(None, None)
        slow.write_text(f'#!/bin/sh\nsleep 3\nexec {real} "$@"\n')
        slow.chmod(0o755)
        async with started_pool(tmp_path, max_checks=1, executable_path=str(slow)) as pool:
            spec = homepage_spec(served.url)
            results = []
            for _ in range(3):
                context = probe_context(browser_client, pool, deadline_s=2.5)
                results.append(await PROBE.run(spec, context))
            assert [(r.status, r.message) for r in results] == [(Status.PASS, "ok")] * 3
            await pool.replaced()
            assert pool.launches >= 2
            assert len(browser_processes()) == 1

    async def test_a_crashed_browser_is_replaced_on_the_next_check(
        self,
        tmp_path: Path,
        browser_client: httpx.AsyncClient,
        served: DemoTargetThread,
        target: TargetState,
    ) -> None:
        """Killing Chromium between checks costs one relaunch, not a failed check."""
        async with started_pool(tmp_path) as browser_pool:
            [chromium] = browser_processes()
            chromium.kill()
            chromium.wait(5)
            result = await PROBE.run(
                homepage_spec(served.url), probe_context(browser_client, browser_pool)
            )
            assert result.status is Status.PASS, result.message
            assert browser_pool.launches == 2

    async def test_closing_the_pool_ends_every_browser_process(
        self, tmp_path: Path, browser_client: httpx.AsyncClient
    ) -> None:
        """After close, no Chromium started by the pool is left running, and it refuses checks."""
        async with started_pool(tmp_path) as browser_pool:
            assert len(browser_processes()) == 1
        await asyncio.sleep(0.2)
        assert browser_processes() == []
        result = await PROBE.run(
            homepage_spec("http://127.0.0.1:9"), probe_context(browser_client, browser_pool)
        )
        assert result.status is Status.ERROR
        assert result.message == "the browser pool is closed"


class TestMissingBrowser:
    @pytest.mark.parametrize(
        ("options", "words"),
        [
            ({"executable_path": "/nonexistent/chromium"}, "no Chromium at the configured"),
            ({"use_bundled": False, "fallbacks": ()}, "no Chromium found"),
        ],
        ids=["configured-path-missing", "none-anywhere"],
    )
    async def test_no_browser_is_an_error_result_saying_how_to_install_one(
        self, tmp_path: Path, browser_client: httpx.AsyncClient, options: dict[str, Any], words: str
    ) -> None:
        """Without a Chromium the check is an ``error`` with install advice, never an exception."""
        async with BrowserPool(artifacts_dir=tmp_path, **options) as browser_pool:
            result = await PROBE.run(
                homepage_spec("http://127.0.0.1:9"), probe_context(browser_client, browser_pool)
            )
        assert result.status is Status.ERROR
        assert result.message.startswith(words)
        assert "playwright install chromium" in result.message
        assert "apt-get install chromium" in result.message
        assert browser_pool.launches == 0


class TestRuntime:
    async def test_the_runtime_owns_one_pool_and_keeps_the_password_out_of_logs(
        self, tmp_path: Path, served: DemoTargetThread, target: TargetState
    ) -> None:
        """A login check run by the Runtime fails after login, logs out, and logs no password."""
        config = textwrap.dedent(
            f"""\
            alert_rules: null
            runner: {{artifacts_dir: {tmp_path / "artifacts"}}}
            defaults: {{retries: 0, timeout: 30s}}
            checks:
              - name: ui-login
                kind: browser
                url: ${{TARGET}}/login
                step_timeout_ms: 1000
                steps:
                  - fill: "#email"
                    value: smoke-test-basic@example.com
                  - fill: "#password"
                    value: ${{SMOKE_TEST_PASSWORD}}
                  - click: "#login-submit"
                    allow_write: ["POST /login"]
                  - expect_text: "#account-email"
                    text: {PASSWORD}
                    timeout_ms: 300
                cleanup:
                  - click: "#logout"
                    allow_write: ["POST /logout"]
                  - expect_visible: "[data-testid=logged-out]"
            """
        )
        path = tmp_path / "smokewatch.yaml"
        path.write_text(config)
        env = {"TARGET": served.url, "SMOKE_TEST_PASSWORD": PASSWORD}
        log = io.StringIO()
        async with Runtime(
            load_config(path, env=env), use_store=False, log_stream=log, env={}
        ) as rt:
            assert rt.browser_pool is not None
            [run] = await rt.run_once()
        assert run.status is Status.FAIL
        assert run.result.message.startswith("step 4: expect_text #account-email contains '***'")
        assert len(target.sessions.ended) == 1
        assert run.result.artifacts
        assert all(PASSWORD not in Path(p).name for p in run.result.artifacts)
        assert PASSWORD not in log.getvalue()
        assert "ui-login" in log.getvalue()

"""Specification of ``smokewatch demo``: the README's first command works on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.cli.demo import DEMO_REGIONS
from tests.support.processes import SMOKEWATCH, free_port, with_pycache

DEMO_CHECKS = (
    "health",
    "api-health",
    "api-status",
    "api-test",
    "api-login",
    "echo-websocket",
    "homepage",
    "ui-login",
)


class TestDemo:
    def test_demo_starts_the_target_and_watches_it(self, tmp_path: Path, pycache: Path) -> None:
        """One demo run starts the bundled target, runs every bundled check in both demo
        regions, stores them."""
        done = subprocess.run(  # noqa: PLW1510 -- the exit code is asserted
            [SMOKEWATCH, "demo", "--runs", "1"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=with_pycache(
                {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}, pycache
            ),
            timeout=90,
        )
        assert done.returncode == 0, done.stderr
        for check in DEMO_CHECKS:
            assert check in done.stdout
        for region in DEMO_REGIONS:
            assert f"smokewatch run ({region})" in done.stdout
        assert " fail" not in done.stdout
        assert "error" not in done.stdout
        assert (tmp_path / "smokewatch-demo.db").stat().st_size > 0

    def test_demo_serves_the_status_page_and_api_until_interrupted(
        self, tmp_path: Path, pycache: Path
    ) -> None:
        """Without --runs the demo serves: every bundled check shows on /api/v1/status and the
        page, the page shows both demo regions and says what they are, and Ctrl-C (SIGINT)
        stops it cleanly with exit 0."""
        port = free_port()
        env = with_pycache(
            {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}, pycache
        )
        log = tmp_path / "demo.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [SMOKEWATCH, "demo", "--port", str(port), "--interval", "60"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env=env,
            )
        try:
            body = _wait_for_all_checks(f"http://127.0.0.1:{port}", proc, log)
            # Degraded is possible on a loaded machine (latency budgets); down is not.
            assert body["status"] in {"healthy", "degraded"}, body
            assert "down" not in body["services"].values(), body
            page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
            assert page.status_code == 200
            for check in DEMO_CHECKS:
                assert check in page.text
            regions = _wait_for_regions(f"http://127.0.0.1:{port}", proc, log)
            assert regions == set(DEMO_REGIONS)
            assert "two runners in one process" in page.text
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _wait_for_all_checks(url: str, proc: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    """Poll /api/v1/status until every demo check has a result; fail on exit or timeout."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"demo exited with {proc.returncode}:\n{log.read_text()}")
        try:
            body: dict[str, Any] = httpx.get(f"{url}/api/v1/status", timeout=5).json()
        except (httpx.TransportError, ValueError):
            body = {}
        services = body.get("services", {})
        if set(DEMO_CHECKS) <= set(services) and "unknown" not in services.values():
            return body
        time.sleep(0.5)
    pytest.fail(f"not every demo check reported within 120 s:\n{log.read_text()}")


def _wait_for_regions(url: str, proc: subprocess.Popen[bytes], log: Path) -> set[str]:
    """Poll the health check's results until both demo regions have stored one."""
    deadline = time.monotonic() + 120
    seen: set[str] = set()
    while time.monotonic() < deadline and seen != set(DEMO_REGIONS):
        if proc.poll() is not None:
            pytest.fail(f"demo exited with {proc.returncode}:\n{log.read_text()}")
        try:
            body = httpx.get(f"{url}/api/v1/checks/health/results", timeout=5).json()
        except (httpx.TransportError, ValueError):
            body = {}
        seen = {r["region"] for r in body.get("results", [])}
        time.sleep(0.5)
    return seen

"""Specifications of the status page at ``/``: its view model, its HTML, and in a real Chromium."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, sync_playwright

from monitor.api.page import DAYS, HOURS, day_bar, sparkline
from monitor.api.refresh import SCRIPT_HASH
from monitor.contract import StoreLag
from monitor.store import ResultRecord, StatsBucket
from probes.base import Status
from probes.browser_pool import LAUNCH_ARGS
from tests.api.conftest import LiveApi, RuntimeService, StartApi, result, seed

DAY = datetime(2025, 3, 1, tzinfo=UTC)
NOW = datetime.now(UTC)
CHECKS = """\
- {name: health, kind: http, url: '${TARGET}/health', description: Liveness}
- {name: api-status, kind: http, url: '${TARGET}/api/v1/status'}
- {name: never-run, kind: http, url: '${TARGET}/health'}
"""


def bucket(passed: int = 0, degraded: int = 0, failed: int = 0, errored: int = 0) -> StatsBucket:
    total = passed + degraded + failed + errored
    return StatsBucket("health", DAY, total, passed, degraded, failed, errored, 20.0, 40.0)


def history() -> list[ResultRecord]:
    """A daily result for the past 60 days (one failing day), hourly ones over two days."""
    days = [
        result(
            "health",
            started_at=NOW - timedelta(days=d),
            status=Status.FAIL if d == 10 else Status.PASS,
        )
        for d in range(1, 60)
    ]
    hours = [
        result("health", started_at=NOW - timedelta(hours=h), duration_ms=20.0 + h)
        for h in range(40)
        if h not in (5, 6, 20)
    ]
    hours += [result("api-status", "us", Status.DEGRADED, started_at=NOW)]
    return days + hours


def serve_history(start_api: StartApi) -> LiveApi:
    api = start_api(checks=CHECKS, api="title: Acme status\n")
    seed(api, *history())

    async def incidents() -> None:
        store = api.service.store
        await store.open_incident(
            "health", "eu", started_at=NOW - timedelta(days=10), message="expected 200, got 503"
        )
        await store.resolve_incident(
            "health", "eu", resolved_at=NOW - timedelta(days=10) + timedelta(minutes=30)
        )
        await store.open_incident(
            "api-status", "us", started_at=NOW - timedelta(minutes=5), message="timed out after 5 s"
        )

    api.call(incidents)
    return api


class TestViewModel:
    @pytest.mark.parametrize(
        ("counts", "css", "title"),
        [
            pytest.param(None, "none", "2025-03-01: no data", id="no-data"),
            pytest.param(bucket(errored=3), "none", "2025-03-01: no data", id="only-errors"),
            pytest.param(
                bucket(passed=10),
                "ok",
                "2025-03-01: 100 % uptime (0 failed, 0 slow of 10 runs)",
                id="all-up",
            ),
            pytest.param(
                bucket(passed=9, degraded=1),
                "minor",
                "2025-03-01: 100 % uptime (0 failed, 1 slow of 10 runs)",
                id="slow",
            ),
            pytest.param(
                bucket(passed=995, failed=5),
                "minor",
                "2025-03-01: 99.50 % uptime (5 failed, 0 slow of 1000 runs)",
                id="minor",
            ),
            pytest.param(
                bucket(passed=97, failed=3),
                "partial",
                "2025-03-01: 97 % uptime (3 failed, 0 slow of 100 runs)",
                id="partial",
            ),
            pytest.param(
                bucket(passed=1, failed=1),
                "major",
                "2025-03-01: 50 % uptime (1 failed, 0 slow of 2 runs)",
                id="major",
            ),
        ],
    )
    def test_day_bars(self, counts: StatsBucket | None, css: str, title: str) -> None:
        """A day's bar is coloured by its uptime and says the same in words."""
        bar = day_bar("2025-03-01", counts)
        assert (bar.css, bar.title) == (css, title)

    def test_sparkline_breaks_at_missing_hours(self) -> None:
        """Hours without results split the line; a lone hour becomes a dot."""
        start = DAY
        present = [0, 1, 2, 4, 10, 11]
        buckets = {start + timedelta(hours=h): bucket(passed=1) for h in present}
        spark = sparkline(start, buckets)
        assert len(spark.lines) == 2
        assert [len(line.split()) for line in spark.lines] == [3, 2]
        assert len(spark.dots) == 1
        assert spark.title == f"Response time, last {HOURS} h: mean 20 ms, slowest 40 ms"

    def test_sparkline_without_data(self) -> None:
        """No results in two days: no line, and a title that says so."""
        spark = sparkline(DAY, {})
        assert (spark.lines, spark.dots) == ([], [])
        assert "No response times" in spark.title


class TestPageHtml:
    def test_bars_regions_incidents_and_no_external_resources(self, start_api: StartApi) -> None:
        """The HTML has 90 bars per check, labelled states, incidents, and loads nothing."""
        api = serve_history(start_api)
        with api.client() as client:
            response = client.get("/")
        html = response.text
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        rows = re.findall(r'<div class="bars"[^>]*>(.*?)</div>', html, re.S)
        assert [len(re.findall(r'class="bar ', row)) for row in rows] == [DAYS] * 3
        assert "<title>Acme status: Some systems degraded</title>" in html
        assert 'eu: <span class="label ok">Passing</span>' in html
        assert 'us: <span class="label minor">Slow</span>' in html
        assert "No results yet" in html  # never-run
        assert "Ongoing" in html
        assert "timed out after 5 s" in html
        assert "Resolved" in html
        assert "lasted 30 min" in html
        assert "<polyline" in html
        assert re.search(r"""(src|href)=["']?(https?:)?//""", html) is None
        # One inline script, the reload switch, allowed by its hash and nothing else.
        assert re.findall(r"<script[^>]*>", html) == ["<script>"]
        assert f"script-src '{SCRIPT_HASH}';" in response.headers["content-security-policy"]


class TestCompression:
    @pytest.mark.parametrize("path", ["/", "/checks/health"])
    def test_gzip_to_those_who_accept_it_plain_html_to_others(
        self, start_api: StartApi, path: str
    ) -> None:
        """The page is kept compressed: sent as gzip when accepted, unpacked otherwise, the
        same HTML either way."""
        api = serve_history(start_api)
        with api.client() as client:
            packed = client.get(path, headers={"Accept-Encoding": "gzip"})
            plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert packed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
        assert packed.text == plain.text
        assert plain.text.startswith("<!doctype html>")


class Behind(RuntimeService):
    """Two results wait in the spool for the store."""

    def store_lag(self) -> StoreLag:
        return StoreLag(spooled=2, oldest_age_s=41.7)


class TestStoreLag:
    def test_the_page_says_the_store_is_behind(self, start_api: StartApi) -> None:
        """While results wait in the spool, the page says how many and how old."""
        api = start_api(checks=CHECKS, service=Behind)
        with api.client() as client:
            html = client.get("/").text
        assert (
            "The result store is behind: 2 results waiting to be stored, the oldest 42 s old"
            in html
        )

    def test_no_note_while_the_store_keeps_up(self, start_api: StartApi) -> None:
        """Nothing waits: no note."""
        api = start_api(checks=CHECKS)
        with api.client() as client:
            html = client.get("/").text
        assert "The result store is behind" not in html


@pytest.mark.browser
class TestPageInChromium:
    def test_renders_without_console_errors(self, start_api: StartApi, tmp_path: Path) -> None:
        """Headless Chromium shows one row of 90 bars per check, with no console errors."""
        api = serve_history(start_api)
        errors: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=list(LAUNCH_ARGS)
            )
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 900})

                def on_console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        errors.append(message.text)

                page.on("console", on_console)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                response = page.goto(api.url + "/", wait_until="load")
                shot = tmp_path / "status-page.png"
                page.screenshot(path=str(shot), full_page=True)
                rows = page.locator(".check .bars")
                per_row = [rows.nth(i).locator(".bar").count() for i in range(rows.count())]
                names = page.locator(".check .name").all_inner_texts()
                today = page.locator(".check").first.locator(".bar").last.get_attribute("title")
                banner = page.locator(".banner").inner_text()
                colours = page.locator(".banner").evaluate(
                    "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
                )
            finally:
                browser.close()
        assert response is not None
        assert response.status == 200
        assert errors == []
        assert shot.stat().st_size > 10_000
        assert names == ["health", "api-status", "never-run"]
        assert per_row == [DAYS] * 3
        assert today is not None
        assert today.endswith("runs)")
        assert banner == "Some systems degraded"
        assert colours[0] == "rgb(255, 255, 255)" != colours[1]  # readable, not amber on amber

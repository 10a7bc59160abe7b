"""The status page, a per-check page and the API docs in a real Chromium: at 1400 px and
390 px, light and dark, with no console errors and no serious or critical axe-core
violations; ``/docs`` with every request off 127.0.0.1 refused.

Screenshots of each page, width and theme go to ``$SMOKEWATCH_SHOTS`` when it is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Route, sync_playwright

from probes.base import Status
from probes.browser_pool import LAUNCH_ARGS
from probes.reasons import FailureReason
from tests.api.conftest import LiveApi, StartApi, result, seed
from tests.api.test_check_page import HTTP_LINES

pytestmark = pytest.mark.browser

NOW = datetime.now(UTC)
CHECKS = """\
- {name: home, kind: http, url: '${TARGET}/health', description: The landing page}
- {name: pay-api, kind: http, url: '${TARGET}/health', group: Payments, regions: [eu, us]}
- {name: pay-web, kind: http, url: '${TARGET}/health', group: Payments, regions: [eu, us]}
- {name: search, kind: http, url: '${TARGET}/health', group: Search}
"""
PHASES = {"connect": 2.0, "tls": 4.0, "request": 0.5, "first_byte": 30.0, "transfer": 1.5}
WIDTHS = {"desktop": 1400, "phone": 390}
SERIOUS = {"serious", "critical"}
# The logo comes from the demo target, another origin than the API's: the pages' CSP must
# let that one origin in.
BRANDING = """\
title: Acme status
branding:
  logo_url: ${TARGET}/static/favicon.svg
  logo_alt: Acme
  links:
    - {name: Acme home, url: 'https://example.com/'}
    - {name: Support, url: 'mailto:help@example.com'}
  footer: Acme Corp <b>status</b>, run by the platform team
"""
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def history() -> list[Any]:
    """60 days of daily results (pay-web had a bad day 12 days ago), hourly timed results
    over a day in eu and us, and pay-web failing now in both regions."""
    records = []
    for name in ("home", "pay-api", "pay-web", "search"):
        for d in range(1, 60):
            bad = name == "pay-web" and d == 12
            status = Status.FAIL if bad else Status.PASS
            records.append(result(name, started_at=NOW - timedelta(days=d), status=status))
    for h in range(24):
        for region, slower in (("eu", 1.0), ("us", 2.5)):
            timings = {k: v * slower + h % 5 for k, v in PHASES.items()}
            timings["total"] = sum(timings.values())
            records.append(
                result(
                    "pay-web",
                    region,
                    started_at=NOW - timedelta(hours=h, minutes=5),
                    timings=timings,
                    duration_ms=timings["total"],
                )
            )
    for region in ("eu", "us"):
        records.append(
            result(
                "pay-web",
                region,
                Status.FAIL,
                started_at=NOW,
                reason=FailureReason.HTTP_STATUS,
                message="expected status 200, got 503",
            )
        )
        records.append(result("pay-api", region, started_at=NOW))
    return records


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium (Debian's) for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=list(LAUNCH_ARGS)
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def api(start_api: StartApi) -> LiveApi:
    live = start_api(checks=CHECKS, api=BRANDING)
    seed(live, *history())
    return live


class Visit:
    """A page opened at a width and colour scheme, recording console errors."""

    def __init__(
        self, browser: Browser, width: str = "desktop", scheme: Literal["light", "dark"] = "light"
    ) -> None:
        self.name = f"{width}-{scheme}"
        self.phone, self.dark = width == "phone", scheme == "dark"
        self.context = browser.new_context(
            viewport={"width": WIDTHS[width], "height": 900}, color_scheme=scheme
        )
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self, url: str) -> int:
        response = self.page.goto(url, wait_until="load")
        assert response is not None
        return response.status

    def serious_violations(self) -> list[str]:
        found = Axe().run(self.page).response["violations"]
        return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in SERIOUS]

    def shoot(self, name: str) -> None:
        shots = os.environ.get("SMOKEWATCH_SHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(params=[(w, s) for w in WIDTHS for s in ("light", "dark")], ids="-".join)
def visit(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Visit]:
    opened = Visit(browser, *request.param)
    yield opened
    opened.close()


# The branding as the pages show it: the logo loaded, the links, the footer as text.
BRAND = {
    "logo": True,
    "links": ["Acme home", "Support"],
    "footer": "Acme Corp <b>status</b>, run by the platform team",
}


def page_state(page: Page) -> dict[str, Any]:
    state = page.evaluate(
        """() => ({
            background: getComputedStyle(document.body).backgroundColor,
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            logo: (() => { const img = document.querySelector('.brand .logo');
                return img ? img.complete && img.naturalWidth > 0 : null; })(),
            links: [...document.querySelectorAll('.brand nav a')].map(a => a.textContent),
            footer: document.querySelector('.brand-footer')?.textContent ?? null,
            bars: [...document.querySelectorAll('.check')].slice(0, 1).map(c =>
                [...c.querySelectorAll('.bar')].filter(b => b.offsetWidth > 0)
                    .map(b => b.getBoundingClientRect().width)),
        })"""
    )
    return cast(dict[str, Any], state)


class TestStatusPage:
    def test_renders_cleanly(self, api: LiveApi, visit: Visit) -> None:
        """Groups and the failing check show, with no console error, no serious axe finding,
        no sideways scrolling, the theme's background, bars wide enough to point at, the
        reload switch on, and the branding (a logo from its own origin, links, footer text)."""
        assert visit.open(api.url + "/") == 200
        visit.shoot(f"page-{visit.name}")
        state = page_state(visit.page)
        groups = visit.page.locator(".group h3").all_inner_texts()
        failing = visit.page.locator("#check-pay-web ~ .label").inner_text()
        switch = visit.page.locator("#auto-refresh")  # shown by the script the CSP allows
        reloads = switch.is_visible() and switch.is_checked()
        violations = visit.serious_violations()
        assert visit.errors == []
        assert violations == []
        assert groups == ["Payments", "Search"]
        assert failing == "Down: http_status"
        assert reloads
        assert state["overflow"] <= 0
        assert state | BRAND == state
        assert state["background"] == ("rgb(13, 17, 23)" if visit.dark else "rgb(255, 255, 255)")
        [bars] = state["bars"]
        assert len(bars) == (30 if visit.phone else 90)
        assert min(bars) >= (7 if visit.phone else 5)

    def test_cards_link_to_the_check_pages(self, api: LiveApi, browser: Browser) -> None:
        """Following a card's name opens that check's page."""
        visit = Visit(browser)
        try:
            visit.open(api.url + "/")
            visit.page.click("#check-pay-web")
            visit.page.wait_for_url("**/checks/pay-web")
            heading = visit.page.locator("h1").inner_text()
        finally:
            visit.close()
        assert heading == "pay-web"


class TestCheckPage:
    def test_renders_cleanly(self, api: LiveApi, visit: Visit) -> None:
        """The chart has its axes and one line per phase, the branding shows; no console
        error, no serious axe finding, no sideways scrolling at either width."""
        assert visit.open(api.url + "/checks/pay-web") == 200
        visit.shoot(f"check-{visit.name}")
        state = page_state(visit.page)
        legend = visit.page.locator(".legend li").all_inner_texts()
        lines = visit.page.locator(".chart .series path").count()
        chart_width = visit.page.locator(".chart svg").bounding_box()
        violations = visit.serious_violations()
        assert visit.errors == []
        assert violations == []
        assert [item.split(":")[0] for item in legend] == HTTP_LINES
        assert lines >= 6
        assert state["overflow"] <= 0
        assert state | BRAND == state
        assert chart_width is not None
        assert chart_width["width"] > 300


BADGES = [
    "/badges/checks/pay-web/status.svg",
    "/badges/checks/pay-web/uptime.svg?window=7d",
    "/badges/checks/pay-web/response-time.svg",
    "/badges/groups/Payments/status.svg",
    "/badges/groups/Payments/uptime.svg?window=30d",
    "/badges/groups/Payments/response-time.svg",
]


class TestBadges:
    def test_render_cleanly(self, api: LiveApi, visit: Visit) -> None:
        """Each badge opens as an image of its text's size with no console error."""
        sizes, names = [], []
        for path in BADGES:
            assert visit.open(api.url + path) == 200
            box = visit.page.locator("svg").bounding_box()
            sizes.append(None if box is None else (box["width"] > 60, box["height"]))
            names.append(visit.page.locator("svg").get_attribute("aria-label"))
        assert visit.errors == []
        assert sizes == [(True, 20)] * len(BADGES)
        assert names[0] == "pay-web: down"
        assert names[3] == "Payments: down"


class TestApiDocs:
    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_render_with_the_outside_network_blocked(
        self, api: LiveApi, browser: Browser, path: str
    ) -> None:
        """Every request off 127.0.0.1 is aborted: the docs render the API's operations from
        smokewatch's own assets.  The one request tried outside is ReDoc's "API docs by
        Redocly" logo (its bundle hard-codes it and hides the image when it fails)."""
        visit = Visit(browser)
        refused: list[str] = []

        def guard(route: Route) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        try:
            visit.page.route("**/*", guard)
            assert visit.open(api.url + path) == 200
            selector = ".opblock" if path == "/docs" else "[data-section-id]"
            visit.page.wait_for_selector(selector, timeout=20_000)
            shown = visit.page.locator(selector).count()
        finally:
            visit.close()
        allowed = {"/redoc": [REDOCLY_LOGO]}.get(path, [])
        assert refused == allowed
        assert [e for e in visit.errors if "ERR_FAILED" not in e or not allowed] == []
        assert shown > 10

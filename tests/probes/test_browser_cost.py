"""Specification of what the browser probe's cheaper path still guarantees, in real Chromium.

A failed page load keeps a trace with its requests and DOM snapshots, LCP comes
from an observer registered before the page's scripts, a required selector is
looked at once and waited for only when not yet visible, and every kind of write
a page can send is still blocked.  The pages are served by a real HTTP server on
127.0.0.1 that records each request's method.
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from probes.base import Status
from probes.browser import PROBE, BrowserSpec
from probes.browser_pool import BrowserPool
from tests.support.browser import probe_context

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# The write is sent while the document parses, so before the load event the probe waits for.
_WRITE = """<!doctype html><html><body><h1 id="main">Writes</h1><script>{script}</script>
</body></html>"""

PAGES: dict[str, str] = {
    "/plain": '<!doctype html><html><body><h1 id="main">Hello</h1></body></html>',
    "/blank": "<!doctype html><html><body></body></html>",
    # Shown 800 ms after the load event: after the probe's first look, within its wait.
    "/late": """<!doctype html><html><body><h1 id="main">Late</h1>
<p id="late" hidden>here now</p><script>
window.addEventListener("load", () => setTimeout(() => {
  document.getElementById("late").hidden = false; }, 800));
</script></body></html>""",
    # Elements plain CSS finds but that are not visible, one in a shadow root, one only
    # Playwright's own selector syntax names.
    "/hidden": """<!doctype html><html><body><h1 id="main">Hidden</h1>
<p id="gone" style="display:none">x</p><p id="ghost" style="visibility:hidden">x</p>
<p id="empty" style="width:0;height:0;overflow:hidden"></p><div id="host"></div><script>
document.getElementById("host").attachShadow({mode: "open"}).innerHTML =
  '<span id="shadowed">in a shadow root</span>';
</script></body></html>""",
    "/fetch-put": _WRITE.format(script='fetch("/sink", {method: "PUT", body: "x"});'),
    "/xhr-delete": _WRITE.format(
        script='const x = new XMLHttpRequest(); x.open("DELETE", "/sink"); x.send();'
    ),
    "/beacon": _WRITE.format(script='navigator.sendBeacon("/sink", "x");'),
    "/fetch-post": _WRITE.format(script='fetch("/sink", {method: "POST", body: "x"});'),
    # A form posted while the page parses: the write is the document's own navigation.
    "/form-post": """<!doctype html><html><body><h1 id="main">Form</h1>
<form id="f" method="post" action="/sink"><input name="q" value="x"></form>
<script>document.getElementById("f").submit();</script></body></html>""",
    # A write sent from another page of the context: a popup the page opens, while it parses.
    "/popup-write": """<!doctype html><html><body><h1 id="main">Popup</h1><script>
const w = window.open("about:blank");
w.fetch(location.origin + "/sink", {method: "POST", body: "x"});
</script></body></html>""",
}


class _Site(ThreadingHTTPServer):
    methods: list[tuple[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def _answer(self) -> None:
        self.server.methods.append((self.command, self.path))
        body = PAGES.get(self.path, "").encode()
        self.send_response(200 if self.path in PAGES else 204)
        if body:
            self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    """A real HTTP server on 127.0.0.1 serving :data:`PAGES` and recording every method."""
    server = _Site(("127.0.0.1", 0), _Handler)
    server.methods = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(site: _Site, path: str) -> str:
    return f"http://127.0.0.1:{site.server_address[1]}{path}"


def spec(site: _Site, path: str, **fields: Any) -> BrowserSpec:
    data = {"url": url(site, path), "selector_timeout_ms": 10_000, **fields}
    return BrowserSpec.model_validate(data)


def trace_events(trace: Path, member: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(trace) as archive:
        lines = archive.read(member).splitlines()
    return [json.loads(line) for line in lines if line.strip()]


class TestPageLoadTrace:
    async def test_a_failed_page_load_keeps_a_trace_of_its_requests_and_dom(
        self, browser_pool: BrowserPool, browser_client: httpx.AsyncClient, site: _Site
    ) -> None:
        """A failing homepage check keeps a trace holding the page's requests and its DOM."""
        check = spec(
            site,
            "/plain",
            required_selectors=["#absent"],
            selector_timeout_ms=500,
            trace_every_attempt=True,
        )
        result = await PROBE.run(check, probe_context(browser_client, browser_pool, deadline_s=30))
        assert result.status is Status.FAIL, result.message
        trace = next(Path(p) for p in result.artifacts if p.endswith(".zip"))
        network = trace_events(trace, "trace.network")
        urls = [e["snapshot"]["request"]["url"] for e in network if "snapshot" in e]
        assert url(site, "/plain") in urls
        events = trace_events(trace, "trace.trace")
        assert [e for e in events if e.get("type") == "frame-snapshot"]

    async def test_a_pass_keeps_no_trace(
        self, browser_pool: BrowserPool, browser_client: httpx.AsyncClient, site: _Site
    ) -> None:
        """A passing check lists no artifact at all."""
        check = spec(site, "/plain", required_selectors=["#main"])
        result = await PROBE.run(check, probe_context(browser_client, browser_pool, deadline_s=30))
        assert result.status is Status.PASS, result.message
        assert result.artifacts == []


class TestTimings:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("/plain", {"ttfb", "dcl", "load", "lcp", "total"}),
            ("/blank", {"ttfb", "dcl", "load", "total"}),
        ],
        ids=["contentful-page-has-lcp", "blank-page-has-no-lcp"],
    )
    async def test_navigation_timings_and_lcp_when_there_is_one(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        site: _Site,
        path: str,
        expected: set[str],
    ) -> None:
        """Navigation Timing is always read; LCP only where something contentful painted."""
        result = await PROBE.run(
            spec(site, path), probe_context(browser_client, browser_pool, deadline_s=30)
        )
        assert result.status is Status.PASS, result.message
        assert set(result.timings) == expected
        assert 0 < result.timings["ttfb"] <= result.timings["dcl"] <= result.timings["load"]


class TestSelectors:
    async def test_a_selector_shown_after_the_load_event_is_waited_for(
        self, browser_pool: BrowserPool, browser_client: httpx.AsyncClient, site: _Site
    ) -> None:
        """An element made visible after load, within selector_timeout_ms, passes."""
        check = spec(site, "/late", required_selectors=["#main", "#late"])
        result = await PROBE.run(check, probe_context(browser_client, browser_pool, deadline_s=30))
        assert result.status is Status.PASS, result.message

    @pytest.mark.parametrize(
        ("selector", "passes"),
        [
            ("#main", True),
            ("#gone", False),
            ("#ghost", False),
            ("#empty", False),
            ("#absent", False),
            ("#shadowed", True),
            ("h1:has-text('Hidden')", True),
            ("text=in a shadow root", True),
        ],
        ids=[
            "visible",
            "display-none",
            "visibility-hidden",
            "empty-box",
            "absent",
            "in-shadow-root",
            "playwright-has-text",
            "playwright-text",
        ],
    )
    async def test_visibility_is_judged_as_playwright_judges_it(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        site: _Site,
        selector: str,
        passes: bool,
    ) -> None:
        """The look taken with the timings passes only what Playwright calls visible."""
        check = spec(site, "/hidden", required_selectors=[selector], selector_timeout_ms=300)
        result = await PROBE.run(check, probe_context(browser_client, browser_pool, deadline_s=30))
        assert (result.status is Status.PASS) is passes, result.message


class TestWritesBlocked:
    @pytest.mark.parametrize(
        ("path", "method"),
        [
            ("/fetch-put", "PUT"),
            ("/xhr-delete", "DELETE"),
            ("/beacon", "POST"),
            ("/fetch-post", "POST"),
            ("/form-post", "POST"),
        ],
        ids=["fetch-put", "xhr-delete", "send-beacon", "fetch-post", "form-post"],
    )
    async def test_every_kind_of_write_from_the_page_is_blocked(
        self,
        browser_pool: BrowserPool,
        browser_client: httpx.AsyncClient,
        site: _Site,
        path: str,
        method: str,
    ) -> None:
        """The write never reaches the server, and the result names it as blocked."""
        site.methods.clear()
        result = await PROBE.run(
            spec(site, path), probe_context(browser_client, browser_pool, deadline_s=30)
        )
        blocked = result.details["blocked_requests"]
        assert blocked == {"count": 1, "requests": [{"method": method, "url": "/sink"}]}
        assert [m for m in site.methods if m[1] == "/sink"] == []

    async def test_a_write_from_a_popup_never_reaches_the_target(
        self, browser_pool: BrowserPool, browser_client: httpx.AsyncClient, site: _Site
    ) -> None:
        """A popup's POST is held by the guard until the check's context closes: never sent."""
        site.methods.clear()
        result = await PROBE.run(
            spec(site, "/popup-write"), probe_context(browser_client, browser_pool, deadline_s=30)
        )
        assert result.status is Status.PASS, result.message
        assert ("GET", "/popup-write") in site.methods
        assert [m for m in site.methods if m[1] == "/sink"] == []

"""Specification of what a failed login journey keeps: no session, no password, the failing page.

A browser check logs into the demo target for real, fails a step after the login
and logs out in its cleanup.  What it keeps (the trace zip, the screenshot, the
result) must not let anyone who reads it take over the test account: the session
cookie the target handed out and the password appear nowhere, in no encoding.
The screenshot shows the page where the journey failed, not the logout page.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from examples.demo_target import DEFAULT_EMAIL, DemoTargetThread, TargetState
from probes.base import ProbeResult, Status
from probes.browser import PROBE
from probes.browser_pool import BrowserPool
from tests.support.browser import PASSWORD, login_spec, probe_context, shown

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

MISSING = {"expect_visible": "#no-such-widget", "timeout_ms": 300}


def encodings(value: str) -> list[bytes]:
    """A value as a trace may hold it: raw, percent-encoded, and as a JSON string's body."""
    return [value.encode(), quote(value, safe="").encode(), value.replace("/", "\\/").encode()]


def png_chunk_types(png: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order (metadata lives in tEXt/iTXt/zTXt/eXIf)."""
    types, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        types.append(png[offset + 4 : offset + 8])
        offset += 12 + length
    return types


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference over the common top-left area, 0 (same) to 255."""
    width, height = min(a.width, b.width), min(a.height, b.height)
    box = (0, 0, width, height)
    diff = ImageChops.difference(a.convert("RGB").crop(box), b.convert("RGB").crop(box))
    return sum(ImageStat.Stat(diff).mean) / 3


async def failed_journey(
    pool: BrowserPool, client: httpx.AsyncClient, served: DemoTargetThread, target: TargetState
) -> tuple[ProbeResult, str]:
    """Run the login journey failing after login; return the result and the session's token."""
    spec = login_spec(served.url, extra_steps=(MISSING,)).model_copy(
        update={"trace_every_attempt": True}
    )
    result = await PROBE.run(spec, probe_context(client, pool, name="login-scrub"))
    assert result.status is Status.FAIL, result.message
    assert result.message.startswith("step 6: expect_visible #no-such-widget")
    # The target's own record of the session it handed out (and the cleanup ended).
    assert len(target.sessions.ended) == 1
    return result, target.sessions.ended[0].token


async def test_the_trace_holds_neither_the_session_cookie_nor_the_password(
    browser_pool: BrowserPool,
    browser_client: httpx.AsyncClient,
    served: DemoTargetThread,
    target: TargetState,
) -> None:
    """Every file of the kept trace, the screenshot and the result: zero hits for either."""
    result, token = await failed_journey(browser_pool, browser_client, served, target)
    assert len(token) >= 20
    trace = next(Path(p) for p in result.artifacts if p.endswith(".zip"))
    screenshot = next(Path(p) for p in result.artifacts if p.endswith(".png"))
    needles = {"session token": encodings(token), "password": encodings(PASSWORD)}
    with zipfile.ZipFile(trace) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["<screenshot>"] = screenshot.read_bytes()
    members["<result>"] = shown(result).encode()
    hits = [
        (what, name)
        for name, data in members.items()
        for what, forms in needles.items()
        if any(form in data for form in forms)
    ]
    assert hits == []
    # Still a useful trace: the login's request and the session cookie's name are in it.
    network = b"".join(data for name, data in members.items() if name.endswith(".network"))
    assert b"/login" in network
    assert b"demo_session" in network
    # The account page echoed the session id (data-session, window.demoSession): masked there.
    pages = b"".join(data for name, data in members.items() if name.startswith("resources/"))
    assert b'data-session="***"' in pages
    assert b'window.demoSession = "***"' in pages


async def test_the_screenshot_shows_the_failing_page_and_carries_no_metadata(
    browser_pool: BrowserPool,
    browser_client: httpx.AsyncClient,
    served: DemoTargetThread,
    target: TargetState,
) -> None:
    """Taken at the failing step (the account page), before the logout cleanup ran."""
    result, _ = await failed_journey(browser_pool, browser_client, served, target)
    png = next(Path(p) for p in result.artifacts if p.endswith(".png")).read_bytes()
    assert not {b"tEXt", b"iTXt", b"zTXt", b"eXIf"} & set(png_chunk_types(png))
    shot = Image.open(io.BytesIO(png))

    # References, rendered by the same browser: the logged-in account page the journey
    # failed on, and the logged-out page its cleanup ends on.
    async with browser_pool.context() as context:
        page = await context.new_page()
        await page.goto(served.url + "/login")
        await page.fill("#email", DEFAULT_EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("#login-submit")
        await page.wait_for_url("**/account")
        account = Image.open(io.BytesIO(await page.screenshot(full_page=True)))
        await page.click("#logout")
        await page.wait_for_url("**/login?logged_out=1")
        logged_out = Image.open(io.BytesIO(await page.screenshot(full_page=True)))
    assert difference(account, logged_out) > 1.0, "the two reference pages must differ"
    assert difference(shot, account) < difference(shot, logged_out)


def trace_events(trace: Path) -> list[dict[str, object]]:
    """The events of a kept trace's ``trace.trace``, in order."""
    with zipfile.ZipFile(trace) as archive:
        lines = archive.read("trace.trace").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


async def test_the_trace_ends_at_the_failing_step_before_the_cleanup(
    browser_pool: BrowserPool,
    browser_client: httpx.AsyncClient,
    served: DemoTargetThread,
    target: TargetState,
) -> None:
    """The failing step is the trace's last action, and its last DOM snapshot the account page."""
    result, _ = await failed_journey(browser_pool, browser_client, served, target)
    events = trace_events(next(Path(p) for p in result.artifacts if p.endswith(".zip")))
    # Playwright records a locator as "<selector> >> nth=0".
    selectors = [
        str(params.get("selector", "")).split(" >> ")[0]
        for e in events
        if e.get("type") == "before" and isinstance(params := e.get("params"), dict)
    ]
    assert "#no-such-widget" in selectors
    assert "#logout" not in selectors, "the cleanup's logout must not be in the trace"
    snapshots = [e["snapshot"] for e in events if e.get("type") == "frame-snapshot"]
    assert isinstance(snapshots[-1], dict)
    assert snapshots[-1]["frameUrl"] == served.url + "/account"
    assert not [s for s in snapshots if "You have been logged out" in json.dumps(s)]

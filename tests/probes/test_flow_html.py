"""Specification of flows through server-rendered HTML: a CSRF token captured, a form posted.

The demo target's ``/login`` is a classic form with a CSRF token (a hidden field
plus a cookie, as Django does it), so a flow logs in without a browser only if it
captures the field and keeps the cookie between its steps, and in no other way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, DemoTargetThread, TargetState
from monitor.runtime.runtime import build_client
from probes.base import ProbeContext, Status
from probes.flow import PROBE, Capture, FlowSpec
from probes.html_capture import check_regex, select

TOKEN = {"css": "input[name=csrf_token]", "attr": "value"}


@pytest.fixture
async def shared_client() -> AsyncIterator[httpx.AsyncClient]:
    """The client ``serve`` hands every probe (no cookies kept between requests)."""
    async with build_client() as client:
        yield client


@pytest.fixture
def form_ctx(shared_client: httpx.AsyncClient) -> ProbeContext:
    return ProbeContext(client=shared_client, deadline_s=5.0, check_name="form-login")


def form_login(base: str, *, capture: dict[str, Any] | None = None, **form: str) -> FlowSpec:
    """Open the form, capture its token, post the login, read the account page, log out."""
    fields = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD, **form}
    return FlowSpec.model_validate(
        {
            "kind": "flow",
            "steps": [
                {
                    "name": "form",
                    "url": base + "/login",
                    "expect": {"status": [200]},
                    "capture": {"csrf": capture or TOKEN},
                },
                {
                    "name": "login",
                    "method": "POST",
                    "allow_write": True,
                    "url": base + "/login",
                    "form": fields,
                    "expect": {
                        "status": [303],
                        "headers": [{"name": "Location", "equals": "/account"}],
                    },
                },
                {
                    "name": "account",
                    "url": base + "/account",
                    "expect": {"status": [200], "body_matches": 'data-testid="logged-in"'},
                    "capture": {"shown_email": {"css": "#account-email"}},
                },
            ],
            "cleanup": [
                {
                    "name": "logout",
                    "method": "POST",
                    "allow_write": True,
                    "url": base + "/logout",
                    "expect": {"status": [303]},
                },
            ],
        }
    )


class TestFormLogin:
    async def test_the_token_is_captured_and_posted_back(
        self, served: DemoTargetThread, target: TargetState, form_ctx: ProbeContext
    ) -> None:
        """Form, login, account page, logout: pass, and the target saw one session come and go."""
        spec = form_login(served.url, csrf_token="{{ csrf }}")
        result = await PROBE.run(spec, form_ctx)
        assert result.status is Status.PASS, result.message
        assert (target.sessions.opened, len(target.sessions.ended)) == (1, 1)
        assert target.sessions.active == {}
        assert target.stats.csrf_rejected == 0
        assert result.details["cleanup"] == {"ok": True}

    async def test_without_the_token_the_target_refuses_the_login(
        self, served: DemoTargetThread, target: TargetState, form_ctx: ProbeContext
    ) -> None:
        """The capture matters: the same flow posting no token fails at the login, on a 403."""
        result = await PROBE.run(form_login(served.url), form_ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith("login: status: expected 303, got 403")
        assert (target.stats.csrf_rejected, target.sessions.opened) == (1, 0)

    async def test_a_selector_that_finds_nothing_fails_naming_it_and_the_page(
        self, served: DemoTargetThread, target: TargetState, form_ctx: ProbeContext
    ) -> None:
        """Not an error: the target answered, without the field the check relies on."""
        missing = {"css": "input[name=csrfmiddlewaretoken]", "attr": "value"}
        spec = form_login(served.url, capture=missing, csrf_token="{{ csrf }}")
        result = await PROBE.run(spec, form_ctx)
        assert result.status is Status.FAIL
        capture = next(a for a in result.assertions if a.name == "form: capture csrf")
        assert capture.expected == "a value at css input[name=csrfmiddlewaretoken] @value"
        assert capture.actual.startswith("nothing in a 200 text/html response (")
        assert capture.actual.endswith("bytes, title 'Log in - Demo Target')")
        assert target.sessions.opened == 0  # the login step never ran without its value

    async def test_the_session_stays_in_its_flow(
        self,
        served: DemoTargetThread,
        target: TargetState,
        form_ctx: ProbeContext,
        shared_client: httpx.AsyncClient,
    ) -> None:
        """After a flow logged in, the shared client holds no cookie: another check is a visitor."""
        spec = form_login(served.url, csrf_token="{{ csrf }}")
        spec = spec.model_copy(update={"cleanup": []})  # leave the session open on purpose
        result = await PROBE.run(spec, form_ctx)
        assert result.status is Status.PASS, result.message
        assert len(target.sessions.active) == 1
        assert not shared_client.cookies
        account = await shared_client.get(served.url + "/account")
        assert (account.status_code, account.headers["location"]) == (303, "/login")


HTML = """<!doctype html><form>
  <input type="hidden" name="csrf" value="tok-1">
  <input type="hidden" name="csrf" value="tok-2">
  <input name="empty" value="">
  <p class="who">  Signed in as
     <b>ann@example.com</b> </p>
</form>"""


@pytest.mark.parametrize(
    ("selector", "attr", "value"),
    [
        ("input[name=csrf]", "value", "tok-1"),  # the first of several matches
        ("p.who", None, "Signed in as ann@example.com"),  # text, whitespace normalised
        ("p.who b", None, "ann@example.com"),
        ("input[name=csrf]", "data-missing", None),
        ("input[name=empty]", "value", None),  # empty counts as nothing
        ("#nowhere", None, None),
    ],
)
def test_css_capture(selector: str, attr: str | None, value: str | None) -> None:
    assert select(HTML, selector, attr) == value


@pytest.mark.parametrize(
    ("capture", "value"),
    [
        ({"regex": r'name="csrf" value="([^"]+)"'}, "tok-1"),
        ({"regex": r"Signed in as\s+<b>([^<]+)</b>"}, "ann@example.com"),
        ({"regex": r'name="nothing" value="([^"]*)"'}, None),
    ],
)
def test_regex_capture(capture: dict[str, str], value: str | None) -> None:
    found = check_regex(capture["regex"]).search(HTML)
    assert (found.group(1) if found else None) == value
    assert Capture.model_validate(capture).regex == capture["regex"]


@pytest.mark.parametrize(
    ("capture", "message"),
    [
        ({"css": "input[name="}, "invalid CSS selector 'input[name='"),
        ({"regex": "value=.*"}, "has 0 groups: it needs exactly one"),
        ({"regex": "(a)(b)"}, "has 2 groups"),
        ({"regex": "(unclosed"}, "invalid regex '(unclosed'"),
        ({"attr": "value"}, "exactly one of 'json', 'header', 'css' or 'regex'"),
        ({"css": "input", "regex": "(x)"}, "exactly one of"),
        ({"header": "X-Token", "attr": "value"}, "'attr' goes with 'css' only"),
    ],
)
def test_a_bad_capture_is_refused_at_load(capture: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Capture.model_validate(capture)

"""Specifications of HTML form flows: captures by CSS selector or regex, form bodies, cookies."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.runtime import build_client
from probes.base import ProbeContext, Status
from probes.capture import Capture
from probes.flow import PROBE, FlowSpec
from probes.http import PROBE as HTTP_PROBE
from probes.http import Exchange, HttpSpec

PAGE = """<html><body>
<form id="a"><input name="csrf" value="first-token"><input name="csrf" value="second-token">
<input name="empty" value=""><input name="bare"></form>
<p class="greeting">  Hello,
  <b>Ada</b> </p><p class="greeting">Bye</p>
</body></html>"""


def exchange(body: str, content_type: str = "text/html; charset=utf-8") -> Exchange:
    """A response as probes.http.send returns it (a value, no server needed)."""
    return Exchange(
        status_code=200,
        headers=httpx.Headers({"content-type": content_type}),
        body=body.encode(),
        truncated=False,
        url="http://target.test/login",
        http_version="HTTP/1.1",
        encoding="utf-8",
    )


class TestHtmlCapture:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ({"css": "input[name=csrf]", "attr": "value"}, "first-token"),
            ({"css": "form#a input:nth-of-type(2)", "attr": "value"}, "second-token"),
            ({"css": "p.greeting"}, "Hello, Ada"),
            ({"css": "p.greeting b"}, "Ada"),
            ({"css": "input[name=csrf]", "attr": "nope"}, None),
            ({"css": "input[name=empty]", "attr": "value"}, None),
            ({"css": "input[name=bare]", "attr": "value"}, None),
            ({"css": "select.none"}, None),
            ({"regex": r'name="csrf" value="([^"]+)"'}, "first-token"),
            ({"regex": r'name="csrf" value="(second[^"]*)"'}, "second-token"),
            ({"regex": r"(?s)Hello,\s*<b>(\w+)</b>"}, "Ada"),
            ({"regex": r'name="empty" value="([^"]*)"'}, None),
            ({"regex": r'name="token" value="([^"]+)"'}, None),
        ],
        ids=[
            "css-attr",
            "css-attr-later-element",
            "css-text-stripped",
            "css-nested-text",
            "css-absent-attr",
            "css-empty-attr",
            "css-valueless-attr",
            "css-no-match",
            "regex-group",
            "regex-later-match",
            "regex-across-lines",
            "regex-empty-group",
            "regex-no-match",
        ],
    )
    def test_a_source_takes_the_first_match_or_nothing(
        self, source: dict[str, str], expected: str | None
    ) -> None:
        """Each source takes its first match in document order; an empty value is nothing."""
        assert Capture.model_validate(source).take(exchange(PAGE)) == expected

    def test_a_css_capture_reads_a_page_in_its_declared_charset(self) -> None:
        """The body is decoded with the response's charset before it is parsed."""
        latin = dataclasses.replace(
            exchange("", "text/html; charset=latin-1"),
            body='<input name="c" value="café">'.encode("latin-1"),
            encoding="latin-1",
        )
        capture = Capture.model_validate({"css": "input", "attr": "value"})
        assert capture.take(latin) == "café"

    @pytest.mark.parametrize(
        ("source", "message"),
        [
            ({"css": "input[["}, "invalid CSS selector 'input[['"),
            ({"regex": "csrf=[a-z]+"}, "has 0 groups: it needs exactly one"),
            ({"regex": "(a)(b)"}, "has 2 groups: it needs exactly one"),
            ({"regex": "(unclosed"}, "invalid regular expression"),
            ({"attr": "value"}, "exactly one of json, header, css, regex (found: none)"),
            ({"css": "a", "regex": "(a)"}, "(found: css, regex)"),
            ({"header": "X-A", "attr": "value"}, "'attr' only goes with 'css'"),
        ],
        ids=[
            "bad-selector",
            "regex-no-group",
            "regex-two-groups",
            "bad-regex",
            "attr-alone",
            "two-sources",
            "attr-without-css",
        ],
    )
    def test_a_bad_source_is_rejected_naming_the_step_and_capture(
        self, source: dict[str, str], message: str
    ) -> None:
        """A capture is checked when the flow is built; the error names its step and capture."""
        step = {"name": "form", "url": "http://x/login", "capture": {"csrf": source}}
        with pytest.raises(ValidationError) as info:
            FlowSpec.model_validate({"steps": [step]})
        text = str(info.value)
        assert "step 'form': capture 'csrf'" in text
        assert message in text

    def test_a_config_error_names_file_line_check_step_and_field(self, tmp_path: Path) -> None:
        """Through the config loader, a regex without a group points at its line in the file."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            textwrap.dedent(
                """\
                checks:
                  - name: shop-login
                    kind: flow
                    steps:
                      - name: get-form
                        url: https://shop.example/login
                        capture:
                          csrf: {regex: 'name="csrf" value="[^"]+"'}
                """
            )
        )
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        [problem] = info.value.problems
        assert (problem.file, problem.item, problem.field) == (
            str(path),
            "checks[0] (shop-login)",
            "steps[0].capture",
        )
        assert problem.line in (7, 8)
        assert problem.message.startswith("step 'get-form': capture 'csrf': regex ")
        assert problem.message.endswith(
            "has 0 groups: it needs exactly one, around the value to capture"
        )


@pytest.fixture
def base(served: DemoTargetThread, target: TargetState) -> str:
    return served.url


CSS_TOKEN = {"css": "form#login-form input[name=csrf]", "attr": "value"}
REGEX_TOKEN = {"regex": 'name="csrf" value="([^"]+)"'}


def form_login(
    base: str, csrf: str = "{{ csrf }}", capture: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The documented form login: GET the form, POST it with its token, read /account, log out."""
    return {
        "steps": [
            {
                "name": "form",
                "url": base + "/login",
                "expect": {"status": [200]},
                "capture": capture or {"csrf": CSS_TOKEN},
            },
            {
                "name": "login",
                "method": "POST",
                "allow_write": True,
                "url": base + "/login",
                "form": {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD, "csrf": csrf},
                "expect": {
                    "status": [303],
                    "headers": [{"name": "location", "equals": "/account"}],
                },
            },
            {
                "name": "account",
                "url": base + "/account",
                "expect": {"status": [200], "body_matches": 'data-testid="logged-in"'},
            },
        ],
        "cleanup": [
            {
                "name": "logout",
                "method": "POST",
                "allow_write": True,
                "url": base + "/logout",
                "expect": {"status": [303]},
            }
        ],
    }


def sessions(state: TargetState) -> tuple[int, int, int]:
    """(logins, logouts, active sessions) as the target counts them."""
    store = state.sessions
    return store.opened, len(store.ended), len(store.active)


class TestFormLoginFlow:
    @pytest.mark.parametrize("token", [CSS_TOKEN, REGEX_TOKEN], ids=["css", "regex"])
    async def test_the_form_login_passes_and_logs_out(
        self, base: str, target: TargetState, ctx: ProbeContext, token: dict[str, str]
    ) -> None:
        """The captured token and the run's cookies log in, /account opens, cleanup logs out."""
        spec = FlowSpec.model_validate(form_login(base, capture={"csrf": token}))
        result = await PROBE.run(spec, ctx)
        assert (result.status, result.message) == (Status.PASS, "ok"), result.message
        steps = result.details["steps"]
        assert isinstance(steps, list)
        assert [(s["name"], s["status_code"]) for s in steps] == [  # type: ignore[index,call-overload]
            ("form", 200),
            ("login", 303),
            ("account", 200),
            ("logout", 303),
        ]
        assert result.details["cleanup"] == {"ok": True}
        assert sessions(target) == (1, 1, 0)
        assert DEFAULT_PASSWORD not in repr(result)

    @pytest.mark.parametrize(
        ("csrf", "capture"),
        [("forged-token-0123456789abcdef", {"csrf": CSS_TOKEN}), ("", {"other": CSS_TOKEN})],
        ids=["wrong-token", "missing-token"],
    )
    async def test_without_the_captured_token_the_target_refuses(
        self,
        base: str,
        target: TargetState,
        ctx: ProbeContext,
        csrf: str,
        capture: dict[str, dict[str, str]],
    ) -> None:
        """The capture matters: a forged or empty token is a 403, a fail naming the step."""
        spec = FlowSpec.model_validate(form_login(base, csrf, capture))
        result = await PROBE.run(spec, ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith("login: status: expected 303, got 403")
        assert sessions(target) == (0, 0, 0)

    async def test_a_capture_that_finds_nothing_is_a_fail_showing_the_response(
        self, base: str, target: TargetState, ctx: ProbeContext
    ) -> None:
        """No match is a fail (the target answered), naming step, selector and response."""
        capture = {"csrf": {"css": "input[name=csrfmiddlewaretoken]", "attr": "value"}}
        result = await PROBE.run(FlowSpec.model_validate(form_login(base, capture=capture)), ctx)
        assert result.status is Status.FAIL
        assert result.message.startswith(
            "form: capture csrf: expected a value at css 'input[name=csrfmiddlewaretoken]' "
            "attr 'value', got nothing in HTTP 200 text/html: '<!doctype html>"
        )
        assert target.stats.request_count("/login", "POST") == 0
        assert result.details["cleanup"] == {"ok": True}


class TestCookies:
    async def test_a_flow_session_does_not_reach_other_checks(
        self, base: str, target: TargetState
    ) -> None:
        """With the production client, a flow's login cookie stays in its run, not the client."""
        spec = form_login(base)
        spec["cleanup"] = []  # leave the session open on the server
        async with build_client() as shared:
            ctx = ProbeContext(client=shared)
            flow = await PROBE.run(FlowSpec.model_validate(spec), ctx)
            other = HttpSpec.model_validate({"url": base + "/account", "follow_redirects": False})
            check = await HTTP_PROBE.run(other, ctx)
            assert list(shared.cookies.jar) == []
        assert flow.status is Status.PASS
        assert sessions(target) == (1, 0, 1)
        assert (check.status, check.message) == (
            Status.FAIL,
            "status: expected 2xx, got 303",
        )

"""Form flows, beyond test_flow_html.py: capture errors that name the step, redirect cookies."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.runtime.runtime import build_client
from probes.base import ProbeContext, Status
from probes.flow import PROBE, FlowSpec


class TestCaptureErrors:
    @pytest.mark.parametrize(
        ("source", "message"),
        [
            ({"css": "input[["}, "invalid CSS selector 'input[['"),
            ({"regex": "csrf=[a-z]+"}, "has 0 groups: it needs exactly one"),
            ({"regex": "(a)(b)"}, "has 2 groups: it needs exactly one"),
            ({"attr": "value"}, "exactly one of 'json', 'header', 'css' or 'regex'"),
            ({"header": "X-A", "attr": "value"}, "'attr' goes with 'css' only"),
        ],
        ids=["bad-selector", "regex-no-group", "regex-two-groups", "attr-alone", "attr-no-css"],
    )
    def test_a_bad_capture_names_its_step_and_capture(
        self, source: dict[str, str], message: str
    ) -> None:
        """The error says which step and which capture, not only the step's index."""
        step = {"name": "form", "url": "http://x/login", "capture": {"csrf": source}}
        with pytest.raises(ValidationError) as info:
            FlowSpec.model_validate({"steps": [step]})
        text = str(info.value)
        assert "step 'form': capture 'csrf': " in text
        assert message in text

    def test_a_config_error_names_file_line_check_step_and_field(self, tmp_path: Path) -> None:
        """Through the config loader, a regex without a group points at its line in the file."""
        path = tmp_path / "smokewatch.yaml"
        yaml = """\
            checks:
              - name: shop-login
                kind: flow
                steps:
                  - name: get-form
                    url: https://shop.example/login
                    capture:
                      csrf: {regex: 'name="csrf" value="[^"]+"'}
            """
        path.write_text(textwrap.dedent(yaml))
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        [problem] = info.value.problems
        located = (problem.file, problem.line, problem.item, problem.field)
        assert located == (str(path), 8, "checks[0] (shop-login)", "steps[0].capture.csrf")
        assert problem.message == (
            "step 'get-form': capture 'csrf': regex 'name=\"csrf\" value=\"[^\"]+\"' has 0 "
            "groups: it needs exactly one, around the value to capture"
        )


@pytest.fixture
async def shared_client() -> AsyncIterator[httpx.AsyncClient]:
    """The client ``serve`` hands every probe (it keeps no cookies)."""
    async with build_client() as client:
        yield client


class TestRedirectCookies:
    async def test_a_session_set_on_a_followed_redirect_reaches_the_next_step(
        self, served: DemoTargetThread, target: TargetState, shared_client: httpx.AsyncClient
    ) -> None:
        """A login step that follows its 303 keeps the session cookie set on the 303 itself."""
        base = served.url
        token = {"css": "input[name=csrf_token]", "attr": "value"}
        fields = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD, "csrf_token": "{{ t }}"}
        spec: dict[str, Any] = {
            "steps": [
                {"name": "form", "url": base + "/login", "capture": {"t": token}},
                {
                    "name": "login",
                    "method": "POST",
                    "allow_write": True,
                    "url": base + "/login",
                    "form": fields,
                    "follow_redirects": True,
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
        ctx = ProbeContext(client=shared_client, deadline_s=5.0)
        result = await PROBE.run(FlowSpec.model_validate(spec), ctx)
        assert (result.status, result.message) == (Status.PASS, "ok")
        store = target.sessions
        assert (store.opened, len(store.ended), len(store.active)) == (1, 1, 0)

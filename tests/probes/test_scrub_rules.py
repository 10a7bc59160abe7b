"""Specification of the scrubbing rules: which names carry credentials, and what a trace keeps.

The trace tests build small Playwright-shaped zips by hand (HAR entries in
``trace.network``): the shapes are Playwright's, the values are ours, so each rule
is seen on its own.  The end-to-end case with a real Chromium and a real login
is ``test_trace_scrub.py``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.redact import Redactor
from probes.browser import BrowserSpec
from probes.browser_artifacts import ArtifactStore
from probes.flow import PROBE as FLOW
from probes.flow import FlowSpec
from probes.http import PROBE as HTTP
from probes.http import HttpSpec
from probes.scrub import MASK, TraceScrubber, is_credential_name, mask_named
from tests.probes.conftest import LiveServer

COOKIE_VALUE = "s3cr3t-session-token"  # what the loopback server's /headers sets


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("Cookie", True),
        ("Set-Cookie", True),
        ("Authorization", True),
        ("Proxy-Authorization", True),
        ("X-Api-Key", True),
        ("x-auth-token", True),
        ("password", True),
        ("new_passwd", True),
        ("client_secret", True),
        ("access_token", True),
        ("csrfmiddlewaretoken", True),
        ("X-XSRF-TOKEN", True),
        ("sessionid", True),
        ("sid", True),
        ("key", True),
        ("private_key", True),
        ("client_key", True),
        ("X-Tenant-Key", True),
        ("keyboard", False),
        ("Content-Type", False),
        ("User-Agent", False),
        (":authority", False),  # HTTP/2's host, not a credential
        ("author", False),
        ("monkey", False),
        ("q", False),
        ("page", False),
    ],
)
def test_which_names_carry_credentials(name: str, credential: bool) -> None:
    assert is_credential_name(name) is credential


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('{"access_token": "at-1", "user": "ann"}', '{"access_token": "***", "user": "ann"}'),
        ("{'cookie': 'sid=1; theme=dark'}", "{'cookie': '***'}"),
        ("Set-Cookie: demo_session=abc; Path=/\nServer: x", "Set-Cookie: ***\nServer: x"),
        ("Authorization: Bearer abc", "Authorization: ***"),
        ("X-Api-Key: k1\nX-Request-Id: 7", "X-Api-Key: ***\nX-Request-Id: 7"),
        ("GET /x?api_key=k1&page=2", "GET /x?api_key=***&page=2"),
        ("email=a%40b&password=pw1&csrf_token=c1", "email=a%40b&password=***&csrf_token=***"),
        ("https://h/cb?sid=12#top", "https://h/cb?sid=***#top"),
        ("get-token: status: expected 2xx, got 500", "get-token: status: expected 2xx, got 500"),
        ("status=503 after 2 tries", "status=503 after 2 tries"),
        ('author: "Ann"', 'author: "Ann"'),
    ],
    ids=[
        "json-field",
        "dict-field",
        "set-cookie-line",
        "authorization-line",
        "x-header-line",
        "query",
        "form",
        "url-fragment-kept",
        "step-name-is-not-a-header",
        "plain-pair",
        "author",
    ],
)
def test_credentials_written_out_in_text(text: str, shown: str) -> None:
    """One rule for text: the runner's redactor applies it to every message and detail."""
    assert mask_named(text) == shown
    assert Redactor().text(text) == shown


def test_a_name_the_check_marks_secret_is_one() -> None:
    assert not is_credential_name("X-Tenant")
    assert is_credential_name("X-Tenant", {"x-tenant"})


def har_entry() -> dict[str, Any]:
    """One resource snapshot as Playwright writes it to ``trace.network``."""
    return {
        "type": "resource-snapshot",
        "snapshot": {
            "request": {
                "method": "POST",
                "url": "https://shop.example/login?next=%2Fcart&api_key=k-123456789&page=2",
                "headers": [
                    {"name": "Content-Type", "value": "application/x-www-form-urlencoded"},
                    {"name": "Cookie", "value": "theme=dark; shop_sid=sid-abcdefghij"},
                    {"name": "Authorization", "value": "Bearer tok-0123456789"},
                    {"name": ":authority", "value": "shop.example"},
                ],
                "cookies": [{"name": "shop_sid", "value": "sid-abcdefghij"}],
                "queryString": [{"name": "api_key", "value": "k-123456789"}],
                "postData": {
                    "mimeType": "application/x-www-form-urlencoded",
                    "text": "email=a%40b.example&password=hunter2-long&csrf=c-987654321",
                    "params": [{"name": "password", "value": "hunter2-long"}],
                },
            },
            "response": {
                "status": 302,
                "headers": [
                    {"name": "Location", "value": "/account"},
                    {"name": "Set-Cookie", "value": "shop_sid=sid-zyxwvutsrq; Path=/; HttpOnly"},
                ],
                "cookies": [
                    {"name": "shop_sid", "value": "sid-zyxwvutsrq", "path": "/", "httpOnly": True}
                ],
            },
        },
    }


def scrubbed(tmp_path: Path, members: dict[str, str], **options: Any) -> dict[str, str]:
    source, target = tmp_path / "raw.zip", tmp_path / "clean.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    TraceScrubber(**options).scrub_zip(source, target)
    with zipfile.ZipFile(target) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


class TestTraceScrubber:
    def test_a_har_entry_keeps_its_shape_and_loses_its_credentials(self, tmp_path: Path) -> None:
        out = scrubbed(tmp_path, {"trace.network": json.dumps(har_entry()) + "\n"})
        entry = json.loads(out["trace.network"])["snapshot"]
        request, response = entry["request"], entry["response"]
        headers = {h["name"]: h["value"] for h in request["headers"]}
        assert headers == {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"theme={MASK}; shop_sid={MASK}",
            "Authorization": MASK,
            ":authority": "shop.example",
        }
        assert request["cookies"] == [{"name": "shop_sid", "value": MASK}]
        assert request["url"] == f"https://shop.example/login?next=%2Fcart&api_key={MASK}&page=2"
        assert request["postData"]["text"] == f"email=a%40b.example&password={MASK}&csrf={MASK}"
        assert request["postData"]["params"] == [{"name": "password", "value": MASK}]
        set_cookie = {h["name"]: h["value"] for h in response["headers"]}["Set-Cookie"]
        assert set_cookie == f"shop_sid={MASK}; Path=/; HttpOnly"
        assert response["cookies"][0]["value"] == MASK
        assert response["cookies"][0]["httpOnly"] is True

    def test_learnt_values_are_masked_in_every_other_file(self, tmp_path: Path) -> None:
        """A session id the page echoes, in a body or a snapshot, goes too (encoded or not)."""
        members = {
            "trace.network": json.dumps(har_entry()),
            "resources/abc.html": "<p>your session: sid-zyxwvutsrq</p>",
            "trace.trace": json.dumps({"html": "token=tok-0123456789&k=k-123456789"}),
            "resources/def.json": json.dumps({"note": "hunter2-long"}),
        }
        out = scrubbed(tmp_path, members)
        everything = "".join(out.values())
        for value in ("sid-zyxwvutsrq", "sid-abcdefghij", "tok-0123456789", "hunter2-long"):
            assert value not in everything, value
        assert out["resources/abc.html"] == f"<p>your session: {MASK}</p>"

    def test_short_values_are_masked_where_found_only(self, tmp_path: Path) -> None:
        """A cookie ``theme=1`` is masked in its header; "1" elsewhere is left alone."""
        entry = {"headers": [{"name": "Cookie", "value": "theme=1"}]}
        members = {"trace.network": json.dumps(entry), "resources/a.txt": "page 1 of 10"}
        out = scrubbed(tmp_path, members)
        assert json.loads(out["trace.network"])["headers"][0]["value"] == f"theme={MASK}"
        assert out["resources/a.txt"] == "page 1 of 10"

    def test_json_bodies_and_fields_the_check_marks_secret(self, tmp_path: Path) -> None:
        body = json.dumps({"user": "ann", "pin": "4711-2468-13", "auth": {"otp": "123456"}})
        entry = {"postData": {"mimeType": "application/json", "text": body}}
        out = scrubbed(tmp_path, {"trace.network": json.dumps(entry)}, secret_fields=["pin", "otp"])
        text = json.loads(out["trace.network"])["postData"]["text"]
        assert json.loads(text) == {"user": "ann", "pin": MASK, "auth": {"otp": MASK}}

    def test_known_secrets_go_in_every_encoding(self, tmp_path: Path) -> None:
        members = {"trace.trace": '{"value":"p@ss w\\"rd"}', "b.txt": "pw=p%40ss+w%22rd"}
        out = scrubbed(tmp_path, members, secrets=['p@ss w"rd'])
        assert out == {"trace.trace": '{"value":"***"}', "b.txt": "pw=***"}

    def test_bodies_kept_as_resource_files_lose_their_credential_fields(
        self, tmp_path: Path
    ) -> None:
        """A form post and its JSON answer, stored apart from the HAR entry, are read too."""
        entry = {
            "request": {
                "postData": {"mimeType": "application/x-www-form-urlencoded", "_sha1": "p.dat"}
            },
            "response": {"content": {"mimeType": "application/json", "_sha1": "r.json"}},
        }
        members = {
            "trace.network": json.dumps({"snapshot": entry}),
            "resources/p.dat": "user=ann&passwd=correct-horse-9",
            "resources/r.json": json.dumps({"user": "ann", "access_token": "at-5f3e9c1d7b"}),
            "resources/page.html": "<script>const t = 'at-5f3e9c1d7b'</script>",
            "resources/other.json": json.dumps({"token_count": 3}),
        }
        out = scrubbed(tmp_path, members)
        assert out["resources/p.dat"] == f"user=ann&passwd={MASK}"
        assert json.loads(out["resources/r.json"]) == {"user": "ann", "access_token": MASK}
        assert out["resources/page.html"] == f"<script>const t = '{MASK}'</script>"
        assert out["resources/other.json"] == members["resources/other.json"]

    def test_an_untouched_line_is_kept_byte_for_byte(self, tmp_path: Path) -> None:
        line = '{"type": "before",  "params": {"selector": "#email", "value": "\\u00e9"}}'
        assert scrubbed(tmp_path, {"trace.trace": line})["trace.trace"] == line


class TestStoredDetails:
    def test_header_pairs_with_credential_names_are_masked(self) -> None:
        data = {"headers": [{"name": "Set-Cookie", "value": "a=b"}, {"name": "X", "value": "y"}]}
        assert Redactor().data(data) == {
            "headers": [{"name": "Set-Cookie", "value": MASK}, {"name": "X", "value": "y"}]
        }

    async def test_an_http_check_never_shows_the_cookie_it_was_given(
        self, server: LiveServer, client: httpx.AsyncClient, ctx: Any
    ) -> None:
        """A failing header assertion on Set-Cookie names its length, not its value."""
        spec = HttpSpec.model_validate(
            {
                "url": server.url("/headers"),
                "expect": {"headers": [{"name": "Set-Cookie", "equals": "other"}]},
            }
        )
        result = await HTTP.run(spec, ctx)
        assert result.status.value == "fail"
        assert COOKIE_VALUE not in repr(result)
        assert "redacted" in result.message

    async def test_a_flow_keeps_no_cookie_in_its_result(
        self, server: LiveServer, client: httpx.AsyncClient, ctx: Any
    ) -> None:
        """The cookie the first step got travels to the next (the jar), but not into the result."""
        spec = FlowSpec.model_validate(
            {
                "kind": "flow",
                "steps": [
                    {"name": "get-cookie", "url": server.url("/headers")},
                    {
                        "name": "echo",
                        "url": server.url("/echo"),
                        "expect": {"headers": [{"name": "Set-Cookie", "present": True}]},
                    },
                ],
            }
        )
        result = await FLOW.run(spec, ctx)
        assert result.status.value == "fail", result.message
        assert COOKIE_VALUE not in repr(result)

    async def test_a_flow_shows_no_credential_the_server_echoes_back(
        self, server: LiveServer, client: httpx.AsyncClient, ctx: Any
    ) -> None:
        """The cookie and bearer token sent, echoed in a JSON body, are masked wherever quoted.

        Message, assertions (by JSON path, and a snippet of the whole headers object),
        details and the failing response's excerpt (``response.txt``).
        """
        bearer = "Bearer tok-abcdef1234567890"
        expect = {
            "json": [
                {"path": "$.headers.cookie", "equals": "x"},
                {"path": "$.headers['authorization']", "equals": "y"},
                {"path": "$.headers", "equals": "z"},
            ]
        }
        spec = FlowSpec.model_validate(
            {
                "kind": "flow",
                "steps": [
                    {"name": "get-cookie", "url": server.url("/headers")},
                    {
                        "name": "echo",
                        "url": server.url("/echo"),
                        "headers": {"Authorization": bearer},
                        "expect": expect,
                    },
                ],
            }
        )
        result = await FLOW.run(spec, ctx)
        assert result.status.value == "fail", result.message
        assert [a.passed for a in result.assertions[-3:]] == [False, False, False]
        shown = repr(result)
        assert COOKIE_VALUE not in shown
        assert "tok-abcdef1234567890" not in shown
        assert result.attachments, "a failing flow keeps the response excerpt"
        assert "<redacted" in result.assertions[-3].actual


async def test_the_artifact_store_scrubs_the_fields_a_browser_check_marks_secret(
    tmp_path: Path,
) -> None:
    """``secret_fields`` reaches the trace scrubber through ``ArtifactStore.save_trace``."""
    spec = BrowserSpec.model_validate({"url": "https://shop.example/", "secret_fields": ["pin"]})
    raw = tmp_path / "raw.trace"
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("trace.network", json.dumps({"name": "pin", "value": "4711-2468"}))
    store = ArtifactStore(tmp_path / "kept")
    kept = await store.save_trace(store.new_stem("shop"), raw, [], spec.secret_fields)
    with zipfile.ZipFile(kept) as archive:
        assert json.loads(archive.read("trace.network")) == {"name": "pin", "value": MASK}
    assert not raw.exists()

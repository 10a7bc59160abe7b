"""Specifications of ``response.txt``: status line, headers but credentials, a capped body."""

from __future__ import annotations

import pytest

from probes.response_excerpt import CONTENT_TYPE, EXCERPT_BODY_BYTES, NAME, response_excerpt
from probes.scrub import is_credential_name


def excerpt(headers: list[tuple[str, str]], body: bytes = b"", **options: object) -> str:
    attachment = response_excerpt(
        method="GET",
        url=str(options.pop("url", "http://t.example/a")),
        status_code=500,
        reason="Internal Server Error",
        http_version="HTTP/1.1",
        headers=headers,
        body=body,
        truncated=bool(options.pop("truncated", False)),
        **options,  # type: ignore[arg-type]
    )
    assert attachment.name == NAME
    assert attachment.content_type == CONTENT_TYPE
    return attachment.data.decode()


class TestHeaders:
    @pytest.mark.parametrize(
        "name",
        [
            "Set-Cookie",
            "cookie",
            "Authorization",
            "Proxy-Authorization",
            "WWW-Authenticate",
            "X-Auth-Token",
            "X-Api-Key",
            "X-CSRF-Token",
            "X-Session-Id",
            "X-Amz-Signature",
            "X-Client-Secret",
        ],
    )
    def test_credential_headers_are_dropped_whole(self, name: str) -> None:
        """A header whose name looks like a credential is removed, and named as removed."""
        text = excerpt([(name, "value-42-secret"), ("Content-Type", "text/html")])
        assert is_credential_name(name)
        assert "value-42-secret" not in text
        assert f"(headers removed: {name})" in text
        assert "Content-Type: text/html" in text

    @pytest.mark.parametrize("name", ["Content-Type", "Location", "Retry-After", "X-Request-Id"])
    def test_ordinary_headers_are_kept(self, name: str) -> None:
        """Headers that help explain a failure stay, with their values."""
        assert not is_credential_name(name)
        assert f"{name}: v1\n" in excerpt([(name, "v1")])

    def test_repeated_set_cookie_is_named_once(self) -> None:
        """Several Set-Cookie lines are all dropped and named once."""
        text = excerpt([("set-cookie", "a=1"), ("set-cookie", "b=2")])
        assert "a=1" not in text
        assert "b=2" not in text
        assert text.count("set-cookie") == 1


class TestBody:
    def test_status_line_then_body(self) -> None:
        """The title, the status line, the headers, a blank line, then the body."""
        text = excerpt([("Content-Type", "text/plain")], b"database down")
        assert text == (
            "GET http://t.example/a\nHTTP/1.1 500 Internal Server Error\n"
            "Content-Type: text/plain\n\ndatabase down"
        )

    def test_the_body_is_capped(self) -> None:
        """Only the first EXCERPT_BODY_BYTES of the body are kept, and the cut is said."""
        text = excerpt([], b"z" * (EXCERPT_BODY_BYTES + 10))
        assert text.count("z") == EXCERPT_BODY_BYTES
        assert text.endswith(f"[body cut at {EXCERPT_BODY_BYTES} bytes]\n")

    def test_credential_fields_of_a_json_body_are_masked(self) -> None:
        """A JSON body's credential keys are masked, and their values wherever else they are."""
        body = b'{"access_token": "tok-9f8e7d6c5b", "echo": "tok-9f8e7d6c5b", "ok": false}'
        text = excerpt([("Content-Type", "application/json")], body)
        assert "tok-9f8e7d6c5b" not in text
        assert '"ok": false' in text

    def test_credential_query_parameters_are_masked(self) -> None:
        """The URL line keeps its path and plain parameters, not a credential parameter."""
        text = excerpt([], url="http://t.example/a?page=2&api_key=k-0123456789")
        assert text.startswith("GET http://t.example/a?page=2&api_key=***\n")

    def test_masked_values_are_replaced(self) -> None:
        """Values the flow captured (tokens) are masked wherever they appear."""
        text = excerpt(
            [("Location", "/next?t=tok-123456")], b'{"token": "tok-123456"}', mask=("tok-123456",)
        )
        assert "tok-123456" not in text
        assert text.count("***") == 2

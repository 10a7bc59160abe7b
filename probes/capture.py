"""Where a flow step captures a value: a JSON path, a header, a CSS selector or a regex.

``css`` and ``regex`` read a server-rendered HTML page, so a classic form login
(GET the form, capture its CSRF token, POST it back) works without a browser.
Every source takes the first match in document order; an empty value counts as
nothing found.  Selectors and regexes are checked when the config loads.
"""

from __future__ import annotations

from typing import Final

import jsonpath
from pydantic import BaseModel, ConfigDict, Field, model_validator
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from probes.assertions import Regex, clip, snippet
from probes.http import Exchange

SOURCES: Final = ("json", "header", "css", "regex")
_EXCERPT_CHARS: Final = 120


class Capture(BaseModel):
    """One value: exactly one of ``json``, ``header``, ``css`` (with ``attr``) or ``regex``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    json_path: str | None = Field(None, alias="json")
    header: str | None = None
    css: str | None = Field(None, description="CSS selector; the first matching element")
    attr: str | None = Field(None, description="with css: this attribute, else the element's text")
    regex: Regex | None = Field(None, description="over the body text; exactly one group")

    @model_validator(mode="after")
    def _exactly_one(self) -> Capture:
        chosen = [s for s in SOURCES if getattr(self, _FIELD[s]) is not None]
        if len(chosen) != 1:
            found = ", ".join(chosen) or "none"
            raise ValueError(
                f"a capture takes exactly one of {', '.join(SOURCES)} (found: {found})"
            )
        if self.attr is not None and self.css is None:
            raise ValueError("'attr' only goes with 'css'")
        if self.json_path is not None:
            try:
                jsonpath.compile(self.json_path)
            except jsonpath.JSONPathError as exc:
                raise ValueError(f"invalid JSON path {self.json_path!r}: {exc}") from None
        if self.css is not None:
            try:
                LexborHTMLParser("").css(self.css)
            except SelectolaxError:
                raise ValueError(f"invalid CSS selector {self.css!r}") from None
        if self.regex is not None and self.regex.groups != 1:
            raise ValueError(
                f"regex {self.regex.pattern!r} has {self.regex.groups} groups: it needs exactly "
                "one, around the value to capture"
            )
        return self

    def describe(self) -> str:
        """The source as a user wrote it, for a failure message."""
        if self.css is not None:
            return f"css {snippet(self.css)}" + (f" attr {snippet(self.attr)}" if self.attr else "")
        if self.regex is not None:
            return f"regex {snippet(self.regex.pattern)}"
        if self.header is not None:
            return f"header {snippet(self.header)}"
        return f"json {snippet(self.json_path)}"

    def take(self, exchange: Exchange) -> str | None:
        """The captured value; ``None`` when nothing (or only an empty value) was found."""
        if self.header is not None:
            value: str | None = exchange.headers.get(self.header)
        elif self.css is not None:
            value = _css(self.css, self.attr, _text(exchange))
        elif self.regex is not None:
            found = self.regex.search(_text(exchange))
            value = found.group(1) if found else None
        else:
            value = _json(self.json_path or "$", exchange)
        return value or None


_FIELD: Final = {"json": "json_path", "header": "header", "css": "css", "regex": "regex"}


def _text(exchange: Exchange) -> str:
    return exchange.body.decode(exchange.encoding, "replace")


def _css(selector: str, attr: str | None, html: str) -> str | None:
    node = LexborHTMLParser(html).css_first(selector)
    if node is None:
        return None
    if attr is None:
        return " ".join(node.text().split())  # as a browser shows it: whitespace collapsed
    return node.attributes.get(attr)


def _json(path: str, exchange: Exchange) -> str | None:
    try:
        found: list[object] = jsonpath.findall(path, exchange.json())
    except ValueError:
        return None
    if not found or found[0] is None:
        return None
    first: object = found[0]
    return first if isinstance(first, str) else str(first)


def response_summary(exchange: Exchange) -> str:
    """What a response was, for a capture that found nothing: status, type and an excerpt."""
    kind = exchange.headers.get("content-type", "no content type").split(";")[0].strip()
    excerpt = " ".join(_text(exchange).split())
    body = repr(clip(excerpt, _EXCERPT_CHARS)) if excerpt else "an empty body"
    return f"nothing in HTTP {exchange.status_code} {kind}: {body}"


__all__ = ["Capture", "response_summary"]

"""Values out of an HTML page, for flows: a CSS selector (an attribute or the text), or a regex.

A server-rendered login puts a CSRF token in a hidden field; a flow captures it
with ``{css: "input[name=csrf_token]", attr: value}`` and posts it back.  The
CSS engine is selectolax's Lexbor, which parses like a browser does.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, SelectolaxError


def check_selector(selector: str) -> None:
    """Raise ``ValueError`` naming the selector if Lexbor cannot parse it (config load)."""
    try:
        LexborHTMLParser("").css(selector)
    except SelectolaxError:
        raise ValueError(f"invalid CSS selector {selector!r}") from None


def check_regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern; ``ValueError`` unless it compiles with exactly one group."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
    if compiled.groups != 1:
        raise ValueError(
            f"regex {pattern!r} has {compiled.groups} groups: it needs exactly one, "
            "around the value to capture"
        )
    return compiled


def select(html: str, selector: str, attr: str | None) -> str | None:
    """The first match's attribute ``attr`` (or its text, spaces normalised); ``None`` if none."""
    node = LexborHTMLParser(html).css_first(selector)
    if node is None:
        return None
    if attr is not None:
        value = node.attributes.get(attr)
        return value or None
    text = node.text(separator=" ", strip=True)
    return " ".join(text.split()) or None


def search(text: str, pattern: re.Pattern[str]) -> str | None:
    """The group of the first match of ``pattern`` in ``text``; ``None`` if none (or empty)."""
    found = pattern.search(text)
    return (found.group(1) or None) if found else None

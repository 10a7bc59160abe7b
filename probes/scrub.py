"""Credentials out of what a check keeps: one rule for names, and a Playwright trace scrubber.

A value is a credential when it is a known secret (the config's ``${...}`` values),
or when it travels under a credential name: the headers ``Cookie``, ``Set-Cookie``,
``Authorization``, ``Proxy-Authorization``, and any header, query parameter, form
field, JSON key or cookie whose name matches :data:`CREDENTIAL_NAME` (or that the
check names in ``secret_fields``).

:class:`TraceScrubber` masks a trace zip in two passes.  The first walks the
trace's JSON-lines files (network records are HAR entries) and masks credential
values in place, keeping names so the trace still reads ("demo_session=***");
every value it masks is learnt.  The second masks known secrets and learnt values
wherever else they appear, in every file of the zip (a session id echoed into a
page, a response body, a DOM snapshot), raw, percent-encoded or JSON-escaped.
"""

from __future__ import annotations

import functools
import json
import re
import zipfile
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK: Final = "***"
CREDENTIAL_HEADERS: Final = frozenset(
    {"cookie", "set-cookie", "authorization", "proxy-authorization", "www-authenticate"}
)
CREDENTIAL_NAME: Final = re.compile(
    r"passw|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|session"
    r"|signature|csrf|xsrf|auth(?!or)|cookie|^sid$|^sig$|(?:^|[-_.])key(?:$|[-_.])",
    re.IGNORECASE,
)
# A learnt value shorter than this is masked where it was found, not everywhere:
# masking "1" or "true" in every file would wreck the trace and protect nothing.
MIN_LEARNT: Final = 8
_JSON_LINES: Final = (".network", ".trace")


def is_credential_name(name: str, extra: Collection[str] = ()) -> bool:
    """True for a header, parameter, field or cookie name whose value is a credential."""
    return _credential_name(name) or (bool(extra) and name.lower() in extra)


@functools.lru_cache(maxsize=4096)
def _credential_name(name: str) -> bool:
    # Memoized: the same few names (log fields, result keys, headers) come back on every
    # check, and the pattern has no literal prefix to skip ahead with (~5 us a search).
    # Bounded, since names inside response bodies are the target's to choose.
    return name.lower() in CREDENTIAL_HEADERS or CREDENTIAL_NAME.search(name) is not None


# Credentials written out in free text (a message, an assertion's actual, an excerpt):
# a JSON or Python-dict field, a header line, a ``name=value`` pair (query, form, cookie).
_QUOTED_FIELD = re.compile(
    r"""(?P<key>(?P<q>["'])(?P<name>[^"'\s]{1,64})(?P=q)\s*:\s*)"""
    r"""(?P<vq>["'])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)"""
)
_HEADER_LINE = re.compile(r"(?im)^(?P<key>(?P<name>[A-Za-z][\w-]{0,63}):[ \t]*)(?P<value>\S.*)$")
_PAIR = re.compile(
    r"(?P<key>(?:^|(?<=[?&;\s]))(?P<name>[A-Za-z_][\w.-]{0,63})=)(?P<value>[^&\s#;\"']+)"
)


def mask_named(text: str, extra: Collection[str] = ()) -> str:
    """``text`` with the values of credential-named fields, header lines and pairs masked."""

    def masked(match: re.Match[str]) -> str:
        if not is_credential_name(match["name"], extra):
            return match[0]
        quote = match.groupdict().get("vq") or ""
        return f"{match['key']}{quote}{MASK}{quote}"

    def header(match: re.Match[str]) -> str:
        # "get-token: status 500" is a flow step's message, not a header: only the
        # credential headers, and X- headers with a credential name, are read as lines.
        name = match["name"].lower()
        known = name in CREDENTIAL_HEADERS or name.startswith("x-") or name in extra
        return masked(match) if known else match[0]

    if ":" in text:
        if '"' in text or "'" in text:  # a quoted field needs a quote (a timestamp has none)
            text = _QUOTED_FIELD.sub(masked, text)
        text = _HEADER_LINE.sub(header, text)
    if "=" in text:
        text = _PAIR.sub(masked, text)
    return text


def credentials_in(pairs: Iterable[tuple[str, str]]) -> set[str]:
    """The credential values of ``(name, value)`` header or field pairs, long enough to mask
    everywhere (a ``Set-Cookie``'s cookie value, a bearer token with and without its scheme)."""
    scrubber = TraceScrubber()
    for name, value in pairs:
        scrubber.pair(name, value)
    return {value for value in scrubber.learnt if len(value) >= MIN_LEARNT}


def variants(values: Iterable[str]) -> list[bytes]:
    """Each value as it may appear in a file: raw, URL-encoded, JSON-escaped; longest first."""
    found: set[bytes] = set()
    for value in values:
        forms = (value, quote_plus(value), quote(value, safe=""), json.dumps(value)[1:-1])
        found.update(form.encode() for form in forms)
        found.add(json.dumps(value)[1:-1].replace("/", "\\/").encode())
    return sorted(found, key=len, reverse=True)


def mask_bytes(data: bytes, forms: list[bytes]) -> bytes:
    for form in forms:
        data = data.replace(form, MASK.encode())
    return data


class TraceScrubber:
    """Masks credentials in Playwright traces; ``learnt`` holds the values it found."""

    def __init__(self, secrets: Iterable[str] = (), secret_fields: Iterable[str] = ()) -> None:
        self.secrets = {s for s in secrets if s}
        self.fields = frozenset(f.lower() for f in secret_fields)
        self.learnt: set[str] = set()
        # Bodies kept as ``resources/<sha1>`` files, by name: their MIME type, to read them.
        self.bodies: dict[str, str] = {}

    def scrub_zip(self, source: Path, target: Path) -> None:
        """Copy the trace zip ``source`` to ``target`` with every credential masked."""
        with zipfile.ZipFile(source) as src:
            members = [(info.filename, src.read(info)) for info in src.infolist()]
        members = [(name, self._structured(name, data)) for name, data in members]
        # Request and response bodies after the records that name them (and their type).
        members = [(name, self._resource(name, data)) for name, data in members]
        long_values = {v for v in self.learnt if len(v) >= MIN_LEARNT}
        forms = variants(self.secrets | long_values)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
            for name, data in members:
                dst.writestr(name, mask_bytes(data, forms))

    def _structured(self, name: str, data: bytes) -> bytes:
        if not name.endswith(_JSON_LINES):
            return data
        lines = []
        for line in data.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            scrubbed = self.walk(event)
            changed = scrubbed != event
            lines.append(json.dumps(scrubbed, separators=(",", ":")).encode() if changed else line)
        return b"\n".join(lines) + (b"\n" if data.endswith(b"\n") else b"")

    def _resource(self, name: str, data: bytes) -> bytes:
        mime = self.bodies.get(name)
        if mime is None:
            return data
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return data
        scrubbed = self.body(text, mime)
        return data if scrubbed == text else scrubbed.encode()

    def _note_body(self, value: dict[str, Any]) -> None:
        """Remember the body file a HAR ``postData``/``content`` names, if it is JSON or a form."""
        sha1, mime = value.get("_sha1"), value.get("mimeType")
        if isinstance(sha1, str) and isinstance(mime, str) and _readable(mime):
            self.bodies[f"resources/{sha1}"] = mime

    def walk(self, value: Any) -> Any:
        """Mask credentials in a JSON-like value (HAR entries, trace events)."""
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        name = value.get("name")
        if isinstance(name, str) and isinstance(value.get("value"), str) and len(value) <= 8:
            # A HAR name/value pair: a header, cookie, query or form parameter.
            return {**value, "value": self.pair(name, value["value"])}
        self._note_body(value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "url" and isinstance(item, str):
                out[key] = self.url(item)
            elif key == "postData" and isinstance(item, dict):
                out[key] = self.post_data(item)
            elif isinstance(item, str) and item and is_credential_name(key, self.fields):
                out[key] = self.learn(item)
            else:
                out[key] = self.walk(item)
        return out

    def pair(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered == "set-cookie":
            return self.cookie(value.split(";", 1)[0]) + _attributes(value)
        if lowered == "cookie":
            return "; ".join(self.cookie(part) for part in value.split(";"))
        if is_credential_name(name, self.fields):
            return self.learn(value)
        return value

    def cookie(self, pair: str) -> str:
        """``name=value`` with the value masked (every cookie value is a credential)."""
        cookie_name, _, cookie_value = pair.strip().partition("=")
        return f"{cookie_name}={self.learn(cookie_value)}"

    def learn(self, value: str) -> str:
        if value:
            self.learnt.add(value)
            # A credential sent as ``Bearer <token>`` also appears without its scheme.
            scheme, _, rest = value.partition(" ")
            if rest and scheme.isalpha():
                self.learnt.add(rest)
        return MASK

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        query = [
            (k, self.learn(v) if is_credential_name(k, self.fields) and v else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit(parts._replace(query=urlencode(query, safe="*")))

    def post_data(self, post: dict[str, Any]) -> dict[str, Any]:
        out = self.walk({k: v for k, v in post.items() if k != "text"})
        text = post.get("text")
        if isinstance(text, str):
            out["text"] = self.body(text, str(post.get("mimeType", "")))
        return out  # type: ignore[no-any-return]

    def body(self, text: str, mime: str) -> str:
        """A request body: form fields and JSON keys with credential names masked."""
        if "json" in mime:
            try:
                return json.dumps(self.walk_json(json.loads(text)))
            except ValueError:
                return text
        if "x-www-form-urlencoded" in mime:
            fields = [
                (k, self.learn(v) if is_credential_name(k, self.fields) and v else v)
                for k, v in parse_qsl(text, keep_blank_values=True)
            ]
            return urlencode(fields, safe="*")
        return text

    def walk_json(self, value: Any) -> Any:
        """A JSON body: values under credential keys masked (no HAR name/value reading)."""
        if isinstance(value, list):
            return [self.walk_json(item) for item in value]
        if isinstance(value, dict):
            return {
                k: self.learn(v)
                if isinstance(v, str) and v and is_credential_name(k, self.fields)
                else self.walk_json(v)
                for k, v in value.items()
            }
        return value


def _readable(mime: str) -> bool:
    """A body :meth:`TraceScrubber.body` reads field by field."""
    return "json" in mime or "x-www-form-urlencoded" in mime


def _attributes(set_cookie: str) -> str:
    """A ``Set-Cookie`` value's attributes (``; Path=/; HttpOnly``), kept: they carry no secret."""
    _, sep, rest = set_cookie.partition(";")
    return sep + rest

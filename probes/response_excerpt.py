"""The failing response as evidence: status line, safe headers, the start of the body.

``response.txt`` is what a person paged at night reads first: enough of the answer
to see what broke, never its credentials.  The credential rule is
:mod:`probes.scrub`'s, the one traces use: headers that carry a credential
(``Cookie``, ``Set-Cookie``, ``Authorization``, ``Proxy-Authorization``, and any
whose name matches :data:`probes.scrub.CREDENTIAL_NAME`) are dropped whole and named
in one line so the reader knows they were there; credential query parameters of
the URL and credential fields of a JSON or form body are masked, and so is every
value so found, and every value in ``mask`` (a flow's captures), wherever else it
appears.  The body is capped at :data:`EXCERPT_BODY_BYTES`.  The monitor then masks
every known secret value in it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from probes.base import Attachment
from probes.scrub import MIN_LEARNT, TraceScrubber, is_credential_name, mask_bytes, variants

NAME: Final = "response.txt"
CONTENT_TYPE: Final = "text/plain; charset=utf-8"
EXCERPT_BODY_BYTES: Final = 8 * 1024


def response_excerpt(
    *,
    method: str,
    url: str,
    status_code: int,
    reason: str,
    http_version: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    truncated: bool,
    mask: tuple[str, ...] = (),
) -> Attachment:
    """``response.txt`` of one response to ``method url``."""
    scrubber = TraceScrubber(secrets=mask)
    kept: list[str] = []
    dropped: list[str] = []
    content_type = ""
    for name, value in headers:
        if is_credential_name(name):
            if name.lower() not in (d.lower() for d in dropped):
                dropped.append(name)
            continue
        if name.lower() == "content-type":
            content_type = value
        kept.append(f"{name}: {value}")
    shown = body[:EXCERPT_BODY_BYTES].decode("utf-8", errors="replace")
    lines = [f"{method} {scrubber.url(url)}", f"{http_version} {status_code} {reason}".rstrip()]
    lines += kept
    if dropped:
        lines.append(f"(headers removed: {', '.join(dropped)})")
    text = "\n".join([*lines, ""]) + "\n" + scrubber.body(shown, content_type)
    if truncated or len(body) > EXCERPT_BODY_BYTES:
        text += f"\n[body cut at {EXCERPT_BODY_BYTES} bytes]\n"
    found = {v for v in scrubber.learnt if len(v) >= MIN_LEARNT} | scrubber.secrets
    return Attachment(NAME, CONTENT_TYPE, mask_bytes(text.encode(), variants(found)))

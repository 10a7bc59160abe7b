"""The failing response as evidence: status line, safe headers, the start of the body.

``response.txt`` is what a person paged at night reads first: enough of the answer
to see what broke, never its credentials.  Headers that carry them (``Cookie``,
``Set-Cookie``, ``Authorization``, ``Proxy-Authorization``, and any whose name looks
like a credential: token, key, secret, session, auth, ...) are dropped whole, named
in one line so the reader knows they were there.  The body is capped at
:data:`EXCERPT_BODY_BYTES`.  The monitor then masks every known secret value in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from probes.base import Attachment

NAME: Final = "response.txt"
CONTENT_TYPE: Final = "text/plain; charset=utf-8"
EXCERPT_BODY_BYTES: Final = 8 * 1024
_DROPPED: Final = frozenset(
    {"cookie", "set-cookie", "authorization", "proxy-authorization", "www-authenticate"}
)
_CREDENTIAL_NAME = re.compile(
    r"token|secret|passw|api[-_]?key|credential|session|signature|auth|cookie|csrf|xsrf",
    re.IGNORECASE,
)


def is_credential_header(name: str) -> bool:
    """Whether a header may carry a credential, judged by its name alone."""
    return name.lower() in _DROPPED or bool(_CREDENTIAL_NAME.search(name))


def response_excerpt(
    *,
    title: str,
    status_code: int,
    reason: str,
    http_version: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    truncated: bool,
    mask: tuple[str, ...] = (),
) -> Attachment:
    """``response.txt`` of one response; ``mask`` values (captured tokens) become ``***``."""
    kept: list[str] = []
    dropped: list[str] = []
    for name, value in headers:
        if is_credential_header(name):
            if name.lower() not in (d.lower() for d in dropped):
                dropped.append(name)
        else:
            kept.append(f"{name}: {value}")
    shown = body[:EXCERPT_BODY_BYTES]
    cut = truncated or len(body) > EXCERPT_BODY_BYTES
    lines = [title, f"{http_version} {status_code} {reason}".rstrip(), *kept]
    if dropped:
        lines.append(f"(headers removed: {', '.join(dropped)})")
    lines.append("")
    text = "\n".join(lines) + "\n" + shown.decode("utf-8", errors="replace")
    if cut:
        text += f"\n[body cut at {EXCERPT_BODY_BYTES} bytes]\n"
    for value in sorted((m for m in mask if m), key=len, reverse=True):
        text = text.replace(value, "***")
    return Attachment(NAME, CONTENT_TYPE, text.encode())

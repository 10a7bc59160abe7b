"""Redaction: secrets never reach a message, a log line, the store or the API.

Three nets, each catching what the others miss:

1. Known secret *values* (from interpolation: env secrets, secret files, captured
   tokens) are replaced wherever they appear.
2. URL credentials (``user:pass@``) are masked, and so are credentials written
   out by name in text (:func:`probes.scrub.mask_named`): query and form pairs
   (``token=``, ``password=``, ...), JSON fields (``"access_token": "..."``) and
   credential header lines (``Set-Cookie: ...``).
3. Values under credential-like *keys* (``Authorization``, ``Cookie``,
   ``password``, ...: :func:`probes.scrub.is_credential_name`, the rule traces
   use too) in structured data are masked, and so are the values of
   ``{"name": ..., "value": ...}`` pairs (headers, cookies) with such a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from probes.scrub import is_credential_name, mask_named

MASK = "***"
_KNOWN_LENGTH = 200  # texts up to this long are remembered once redacted ...
_KNOWN_TEXTS = 2048  # ... this many at most
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/\s:@]+):[^/\s@]+@", re.I)


class Redactor:
    """Masks secrets in text and in JSON-like data.

    Its secrets never change (extend them with :meth:`with_secrets`, which returns a new
    Redactor), so what it masks never changes either; its only state is a memo of short
    texts already masked (at most ``_KNOWN_TEXTS`` of up to ``_KNOWN_LENGTH`` characters,
    cleared when full), which changes its speed, never its output.
    """

    __slots__ = ("_known", "_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = frozenset(s for s in secrets if s)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        # Short texts already redacted (a log line's level, kind, status, check name,
        # message): the same few come back on every check.  Cleared when full.
        self._known: dict[str, str] = {}

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def with_secrets(self, more: Iterable[str]) -> Redactor:
        extra = {s for s in more if s and s not in self._secrets}
        return Redactor(self._secrets | extra) if extra else self

    def text(self, value: str) -> str:
        known = self._known.get(value)
        if known is not None:
            return known
        masked = self._mask(value)
        if len(value) <= _KNOWN_LENGTH:
            if len(self._known) >= _KNOWN_TEXTS:
                self._known.clear()
            self._known[value] = masked
        return masked

    def _mask(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        if "://" in value:
            value = _URL_USERINFO.sub(rf"\g<scheme>\g<user>:{MASK}@", value)
        return mask_named(value)

    def data(self, value: Any) -> Any:
        """Redact a JSON-like structure: strings by value, mappings also by key."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            name = value.get("name")
            if isinstance(name, str) and is_credential_name(name) and value.get("value"):
                value = {**value, "value": MASK}
            return {
                k: MASK if isinstance(k, str) and is_credential_name(k) and v else self.data(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

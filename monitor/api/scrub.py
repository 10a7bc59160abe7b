"""The API's last net for secrets: nothing it returns may carry one.

Results were redacted by the runner before they were stored; this is a second,
independent pass at the boundary.  It masks the config's known secret values (and
credential-looking keys and URL parts, via :class:`~monitor.redact.Redactor`), and
drops the query string of every URL it sees: queries often carry tokens under names
no pattern would guess, and nobody reading a status needs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from monitor.redact import Redactor

_URL_QUERY = re.compile(r"(?P<base>\b[a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]*", re.I)


def drop_queries(text: str) -> str:
    """``text`` with the ``?query`` of every absolute URL in it removed."""
    return _URL_QUERY.sub(r"\g<base>", text) if "://" in text else text


class Scrubber:
    """Masks secrets and URL queries in text and JSON-like data."""

    __slots__ = ("_redactor",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._redactor = Redactor(secrets)

    def text(self, value: str) -> str:
        return drop_queries(self._redactor.text(value))

    def data(self, value: Any) -> Any:
        """A scrubbed copy of a JSON-like value; keys are kept, credential keys' values masked."""
        return self._strings(self._redactor.data(value))

    def _strings(self, value: Any) -> Any:
        if isinstance(value, str):
            return drop_queries(value)
        if isinstance(value, dict):
            return {key: self._strings(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._strings(item) for item in value]
        return value

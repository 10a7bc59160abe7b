"""Which exposition format a ``/metrics`` scraper gets: OpenMetrics 1.0.0 or Prometheus text.

:func:`negotiate` reads the ``Accept`` header by its quality values.  OpenMetrics is
served when ``application/openmetrics-text`` (no version, or ``version=1.0.0``) is
the most preferred acceptable type, as Prometheus asks by default; anything else,
an absent header or one that cannot be parsed gets the Prometheus text format.  It
never fails: a scraper with an odd header still gets metrics.

(``prometheus_client.exposition.choose_encoder`` ignores ``q`` and raises
``TypeError`` on a malformed version, which a request header must never cause.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from monitor.telemetry.render import render_openmetrics, render_text


@dataclass(frozen=True, slots=True)
class Format:
    """An exposition format: how to render a registry and the content type to say so."""

    render: Callable[[Collector], bytes]
    content_type: str


# prometheus_client's renderers' bytes, rendered faster (monitor.telemetry.render).
TEXT: Final = Format(render_text, CONTENT_TYPE_LATEST)
OPENMETRICS: Final = Format(render_openmetrics, openmetrics.CONTENT_TYPE_LATEST)
_OPENMETRICS_VERSIONS: Final = frozenset({"", "1.0.0"})


def _parameters(parts: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if sep:
            found[key.strip().lower()] = value.strip().strip('"')
    return found


def _quality(raw: str | None) -> float | None:
    if raw is None:
        return 1.0
    try:
        q = float(raw)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None


def negotiate(accept: str | None) -> Format:
    """The format the ``Accept`` header prefers; text unless OpenMetrics 1.0.0 wins."""
    best: tuple[float, Format] | None = None
    for entry in (accept or "").split(","):
        media, *rest = entry.split(";")
        media = media.strip().lower()
        params = _parameters(rest)
        q = _quality(params.get("q"))
        if not media or not q:  # q=0: "not acceptable"; an unreadable q: ignore the entry
            continue
        if media == "application/openmetrics-text":
            if params.get("version", "") not in _OPENMETRICS_VERSIONS:
                continue
            candidate = OPENMETRICS
        elif media in ("text/plain", "text/*", "*/*"):
            candidate = TEXT
        else:
            continue
        if best is None or q > best[0]:
            best = (q, candidate)
    return TEXT if best is None else best[1]

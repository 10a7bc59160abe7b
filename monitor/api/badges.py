"""SVG badges (shields.io's flat style): a grey label on the left, a coloured value on the
right, both written out in the image's accessible name.

Text widths are estimated from per-character advance widths of Verdana 11 px (the font
shields.io measures with), so the badge fits its text without a browser to measure it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from monitor.api.verdict import CheckState

# Colours with white text at a contrast of at least 4.5:1.
COLOURS = {
    "ok": "#1a7f37",
    "minor": "#9a6700",
    "partial": "#bc4c00",
    "major": "#cf222e",
    "none": "#59636e",
    "info": "#0969da",
}
STATE_COLOUR: dict[CheckState, str] = {
    "healthy": "ok",
    "recovering": "minor",
    "degraded": "minor",
    "down": "major",
    "unknown": "none",
}
STATE_TEXT: dict[CheckState, str] = {
    "healthy": "up",
    "recovering": "recovering",
    "degraded": "degraded",
    "down": "down",
    "unknown": "no data",
}
LABEL_GREY = "#555"
HEIGHT = 20
PAD = 6
_NARROW = set("fijlrtI.,:;'!| ")
_WIDE = set("mwMW%@")


@dataclass(frozen=True, slots=True)
class Badge:
    label: str
    value: str
    colour: str  # a key of COLOURS


def text_width(text: str) -> int:
    """Estimated width in pixels of ``text`` in Verdana 11 px."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.9
        elif char in _WIDE:
            width += 10.5
        elif char.isupper() or char.isdigit():
            width += 7.5
        else:
            width += 6.8
    return round(width)


def uptime_colour(uptime: float | None) -> str:
    """Green from 99.9 %, amber from 99 %, orange from 95 %, red below; grey without data."""
    if uptime is None:
        return "none"
    if uptime >= 0.999:
        return "ok"
    if uptime >= 0.99:
        return "minor"
    return "partial" if uptime >= 0.95 else "major"


def uptime_text(uptime: float | None) -> str:
    if uptime is None:
        return "no data"
    return f"{uptime * 100:.2f}%".replace(".00%", "%")


def ms_text(ms: float | None) -> str:
    if ms is None:
        return "no data"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def render(badge: Badge) -> str:
    """The badge as a standalone SVG document."""
    left = text_width(badge.label) + 2 * PAD
    right = text_width(badge.value) + 2 * PAD
    width = left + right
    label, value = escape(badge.label), escape(badge.value)
    fill = COLOURS[badge.colour]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{label}: {value}">'
        f"<title>{label}: {value}</title>"
        f'<clipPath id="r"><rect width="{width}" height="{HEIGHT}" rx="3"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="{HEIGHT}" fill="{LABEL_GREY}"/>'
        f'<rect x="{left}" width="{right}" height="{HEIGHT}" fill="{fill}"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{label}</text>'
        f'<text x="{left + right / 2}" y="14">{value}</text></g></svg>'
    )

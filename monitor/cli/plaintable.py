"""A box-drawn text table for logs and pipes, drawn as Rich's default table looks.

Rich lays out a 1,000-row table cell by cell (markup, measuring, wrapping): about a
millisecond per row, more than a check costs. Without a terminal there is nothing to
fit or colour, so this draws the same box in one pass: every row on one line, cells
taken literally (no markup), a line break inside a cell shown as a space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from unicodedata import combining, east_asian_width


@dataclass(frozen=True, slots=True)
class Column:
    """A header and whether its cells line up on the right (numbers)."""

    header: str
    right: bool = False


def cell_width(text: str) -> int:
    """Terminal columns of ``text``: wide East Asian characters take two, combining none."""
    if text.isascii():
        return len(text)
    return sum(0 if combining(c) else 2 if east_asian_width(c) in "WF" else 1 for c in text)


def render(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    """The table as text lines ending in a newline: title, header, rows, bottom rule."""
    cells = [[_one_line(cell) for cell in row] for row in rows]
    widths = [cell_width(c.header) for c in columns]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_width(cell))

    def line(values: Sequence[str], edge: str) -> str:
        parts = []
        for value, width, column in zip(values, widths, columns, strict=True):
            pad = " " * (width - cell_width(value))
            parts.append(f" {pad}{value} " if column.right else f" {value}{pad} ")
        return edge + edge.join(parts) + edge

    def rule(left: str, fill: str, cross: str, right: str) -> str:
        return left + cross.join(fill * (w + 2) for w in widths) + right

    out = [title or None]  # as Rich prints it unwrapped (soft wrap): no centring
    out += [
        rule("┏", "━", "┳", "┓"),
        line([c.header for c in columns], "┃"),
        rule("┡", "━", "╇", "┩"),
        *(line(row, "│") for row in cells),
        rule("└", "─", "┴", "┘"),
    ]
    return "".join(f"{text}\n" for text in out if text is not None)


def _one_line(cell: str) -> str:
    return " ".join(cell.splitlines()) if "\n" in cell or "\r" in cell else cell

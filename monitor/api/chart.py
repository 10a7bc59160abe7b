"""A server-rendered line chart with axes: response times by phase over time, as SVG parts.

The template draws what this computes: one path per series (gaps break the line, a lone
point is a dot), y ticks at round millisecond values from zero, x ticks at bucket starts.
Nothing here knows HTML; every number is already in SVG user units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 12, 32  # room for the axis labels
Y_TICKS = 5
X_TICKS = 6
PALETTE = 6  # series colours c1..c6 in the stylesheet, light and dark


@dataclass(frozen=True, slots=True)
class Series:
    """One phase: its mean per bucket, ``None`` where the bucket has no result."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    css: str  # c1..c6
    paths: list[str]  # SVG path data, one per run of consecutive buckets
    dots: list[tuple[float, float]]  # lone buckets
    summary: str  # "first_byte: mean 12 ms, slowest bucket 40 ms"


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x or y in user units
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.lines


def nice_step(top: float, ticks: int = Y_TICKS) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most ``ticks`` steps to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover -- the loop always returns


def _ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def line_chart(
    title: str, starts: Sequence[datetime], series: Sequence[Series], *, time_format: str
) -> Chart:
    """Lay ``series`` (one value per bucket of ``starts``) out on shared axes from 0 ms."""
    present = [v for s in series for v in s.values if v is not None]
    shown = [s for s in series if any(v is not None for v in s.values)]
    if not present or not starts:
        return Chart(title, [], [], [])
    step = nice_step(max(present))
    top = step * math.ceil(max(present) / step)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    dx = inner_w / max(len(starts) - 1, 1)

    def y(value: float) -> float:
        return round(TOP + inner_h - value / top * inner_h, 1)

    lines = []
    for n, item in enumerate(shown):
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(item.values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((round(LEFT + i * dx, 1), y(value)))
        paths = ["M" + " L".join(f"{x},{py}" for x, py in run) for run in runs if len(run) > 1]
        values = [v for v in item.values if v is not None]
        summary = (
            f"{item.name}: mean {_ms(round(sum(values) / len(values)))}, "
            f"slowest {_ms(round(max(values)))}"
        )
        dots = [run[0] for run in runs if len(run) == 1]
        lines.append(Line(item.name, f"c{n % PALETTE + 1}", paths, dots, summary))
    y_ticks = [Tick(y(k * step), _ms(k * step)) for k in range(round(top / step) + 1)]
    every = max(1, math.ceil(len(starts) / X_TICKS))
    x_ticks = [
        Tick(round(LEFT + i * dx, 1), starts[i].strftime(time_format))
        for i in range(0, len(starts), every)
    ]
    return Chart(title, lines, y_ticks, x_ticks)

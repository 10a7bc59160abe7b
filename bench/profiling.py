"""cProfile a probe and print its hot spots per probe, grouped by package."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Awaitable, Callable
from pathlib import Path


async def profile_report(probe: Callable[[], Awaitable[object]], probes: int) -> None:
    """cProfile ``probes`` sequential calls of ``probe``; print the hot spots per probe."""
    for _ in range(50):
        await probe()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(probes):
        await probe()
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table untyped
    by_area: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        area = _area(filename)
        by_area[area] = by_area.get(area, 0.0) + tt
    total = sum(by_area.values())
    print(f"\ncProfile of {probes} sequential smokewatch probes (profiler overhead inflates all):")
    print("  own time by package, us/probe:")
    for area, tt in sorted(by_area.items(), key=lambda kv: -kv[1])[:10]:
        print(f"    {area:<28} {tt * 1e6 / probes:8.1f}  ({100 * tt / total:4.1f} %)")
    print("  top functions by own time, us/probe: own, cumulative (calls+coroutine resumes/probe):")
    for key, (_cc, nc, tt, ct, _c) in sorted(raw.items(), key=lambda kv: -kv[1][2])[:15]:
        print(
            f"    {tt * 1e6 / probes:7.1f} {ct * 1e6 / probes:8.1f} ({nc / probes:5.1f})  "
            f"{_where(key)}"
        )
    print("  probes/* by cumulative time, us/probe: own, cumulative (calls+resumes/probe):")
    ours = [(k, v) for k, v in raw.items() if _area(k[0]) == "probes (smokewatch)"]
    for key, (_cc, nc, tt, ct, _c) in sorted(ours, key=lambda kv: -kv[1][3])[:12]:
        print(
            f"    {tt * 1e6 / probes:7.1f} {ct * 1e6 / probes:8.1f} ({nc / probes:5.1f})  "
            f"{_where(key)}"
        )


def _area(filename: str) -> str:
    for marker, area in (
        ("/probes/", "probes (smokewatch)"),
        ("/httpx/", "httpx"),
        ("/httpcore/", "httpcore"),
        ("/anyio/", "anyio"),
        ("/h11/", "h11"),
        ("/asyncio/", "asyncio"),
        ("/pydantic", "pydantic"),
        ("ssl", "ssl"),
        ("/idna/", "idna"),
        ("<frozen importlib", "import system"),
    ):
        if marker in filename:
            return area
    if filename == "~":
        return "builtins (C)"
    return "other"


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = Path(filename).parts
    short = "/".join(parts[-2:])
    return f"{short}:{line} {name}"

"""A probe alone after an idle gap, beside the same probe in a back-to-back stream.

``PYTHONPATH=. uv run --no-sync python bench/lone_probe.py [--gaps-ms 0 30 60] [--rounds 2]``

``serve`` starts each check alone at its due time: with 1,000 checks a minute, one
every 30 to 60 ms, the process idle in between.  This measures what that costs, for
smokewatch and for its peer in the same run: CPU per check of smokewatch's HTTP check
through the runner (``Runner.run_check`` of a ``Runtime`` without a store, as
``bench/http_probe.py``; CPU of this process, the sleeps between checks included) and
of the blackbox exporter's ``/probe`` (its own process's CPU, from ``/proc``; driven
over a keep-alive connection whose CPU is counted in neither), one probe at a time,
each followed by a sleep of ``gap`` ms (0: back to back).  Tools alternate in rounds;
medians are printed with the ratio.  Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_probe import Tools
from bench.procs import Exporter, Target, cpu_seconds

Probe = Callable[[], Awaitable[object]]


async def _cpu_ms(probe: Probe, count: int, gap_s: float, clock: Callable[[], float]) -> float:
    before = clock()
    for _ in range(count):
        await probe()
        if gap_s:
            await asyncio.sleep(gap_s)
    return 1000 * (clock() - before) / count


async def measure(args: argparse.Namespace, tools: Tools, exporter: Exporter) -> None:
    await tools.open_runtime()

    async def smokewatch() -> object:
        return await tools.through_runner()

    async def blackbox() -> object:
        return await tools.exporter_probe(0, "/fast")

    contenders: dict[str, tuple[Probe, Callable[[], float]]] = {
        "smokewatch, through the runner": (smokewatch, time.process_time),
        "blackbox exporter": (blackbox, lambda: cpu_seconds(exporter.pid)),
    }
    for probe, _ in contenders.values():  # warm-up: connections, caches, bytecode
        for _ in range(100):
            await probe()
    figures: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for gap_ms in args.gaps_ms:
            count = args.back_to_back if gap_ms == 0 else args.lone
            for name, (probe, clock) in contenders.items():
                cpu = await _cpu_ms(probe, count, gap_ms / 1000, clock)
                figures.setdefault((name, gap_ms), []).append(cpu)
    print(
        "| tool | gap after each probe | CPU ms per probe (median) | x back to back | x exporter |"
    )
    print("|---|---|---|---|---|")
    for gap_ms in args.gaps_ms:
        for name in contenders:
            cpu = statistics.median(figures[(name, gap_ms)])
            dense = statistics.median(figures[(name, args.gaps_ms[0])])
            peer = statistics.median(figures[("blackbox exporter", gap_ms)])
            print(f"| {name} | {gap_ms} ms | {cpu:.3f} | {cpu / dense:.2f} | {cpu / peer:.2f} |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaps-ms", type=int, nargs="+", default=[0, 30, 60])
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the tools")
    parser.add_argument("--back-to-back", type=int, default=1000, help="probes per row, gap 0")
    parser.add_argument("--lone", type=int, default=300, help="probes per row with a gap")
    args = parser.parse_args(argv)
    if args.gaps_ms[0] != 0:
        parser.error("the first gap must be 0 (the back-to-back row the others are set against)")
    return args


def main() -> None:
    args = parse_args()
    print(f"# bench/lone_probe.py: load {os.getloadavg()[0]:.2f}, {args.rounds} rounds")
    with Target("tiny") as target, Exporter() as exporter:
        tools = Tools(target, exporter, 1)

        async def run() -> None:
            try:
                await measure(args, tools, exporter)
            finally:
                await tools.close()

        asyncio.run(run())
    print(f"# load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

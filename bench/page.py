"""The status pages at a fixed rate: ``/``, a per-check page and a badge, 150 checks x 90 days.

``uv run python bench/page.py``                  # ~2 min on 2 shared cores
``uv run python bench/page.py --checks 50 --rate 50 --duration 5``

Seeds ``--checks`` checks x 1 region x 90 days x ``--per-day`` results into a fresh
SQLite file (``bench.store.seed_results``), serves them with ``smokewatch serve
--no-scheduler`` (default ``api.page_cache``: 30 s; answers are rebuilt only when a
newer result is stored, and none is), and drives each path with ``bench.openloop`` at
``--rate`` requests/s (open loop: latency from each request's scheduled start), with
``Accept-Encoding: gzip`` as browsers send it, after one plain GET that builds the answer
(its time is printed: what a viewer waits for after a new result).  Prints one line per
path against the goal
"p99 under 50 ms at 100 requests/s"; asserts nothing.  The machine is shared: the load
average is printed; read the figures as indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import finish_open_loop, start_open_loop
from bench.serveproc import Serve, get, write_config
from bench.store import seed_results

GOAL_P99_MS = 50.0
GZIP = ("Accept-Encoding: gzip",)


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="smokewatch-page-bench-") as tmp:
        url = f"sqlite:///{tmp}/results.db"
        seeded = asyncio.run(seed_results(url, args.checks, 1, 90, args.per_day))
        print(
            f"# {args.checks} checks x 90 days x {args.per_day}/day: {seeded.rows:,} results "
            f"seeded in {seeded.seconds:.0f} s; load {os.getloadavg()[0]:.2f}"
        )
        config = write_config(
            Path(tmp) / "smokewatch.yaml", url, seeded.checks, seeded.regions, cache_s=2.0
        )
        first = seeded.checks[0]
        paths = ["/", f"/checks/{first}", f"/badges/checks/{first}/uptime.svg?window=30d"]
        with Serve(config, region=seeded.regions[0], log=Path(tmp) / "serve.log") as serve:
            for path in paths:
                began = time.perf_counter()
                status, body = get(serve.port, path)  # builds it, as for a first viewer
                built_ms = (time.perf_counter() - began) * 1000
                proc = start_open_loop(serve.port, path, args.duration, GZIP, rate=args.rate)
                got = finish_open_loop(proc, args.duration)
                failed = got["errors"] + got["non_2xx"] + got["unfinished"]
                verdict = "yes" if got["p99_ms"] < GOAL_P99_MS and not failed else "NO"
                print(
                    f"{path:45} {status} {len(body):>9,} B built in {built_ms:5.0f} ms | "
                    f"{got['achieved_rps']:6.1f}/s "
                    f"p50 {got['p50_ms']:6.1f} p90 {got['p90_ms']:6.1f} "
                    f"p99 {got['p99_ms']:6.1f} max {got['max_ms']:6.1f} ms | failed {failed} | "
                    f"p99<{GOAL_P99_MS:g}ms: {verdict}"
                )
        print(f"# load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=150)
    parser.add_argument("--per-day", type=int, default=48)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=15.0)
    main(parser.parse_args())

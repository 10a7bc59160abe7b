"""Scale out within a region: runs per second and lateness with 1, 2 and 3 sharing replicas.

    PYTHONPATH=. uv run --no-sync python bench/scaleout.py [--checks 300 --interval 5 --window 30]

Real parts: a throwaway PostgreSQL cluster, ``bench.fast_target`` as the HTTP target, and
``smokewatch serve`` processes with ``scheduler.shard`` on.  Each configuration gets its
own region (so its claims and results are its own) and runs in interleaved rounds
(1, 2, 3, then 2, 3, 1, ...).  Figures come from the store: runs per second are the
claimed due times in the measured window over its length; lateness is claim time minus
due time.  CPU and memory are each replica's (psutil).  The offered load is
``checks / interval`` runs per second: a replica count that keeps up runs all of it;
the ratio shows where the machine's cores saturate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.procs import Target
from bench.serveproc import Serve
from bench.store import throwaway_postgres
from monitor.store import database_url

CONFIG = """\
storage:
  url: {url}
logging:
  format: json
  level: warning
alert_rules: null
defaults:
  interval: {interval}s
  timeout: 5s
  retries: 0
rate_limit:
  fraction: 1.0
  default: {{limit: 100000}}
runner:
  concurrency: 64
scheduler:
  shard: true
  heartbeat: 2s
  jitter: {jitter}s
  run_at_start: false
checks:
"""


@dataclass(frozen=True, slots=True)
class Figures:
    replicas: int
    runs_per_s: float
    p50_late_s: float
    p95_late_s: float
    cpu_s_per_run: float
    rss_mb: float


def write_config(path: Path, url: str, target: str, checks: int, interval: int) -> Path:
    body = CONFIG.format(url=url, interval=interval, jitter=interval / 10)
    lines = [f"  - name: c{i:04d}\n    kind: http\n    url: {target}\n" for i in range(checks)]
    path.write_text(body + "".join(lines))
    return path


def members_seen(serve: Serve) -> int:
    with contextlib.suppress(httpx.HTTPError, KeyError, TypeError):
        shard = httpx.get(serve.url("/ready"), timeout=30).json()["shard"]
        return len([m for m in shard["members"] if m])
    return 0


async def claims(url: str, region: str, since: datetime, until: datetime) -> list[float]:
    """Lateness (s) of each claim of ``region`` due in ``[since, until)``."""
    engine = create_async_engine(database_url(url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT extract(epoch FROM claimed_at - due_at) AS late FROM run_claims "
                    "WHERE region = :region AND due_at >= :since AND due_at < :until"
                ),
                {"region": region, "since": since, "until": until},
            )
            return [float(r.late) for r in rows]
    finally:
        await engine.dispose()


def measure(
    config: Path, url: str, region: str, replicas: int, args: argparse.Namespace
) -> Figures:
    tmp = config.parent
    serves = [
        Serve(config, region=region, log=tmp / f"{region}-{i}.log", scheduler=True)
        for i in range(replicas)
    ]
    try:
        for serve in serves:
            serve.start()
        deadline = time.monotonic() + 120
        while any(members_seen(s) != replicas for s in serves):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{replicas} replicas never saw each other")
            time.sleep(1)
        time.sleep(2 * args.interval)  # settle: every check has its owner's job
        cpu0 = sum(s.cpu_seconds() for s in serves)
        since = datetime.now(UTC)
        time.sleep(args.window)
        until = datetime.now(UTC)
        cpu = sum(s.cpu_seconds() for s in serves) - cpu0
        rss = statistics.mean(s.rss_bytes() for s in serves) / 2**20
        time.sleep(args.interval)  # the window's last due times get claimed
    finally:
        for serve in serves:
            serve.stop()
    late = sorted(asyncio.run(claims(url, region, since, until)))
    runs = len(late)
    window = (until - since) / timedelta(seconds=1)
    p95 = late[min(runs - 1, int(0.95 * runs))] if runs else float("nan")
    return Figures(
        replicas=replicas,
        runs_per_s=runs / window,
        p50_late_s=statistics.median(late) if late else float("nan"),
        p95_late_s=p95,
        cpu_s_per_run=cpu / runs if runs else float("nan"),
        rss_mb=rss,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--interval", type=int, default=5, help="seconds")
    parser.add_argument("--window", type=float, default=30.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--replicas", default="1,2,3")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.replicas.split(",")]
    results: dict[int, list[Figures]] = {n: [] for n in counts}
    load0 = os.getloadavg()[0]
    with throwaway_postgres() as url, Target("tiny") as target:
        tmp = Path(tempfile.mkdtemp(prefix="smokewatch-scaleout-"))
        config = write_config(
            tmp / "smokewatch.yaml", url, target.url("/fast"), args.checks, args.interval
        )
        for rnd in range(args.rounds):
            order = counts[rnd % len(counts) :] + counts[: rnd % len(counts)]
            for n in order:
                figures = measure(config, url, f"r{rnd}n{n}", n, args)
                results[n].append(figures)
                print(
                    f"round {rnd + 1} replicas {n}: {figures.runs_per_s:.1f} runs/s, "
                    f"p95 late {figures.p95_late_s:.2f} s",
                    file=sys.stderr,
                )
    load1 = os.getloadavg()[0]
    offered = args.checks / args.interval
    print(f"\n## HTTP checks: {args.checks} every {args.interval} s = {offered:.0f} runs/s offered")
    print(f"load average (1 min) at start / end: {load0:.1f} / {load1:.1f}; medians of rounds\n")
    print("| replicas | runs/s | vs 1 | p50 late s | p95 late s | CPU ms/run | RSS MB/replica |")
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(f.runs_per_s for f in results[counts[0]])
    for n in counts:
        rows = results[n]
        rate = statistics.median(f.runs_per_s for f in rows)
        print(
            f"| {n} | {rate:.1f} | {rate / base:.2f} | "
            f"{statistics.median(f.p50_late_s for f in rows):.2f} | "
            f"{statistics.median(f.p95_late_s for f in rows):.2f} | "
            f"{1000 * statistics.median(f.cpu_s_per_run for f in rows):.1f} | "
            f"{statistics.median(f.rss_mb for f in rows):.0f} |"
        )
    print("\nBrowser checks: not measured by this script yet (see the README's sizing).")


if __name__ == "__main__":
    main()

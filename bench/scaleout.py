"""Scale out within a region: runs per second and lateness with 1, 2 and 3 sharing replicas.

    PYTHONPATH=. uv run --no-sync python bench/scaleout.py [--kinds http,browser]
    PYTHONPATH=. uv run --no-sync python bench/scaleout.py --kinds http --checks 300 --interval 5
    PYTHONPATH=. uv run --no-sync python bench/scaleout.py --kinds browser --browser-checks 40

Real parts: a throwaway PostgreSQL cluster, ``bench.fast_target`` as the HTTP target, and
``smokewatch serve`` processes with ``scheduler.shard`` on.  Each configuration gets its
own region (so its claims and results are its own) and runs in interleaved rounds
(1, 2, 3, then 2, 3, 1, ...).  Figures come from the store: runs per second are the
claimed due times in the measured window over its length; lateness is claim time minus
due time.  CPU and memory are each replica's (psutil).  The offered load is
``checks / interval`` runs per second: a replica count that keeps up runs all of it;
the ratio shows where the machine's cores saturate.

Browser checks (``--kinds browser``) load the demo target's homepage (``examples.demo_target``,
its three required selectors) in real Chromium (``/usr/bin/chromium``).  Their figures come
from the results: a run counts when its due time is in the window, and its lateness is the
probe's start (after waiting for a ``runner.browser_concurrency`` slot) minus the due time.
CPU is the whole process tree of each replica (the Python process, Playwright's driver,
Chromium and its renderers, exited ones included), and memory is the peak over the window
of the tree's summed RSS and PSS (PSS counts shared pages once, as a cgroup does), sampled
every second.  Besides 1, 2 and 3 replicas at ``browser_concurrency`` 4, one replica runs
at ``browser_concurrency`` 1 and 2: the differences give CPU and memory per concurrent
browser run.  All browser configurations run interleaved, each round in a rotated order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
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
  timeout: {timeout}s
  retries: 0
rate_limit:
  fraction: 1.0
  default: {{limit: 100000}}
runner:
  concurrency: 64
  browser_concurrency: {browser_concurrency}
browser:
  executable_path: /usr/bin/chromium
scheduler:
  shard: true
  heartbeat: 2s
  jitter: {jitter}s
  run_at_start: false
checks:
"""


SELECTORS = '["#content", "[data-testid=nav]", "#hero"]'
BROWSER_CONCURRENCY = 4  # the default of runner.browser_concurrency
BROWSER_SWEEP = (1, 2)  # one replica at these browser_concurrency values too


@dataclass(frozen=True, slots=True)
class Figures:
    replicas: int
    runs_per_s: float
    p50_late_s: float
    p95_late_s: float
    cpu_s_per_run: float
    rss_mb: float  # HTTP: each replica's Python process; browser: peak of its process tree
    pss_mb: float = float("nan")  # browser: peak of the tree's PSS, per replica
    cores: float = float("nan")  # CPU seconds per second of all replicas' trees
    not_passed: int = 0  # browser: runs whose status was not pass


@dataclass(frozen=True, slots=True)
class Setup:
    kind: str  # http | browser
    replicas: int
    browser_concurrency: int = BROWSER_CONCURRENCY

    @property
    def label(self) -> str:
        if self.kind == "http":
            return f"replicas {self.replicas}"
        return f"replicas {self.replicas}, browser_concurrency {self.browser_concurrency}"


def write_config(
    path: Path,
    url: str,
    target: str,
    checks: int,
    interval: int,
    *,
    kind: str = "http",
    browser_concurrency: int = BROWSER_CONCURRENCY,
) -> Path:
    body = CONFIG.format(
        url=url,
        interval=interval,
        jitter=interval / 10,
        timeout=5 if kind == "http" else 30,
        browser_concurrency=browser_concurrency,
    )
    if kind == "http":
        item = "  - name: c{i:04d}\n    kind: http\n    url: {target}\n"
    else:
        item = (
            "  - name: b{i:04d}\n    kind: browser\n    url: {target}\n"
            "    required_selectors: " + SELECTORS.replace("{", "{{") + "\n"
        )
    path.write_text(body + "".join(item.format(i=i, target=target) for i in range(checks)))
    return path


def tree(pid: int) -> Iterator[psutil.Process]:
    """``pid`` and its live descendants (Playwright's driver, Chromium, its renderers)."""
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        yield root
        yield from root.children(recursive=True)


def tree_cpu_s(pid: int) -> float:
    """CPU of ``pid``'s tree so far, including descendants that exited and were reaped."""
    total = 0.0
    for proc in tree(pid):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def total_cpu_s(serves: list[Serve], *, tree: bool) -> float:
    """CPU so far of all ``serves``: each one's process tree, or its Python process only."""
    return sum(tree_cpu_s(s.pid) if tree else s.cpu_seconds() for s in serves)


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """Summed RSS and PSS (MB) of ``pid``'s tree."""
    rss = pss = 0
    for proc in tree(pid):
        with contextlib.suppress(psutil.Error):
            full = proc.memory_full_info()
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
    return rss / 2**20, pss / 2**20


class PeakMemory:
    """Samples each replica's tree memory every second in a thread; keeps the peaks."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.rss = dict.fromkeys(pids, 0.0)
        self.pss = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                rss, pss = tree_memory_mb(pid)
                self.rss[pid] = max(self.rss[pid], rss)
                self.pss[pid] = max(self.pss[pid], pss)
            self._stop.wait(1.0)


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


async def result_count(url: str, region: str) -> int:
    engine = create_async_engine(database_url(url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT count(*) FROM results WHERE region = :region"), {"region": region}
            )
            return int(rows.scalar_one())
    finally:
        await engine.dispose()


async def started(
    url: str, region: str, since: datetime, until: datetime
) -> tuple[list[float], int]:
    """Lateness (s) of each run of ``region`` due in ``[since, until)``, from its result's
    start (after the pool's wait), and how many of those runs did not pass."""
    engine = create_async_engine(database_url(url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT extract(epoch FROM r.started_at - c.due_at) AS late, r.status "
                    "FROM run_claims c JOIN results r ON r.run_id = c.run_id "
                    "AND r.check = c.check AND r.region = c.region "
                    "WHERE c.region = :region AND c.due_at >= :since AND c.due_at < :until"
                ),
                {"region": region, "since": since, "until": until},
            )
            got = list(rows)
            return [float(r.late) for r in got], sum(r.status != "pass" for r in got)
    finally:
        await engine.dispose()


def measure(
    config: Path, url: str, region: str, replicas: int, args: argparse.Namespace
) -> Figures:
    tmp = config.parent
    browser = "browser" in config.name
    interval = args.browser_interval if browser else args.interval
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
        time.sleep(2 * interval)  # settle: every check has its owner's job
        if browser:  # and every replica's Chromium is up: a whole round of checks has run
            deadline = time.monotonic() + 180
            while asyncio.run(result_count(url, region)) < args.browser_checks:
                if time.monotonic() > deadline:
                    raise RuntimeError("the browser checks did not all run within 180 s")
                time.sleep(2)
        pids = [s.pid for s in serves]
        with PeakMemory(pids if browser else []) as peak:
            cpu0 = total_cpu_s(serves, tree=browser)
            since = datetime.now(UTC)
            time.sleep(args.window)
            until = datetime.now(UTC)
            cpu1 = total_cpu_s(serves, tree=browser)
        cpu = cpu1 - cpu0
        rss = statistics.mean(s.rss_bytes() for s in serves) / 2**20
        # the window's last due times get claimed (and, for browser checks, finish)
        time.sleep(interval + (args.drain if browser else 0))
    finally:
        for serve in serves:
            serve.stop()
    not_passed = 0
    if browser:
        late, not_passed = asyncio.run(started(url, region, since, until))
        rss = max(peak.rss.values())
    else:
        late = asyncio.run(claims(url, region, since, until))
    late.sort()
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
        pss_mb=max(peak.pss.values()) if browser else float("nan"),
        cores=cpu / window,
        not_passed=not_passed,
    )


def med(rows: list[Figures], field: str) -> float:
    return statistics.median(float(getattr(f, field)) for f in rows)


def print_http(
    args: argparse.Namespace, counts: list[int], results: dict[Setup, list[Figures]]
) -> None:
    offered = args.checks / args.interval
    print(
        f"\n## HTTP checks: {args.checks} every {args.interval} s = {offered:.0f} runs/s offered\n"
    )
    print("| replicas | runs/s | vs 1 | p50 late s | p95 late s | CPU ms/run | RSS MB/replica |")
    print("|---|---|---|---|---|---|---|")
    base = med(results[Setup("http", counts[0])], "runs_per_s")
    for n in counts:
        rows = results[Setup("http", n)]
        rate = med(rows, "runs_per_s")
        print(
            f"| {n} | {rate:.1f} | {rate / base:.2f} | {med(rows, 'p50_late_s'):.2f} | "
            f"{med(rows, 'p95_late_s'):.2f} | {1000 * med(rows, 'cpu_s_per_run'):.1f} | "
            f"{med(rows, 'rss_mb'):.0f} |"
        )


def print_browser(
    args: argparse.Namespace, counts: list[int], results: dict[Setup, list[Figures]]
) -> None:
    offered = args.browser_checks / args.browser_interval
    print(
        f"\n## Browser checks: {args.browser_checks} every {args.browser_interval} s = "
        f"{offered:.1f} runs/s offered (demo homepage, /usr/bin/chromium)\n"
    )
    print(
        "CPU: the replicas' whole process trees (Python, driver, Chromium, renderers) per run; "
        "cores: CPU s per s of all trees together; memory: peak per replica tree.\n"
    )
    head = (
        "| runs/s | vs 1 | p50 late s | p95 late s | CPU ms/run | cores "
        "| peak RSS MB | peak PSS MB | not pass |"
    )
    print(f"| replicas {head}")
    print("|---" * 10 + "|")
    base = med(results[Setup("browser", counts[0])], "runs_per_s")

    def row(first: str, rows: list[Figures]) -> None:
        rate = med(rows, "runs_per_s")
        print(
            f"| {first} | {rate:.2f} | {rate / base:.2f} | {med(rows, 'p50_late_s'):.1f} | "
            f"{med(rows, 'p95_late_s'):.1f} | {1000 * med(rows, 'cpu_s_per_run'):.0f} | "
            f"{med(rows, 'cores'):.2f} | {med(rows, 'rss_mb'):.0f} | {med(rows, 'pss_mb'):.0f} | "
            f"{sum(f.not_passed for f in rows)} |"
        )

    for n in counts:
        row(str(n), results[Setup("browser", n)])
    sweep = sorted({*BROWSER_SWEEP, BROWSER_CONCURRENCY})
    print("\nOne replica, varying `runner.browser_concurrency`:\n")
    print(f"| browser_concurrency {head}")
    print("|---" * 10 + "|")
    for c in sweep:
        row(str(c), results[Setup("browser", 1, c)])
    lo, hi = results[Setup("browser", 1, sweep[0])], results[Setup("browser", 1, sweep[-1])]
    span = sweep[-1] - sweep[0]
    print(
        f"\nper extra concurrent browser run ({sweep[0]} -> {sweep[-1]}): "
        f"{(med(hi, 'cores') - med(lo, 'cores')) / span:.2f} cores, "
        f"{(med(hi, 'pss_mb') - med(lo, 'pss_mb')) / span:.0f} MB PSS, "
        f"{(med(hi, 'rss_mb') - med(lo, 'rss_mb')) / span:.0f} MB RSS"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="http,browser", help="http, browser or both")
    parser.add_argument("--checks", type=int, default=300, help="HTTP checks")
    parser.add_argument("--interval", type=int, default=5, help="HTTP checks' interval, seconds")
    parser.add_argument("--browser-checks", type=int, default=40)
    parser.add_argument("--browser-interval", type=int, default=10, help="seconds")
    parser.add_argument(
        "--drain", type=float, default=20.0, help="seconds for browser runs queued at the end"
    )
    parser.add_argument("--window", type=float, default=30.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--replicas", default="1,2,3")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    counts = [int(n) for n in args.replicas.split(",")]
    setups: list[Setup] = []
    if "http" in kinds:
        setups += [Setup("http", n) for n in counts]
    if "browser" in kinds:
        setups += [Setup("browser", n) for n in counts]
        setups += [Setup("browser", 1, c) for c in BROWSER_SWEEP if c != BROWSER_CONCURRENCY]
    results: dict[Setup, list[Figures]] = {s: [] for s in setups}
    load0 = os.getloadavg()
    loads: list[float] = []
    with throwaway_postgres() as url, Target("tiny") as tiny, Target("demo") as demo:
        tmp = Path(tempfile.mkdtemp(prefix="smokewatch-scaleout-"))
        configs: dict[Setup, Path] = {}
        for s in setups:
            name = f"{s.kind}-c{s.browser_concurrency}.yaml"
            if s.kind == "http":
                path = write_config(tmp / name, url, tiny.url("/fast"), args.checks, args.interval)
            else:
                path = write_config(
                    tmp / name, url, demo.url("/"), args.browser_checks, args.browser_interval,
                    kind="browser", browser_concurrency=s.browser_concurrency,
                )  # fmt: skip
            configs[s] = path
        for rnd in range(args.rounds):
            order = setups[rnd % len(setups) :] + setups[: rnd % len(setups)]
            for s in order:
                region = f"r{rnd}{s.kind[0]}{s.replicas}c{s.browser_concurrency}"
                figures = measure(configs[s], url, region, s.replicas, args)
                results[s].append(figures)
                loads.append(os.getloadavg()[0])
                print(
                    f"round {rnd + 1} {s.kind} {s.label}: {figures.runs_per_s:.2f} runs/s, "
                    f"p95 late {figures.p95_late_s:.2f} s, {figures.cores:.2f} cores, "
                    f"{figures.rss_mb:.0f} MB RSS / {figures.pss_mb:.0f} MB PSS (browser: peaks), "
                    f"load {loads[-1]:.1f}",
                    file=sys.stderr,
                )
    load1 = os.getloadavg()
    print(
        f"\n{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; load average "
        f"(1/5/15 min) at start {load0[0]:.1f}/{load0[1]:.1f}/{load0[2]:.1f}, end "
        f"{load1[0]:.1f}/{load1[1]:.1f}/{load1[2]:.1f}, after each configuration "
        f"{min(loads):.1f} to {max(loads):.1f}; medians of {args.rounds} interleaved rounds"
    )
    if "http" in kinds:
        print_http(args, counts, results)
    if "browser" in kinds:
        print_browser(args, counts, results)


if __name__ == "__main__":
    main()

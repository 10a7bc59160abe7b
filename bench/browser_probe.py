"""The browser probe: a warm shared Chromium against a fresh browser per check, in one run.

``cd /work/main && uv run python bench/browser_probe.py [--checks 500] [--fresh 50]``

The demo target runs in its own process on 127.0.0.1.  Then:

1. ``--checks`` consecutive homepage checks on one :class:`BrowserPool` (the
   Runtime's way): wall time per check, CPU per check of the monitor (Python,
   the Playwright driver and Chromium, exited renderers included) and of the
   target, and the RSS (and PSS) of the monitor's process tree every 50 checks.
2. ``--fresh`` checks, each launching its own Playwright driver and Chromium.

Goals: a warm check under 400 ms wall; RSS growth under 10 % across the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
import psutil

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes.base import ProbeContext, Status
from probes.browser import PROBE, BrowserSpec
from probes.browser_pool import POOL_RESOURCE, BrowserPool

REPO = Path(__file__).resolve().parent.parent
HEADERS = {"User-Agent": "smokewatch-bench", "X-Synthetic-Monitor": "bench"}
SAMPLE_EVERY = 50
WALL_GOAL_MS = 400.0
RSS_GOAL = 0.10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_target(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.demo_target", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the demo target did not start")


def tree() -> list[psutil.Process]:
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def tree_cpu_s() -> float:
    """CPU of this process and its descendants, including exited ones their parents reaped."""
    total = 0.0
    for proc in tree():
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def proc_cpu_s(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def tree_memory_mb() -> tuple[float, float]:
    """RSS summed over the tree (counts shared pages once per process) and PSS (fair share)."""
    rss = pss = 0.0
    for proc in tree():
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


@dataclass(slots=True)
class Run:
    label: str
    walls_ms: list[float] = field(default_factory=list)
    failed: int = 0
    cpu_s: float = 0.0
    target_cpu_s: float = 0.0
    memory: list[tuple[int, float, float]] = field(default_factory=list)  # (check, rss, pss)
    launches: int = 0

    def line(self) -> str:
        n = len(self.walls_ms)
        w = sorted(self.walls_ms)
        p95 = w[min(n - 1, int(n * 0.95))]
        return (
            f"{self.label:<22} {n:>5} {self.failed:>5} {statistics.median(w):>8.0f} "
            f"{statistics.fmean(w):>8.0f} {p95:>8.0f} {self.cpu_s * 1000 / n:>9.0f} "
            f"{self.target_cpu_s * 1000 / n:>9.1f} {self.launches:>8}"
        )


async def warm(spec: BrowserSpec, checks: int, target_pid: int, artifacts: str) -> Run:
    run = Run("warm pool (shared)")
    async with httpx.AsyncClient() as client, BrowserPool(artifacts_dir=artifacts) as pool:
        ctx = ProbeContext(
            client=client,
            headers=HEADERS,
            deadline_s=30,
            check_name="bench-home",
            resources={POOL_RESOURCE: pool},
        )
        await PROBE.run(spec, ctx)  # launch and first-use costs are not a warm check
        run.memory.append((0, *tree_memory_mb()))
        cpu0, target0 = tree_cpu_s(), proc_cpu_s(target_pid)
        for i in range(1, checks + 1):
            t0 = time.perf_counter()
            result = await PROBE.run(spec, ctx)
            run.walls_ms.append((time.perf_counter() - t0) * 1000)
            run.failed += result.status is not Status.PASS
            if i % SAMPLE_EVERY == 0 or i == checks:
                cpu_mark = tree_cpu_s()
                run.memory.append((i, *tree_memory_mb()))
                cpu0 += tree_cpu_s() - cpu_mark  # sampling memory is not the check's CPU
        run.cpu_s, run.target_cpu_s = tree_cpu_s() - cpu0, proc_cpu_s(target_pid) - target0
        run.launches = pool.launches
    return run


async def fresh(spec: BrowserSpec, checks: int, target_pid: int, artifacts: str) -> Run:
    run = Run("fresh browser per check")
    async with httpx.AsyncClient() as client:
        cpu0, target0 = tree_cpu_s(), proc_cpu_s(target_pid)
        for _ in range(checks):
            t0 = time.perf_counter()
            async with BrowserPool(artifacts_dir=artifacts) as pool:
                ctx = ProbeContext(
                    client=client,
                    headers=HEADERS,
                    deadline_s=30,
                    check_name="bench-home",
                    resources={POOL_RESOURCE: pool},
                )
                result = await PROBE.run(spec, ctx)
                run.launches += pool.launches
            run.walls_ms.append((time.perf_counter() - t0) * 1000)
            run.failed += result.status is not Status.PASS
        run.cpu_s, run.target_cpu_s = tree_cpu_s() - cpu0, proc_cpu_s(target_pid) - target0
    return run


def report(runs: list[Run]) -> None:
    print(
        f"\n{'mode':<22} {'checks':>5} {'fail':>5} {'p50 ms':>8} {'mean ms':>8} {'p95 ms':>8} "
        f"{'cpu ms/ck':>9} {'tgt ms/ck':>9} {'launches':>8}"
    )
    for run in runs:
        print(run.line())
    shared = runs[0]
    print("\nwarm pool memory of the monitor's process tree (Python + driver + Chromium):")
    print(f"{'after check':>11} {'RSS MB':>9} {'PSS MB':>9}")
    for check, rss, pss in shared.memory:
        print(f"{check:>11} {rss:>9.1f} {pss:>9.1f}")
    first, last = shared.memory[0], shared.memory[-1]
    steady = shared.memory[1] if len(shared.memory) > 2 else first
    rss_growth = (last[1] - first[1]) / first[1]
    steady_growth = (last[1] - steady[1]) / steady[1]
    pss_growth = (last[2] - first[2]) / first[2]
    p50 = statistics.median(shared.walls_ms)
    print(
        f"\nRSS growth check 0 -> {last[0]}: {rss_growth:+.1%} (PSS {pss_growth:+.1%}); "
        f"check {steady[0]} -> {last[0]}: {steady_growth:+.1%}"
    )
    print(
        f"goals: warm p50 {p50:.0f} ms < {WALL_GOAL_MS:.0f} ms: "
        f"{'met' if p50 < WALL_GOAL_MS else 'NOT met'}; RSS growth {rss_growth:+.1%} "
        f"< {RSS_GOAL:.0%}: {'met' if rss_growth < RSS_GOAL else 'NOT met'}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=500, help="warm-pool checks")
    parser.add_argument("--fresh", type=int, default=50, help="fresh-browser checks")
    parser.add_argument("--no-trace", action="store_true", help="record no trace (kept on failure)")
    args = parser.parse_args()
    print(
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    port = free_port()
    target = start_target(port)
    try:
        spec = BrowserSpec.model_validate(
            {
                "url": f"http://127.0.0.1:{port}/",
                "required_selectors": ["#content", "[data-testid=nav]", "#hero"],
                "budgets": {"fail_ms": 3000},
                "trace": not args.no_trace,
            }
        )
        with TemporaryDirectory(prefix="bench-browser-") as artifacts:
            runs = [await warm(spec, args.checks, target.pid, artifacts)]
            if args.fresh:
                runs.append(await fresh(spec, args.fresh, target.pid, artifacts))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        report(runs)
    finally:
        target.terminate()
        target.wait(10)


if __name__ == "__main__":
    asyncio.run(main())

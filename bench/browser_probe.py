"""The browser probe beside bare Playwright: warm homepage checks, interleaved, in one run.

``uv run python bench/browser_probe.py [--rounds 20] [--block 10] [--before /work/before]``

The demo target runs in its own process on 127.0.0.1.  Each contender is a worker
process with its own Playwright driver and Chromium (``/usr/bin/chromium``, the
pool's launch flags), kept warm for the whole run:

- ``bare``: bare Playwright, per check a fresh context (the probe's viewport and
  headers), a new page, ``goto(url, wait_until="load")``, close;
- ``smokewatch``: the browser probe of this tree on a warm :class:`BrowserPool`
  (the same page, its three required selectors, a load budget, trace on failure);
- ``before`` (with ``--before DIR``): the probe of another checkout, the same way.

The parent runs ``--block`` checks in each worker in turn, ``--rounds`` times,
and prints per contender the medians of wall time and of CPU per check (the
worker's Python, its driver and its Chromium, exited renderers included), each
over bare's; then the RSS of each worker's process tree after every round.
Goals: smokewatch within 1.1x of bare; RSS flat between checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
HEADERS = {"User-Agent": "smokewatch-bench", "X-Synthetic-Monitor": "bench"}
SELECTORS = ["#content", "[data-testid=nav]", "#hero"]
CHROMIUM = "/usr/bin/chromium"
GOAL = 1.1


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
    deadline = time.monotonic() + 60
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


def tree_rss_mb() -> float:
    total = 0
    for proc in tree():
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


# --- the worker: one contender, driven over stdin/stdout -------------------------------


async def bare_worker(url: str) -> None:
    from playwright.async_api import async_playwright  # noqa: PLC0415

    from probes.browser_pool import LAUNCH_ARGS  # noqa: PLC0415

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_ARGS))

        async def check() -> bool:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800},
                user_agent=HEADERS["User-Agent"],
                extra_http_headers={"X-Synthetic-Monitor": HEADERS["X-Synthetic-Monitor"]},
            )
            try:
                page = await context.new_page()
                response = await page.goto(url, wait_until="load")
                return response is not None and response.ok
            finally:
                await context.close()

        await serve(check)
        await browser.close()


async def probe_worker(url: str, artifacts: str) -> None:
    import httpx  # noqa: PLC0415

    from probes.base import ProbeContext, Status  # noqa: PLC0415
    from probes.browser import PROBE, BrowserSpec  # noqa: PLC0415
    from probes.browser_pool import POOL_RESOURCE, BrowserPool  # noqa: PLC0415

    spec = BrowserSpec.model_validate(
        {"url": url, "required_selectors": SELECTORS, "budgets": {"fail_ms": 3000}}
    )
    async with (
        httpx.AsyncClient() as client,
        BrowserPool(executable_path=CHROMIUM, artifacts_dir=artifacts) as pool,
    ):
        ctx = ProbeContext(
            client=client,
            headers=HEADERS,
            deadline_s=30,
            check_name="bench-home",
            resources={POOL_RESOURCE: pool},
        )

        async def check() -> bool:
            result = await PROBE.run(spec, ctx)
            return result.status is Status.PASS

        await serve(check)


async def serve(check: Any) -> None:
    """Answer the parent: ``run N`` -> walls, CPUs, failures; ``rss``; ``quit``."""
    await check()  # launch and first-use costs are not a warm check
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "quit":
            return
        if command == "rss":
            answer: dict[str, Any] = {"rss_mb": tree_rss_mb()}
        else:
            walls, cpus, failed = [], [], 0
            for _ in range(int(rest[0])):
                cpu0, t0 = tree_cpu_s(), time.perf_counter()
                failed += not await check()
                walls.append((time.perf_counter() - t0) * 1000)
                cpus.append((tree_cpu_s() - cpu0) * 1000)
            answer = {"walls": walls, "cpus": cpus, "failed": failed}
        print(json.dumps(answer), flush=True)


# --- the parent -------------------------------------------------------------------------


class Contender:
    def __init__(self, name: str, root: Path, url: str, artifacts: str) -> None:
        self.name = name
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.failed = 0
        self.rss: list[tuple[int, float]] = []
        env = {**os.environ, "PYTHONPATH": str(root)}
        kind = "bare" if name == "bare" else "probe"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--url", url, "--artifacts", artifacts],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def run(self, n: int) -> None:
        answer = self.ask(f"run {n}")
        self.walls += answer["walls"]
        self.cpus += answer["cpus"]
        self.failed += answer["failed"]
        self.rss.append((len(self.walls), self.ask("rss")["rss_mb"]))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(60)


def report(contenders: list[Contender]) -> None:
    bare = contenders[0]
    wall0, cpu0 = statistics.median(bare.walls), statistics.median(bare.cpus)
    print(
        f"\n{'contender':<12} {'checks':>6} {'fail':>4} {'wall p50':>9} {'x bare':>7} "
        f"{'CPU p50':>8} {'x bare':>7} {'wall p95':>9}"
    )
    for c in contenders:
        wall, cpu = statistics.median(c.walls), statistics.median(c.cpus)
        p95 = sorted(c.walls)[int(len(c.walls) * 0.95) - 1]
        print(
            f"{c.name:<12} {len(c.walls):>6} {c.failed:>4} {wall:>8.0f}ms {wall / wall0:>6.2f}x "
            f"{cpu:>6.0f}ms {cpu / cpu0:>6.2f}x {p95:>8.0f}ms"
        )
    print("\nRSS of each worker's process tree (Python + driver + Chromium), MB, after check:")
    print(f"{'check':>6} " + " ".join(f"{c.name:>11}" for c in contenders))
    for i, (n, _) in enumerate(bare.rss):
        print(f"{n:>6} " + " ".join(f"{c.rss[i][1]:>11.1f}" for c in contenders))
    for c in contenders:
        first, last = c.rss[0][1], c.rss[-1][1]
        print(f"{c.name}: RSS {first:.0f} -> {last:.0f} MB ({(last - first) / first:+.1%})")
    for c in contenders[1:]:
        ratio = statistics.median(c.walls) / wall0
        print(f"goal {c.name} wall <= {GOAL}x bare: {'met' if ratio <= GOAL else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds of blocks")
    parser.add_argument("--block", type=int, default=10, help="checks per contender per round")
    parser.add_argument("--before", type=Path, help="another checkout to compare (/work/before)")
    parser.add_argument("--worker", choices=("bare", "probe"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--artifacts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "bare":
        asyncio.run(bare_worker(args.url))
        return
    if args.worker == "probe":
        asyncio.run(probe_worker(args.url, args.artifacts))
        return
    print(
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.2f} at the start"
    )
    from tempfile import TemporaryDirectory  # noqa: PLC0415

    port = free_port()
    target = start_target(port)
    url = f"http://127.0.0.1:{port}/"
    roots = [("bare", REPO), ("smokewatch", REPO)]
    if args.before:
        roots.insert(1, ("before", args.before.resolve()))
    try:
        with TemporaryDirectory(prefix="bench-browser-") as artifacts:
            contenders = [Contender(name, root, url, artifacts) for name, root in roots]
            try:
                for c in contenders:
                    c.rss.append((0, c.ask("rss")["rss_mb"]))
                for _ in range(args.rounds):
                    for c in contenders:
                        c.run(args.block)
            finally:
                for c in contenders:
                    c.close()
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
        report(contenders)
    finally:
        target.terminate()
        target.wait(10)


if __name__ == "__main__":
    main()

"""The status API under load: ``/api/v1/status``, ``/api/v2/summary.json`` and the page ``/``.

``cd /work/main && uv run python bench/api.py``                   # both stores, ~5 min
``uv run python bench/api.py --quick --backend sqlite``             # smoke check, ~1 min
``uv run python bench/api.py --no-gzip``                            # without Accept-Encoding

Seeds 50 checks x 3 regions x 90 days x 48 a day (~650k results) into a fresh SQLite
file and a throwaway PostgreSQL (``bench.store.seed_results``), writes a matching
smokewatch.yaml and runs ``smokewatch serve --no-scheduler`` on a free loopback port
(its log in a file), once with the default ``api.cache: 2s`` and once with
``api.cache: 0s`` (every request computed).  For each endpoint:

1. saturation: Debian's ``wrk --latency`` (closed loop, 1 thread, a few connections);
2. latency at a fixed 500 requests/s: ``bench.openloop`` (open loop, in its own
   process; latency from each request's scheduled start, so queueing is counted).
   Skipped when wrk showed the server cannot do 500/s at all: the queue would only
   grow for the length of the run.
3. cached only: ``/api/v1/status`` at 500/s again while a viewer loads the page once
   a second, as happens in production: the page's refreshes share the event loop.

Requests carry ``Accept-Encoding: gzip`` as browsers, httpx, requests and Go clients
send it (``--no-gzip``: without).  The server's CPU per request and RSS come from
psutil.  Prints tables against the goal "p99 under 20 ms at 500 req/s"; asserts nothing.
Everything shares this machine's cores with the load generators (and whatever else
runs): the load average is printed; read the figures as indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_table import GOAL_P99_MS, MIXED, PAGE, RATE, STORES, Row, print_tables
from bench.procs import REPO, _stop
from bench.serveproc import Serve, get, write_config
from bench.store import seed_results, throwaway_postgres
from bench.wrk import run_wrk
from bench.wrk import version as wrk_version

CHECKS, REGIONS, PER_DAY = 50, 3, 48
CACHED_S = 2.0  # the default api.cache
WRK_CONNECTIONS = 8
OPEN_CONNECTIONS = 32
ENDPOINTS = ("/api/v1/status", "/api/v2/summary.json", PAGE)
STATUS = ENDPOINTS[0]
PAGE_VIEWS_PER_S = 1.0
STORE_NAMES = dict(zip(("sqlite", "postgres"), STORES, strict=True))


@dataclass(frozen=True, slots=True)
class Plan:
    days: int
    wrk_s: int  # API endpoints, cached
    open_s: float
    short_s: int  # the page, and every uncached wrk run
    settle_s: float


FULL = Plan(days=90, wrk_s=8, open_s=10.0, short_s=5, settle_s=1.0)
QUICK = Plan(days=7, wrk_s=3, open_s=3.0, short_s=2, settle_s=0.5)


# -- measuring ---------------------------------------------------------------------


def start_open_loop(
    port: int,
    path: str,
    seconds: float,
    headers: tuple[str, ...],
    *,
    rate: float = RATE,
    connections: int = OPEN_CONNECTIONS,
) -> subprocess.Popen[str]:
    """``bench.openloop`` in its own process at ``rate``; :func:`finish_open_loop` reads it."""
    cmd = [
        sys.executable, "-m", "bench.openloop", "--port", str(port), "--path", path,
        "--rate", f"{rate:g}", "--duration", f"{seconds:g}",
        "--connections", str(connections), "--drain", "5",
    ]  # fmt: skip
    for header in headers:
        cmd += ["--header", header]
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish_open_loop(proc: subprocess.Popen[str], seconds: float) -> dict[str, Any]:
    """The JSON summary of a ``bench.openloop`` run; ``RuntimeError`` if it failed."""
    try:
        out, err = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"bench.openloop failed ({proc.returncode}): {err}")
    summary: dict[str, Any] = json.loads(out)
    return summary


def open_loop(port: int, path: str, seconds: float, headers: tuple[str, ...]) -> dict[str, Any]:
    return finish_open_loop(start_open_loop(port, path, seconds, headers), seconds)


def settle(serve: Serve, quiet_s: float) -> None:
    """Wait (up to 15 s) until the server burns under 2 % of a core for ``quiet_s``."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        before = serve.cpu_seconds()
        time.sleep(quiet_s)
        if serve.cpu_seconds() - before < 0.02 * quiet_s:
            return


def measure(
    serve: Serve, store: str, cache_s: float, path: str, plan: Plan, headers: tuple[str, ...]
) -> Row:
    head = dict(h.split(": ", 1) for h in headers)
    sizes = [len(get(serve.port, path, head)[1]) for _ in range(5)]  # warm-up, fills the cache
    uncached_or_page = cache_s == 0 or path == PAGE
    wrk_s = plan.short_s if uncached_or_page else plan.wrk_s
    settle(serve, plan.settle_s)
    cpu = serve.cpu_seconds()
    wrk = run_wrk(serve.url(path), seconds=wrk_s, connections=WRK_CONNECTIONS, headers=headers)
    wrk_cpu_ms = (serve.cpu_seconds() - cpu) * 1000 / wrk.requests if wrk.requests else math.nan
    opened: dict[str, Any] | None = None
    open_cpu_ms = float("nan")
    if wrk.rps >= RATE:
        open_s = plan.short_s if uncached_or_page else plan.open_s
        settle(serve, plan.settle_s)
        cpu = serve.cpu_seconds()
        opened = open_loop(serve.port, path, open_s, headers)
        open_cpu_ms = (serve.cpu_seconds() - cpu) * 1000 / max(1, opened["completed"])
    return Row(
        label=path,
        store=store,
        cache_s=cache_s,
        size=sizes[-1],
        wrk=wrk,
        wrk_cpu_ms=wrk_cpu_ms,
        open=opened,
        open_cpu_ms=open_cpu_ms,
        rss_mb=serve.rss_bytes() / 2**20,
        load1=os.getloadavg()[0],
    )


def measure_mixed(serve: Serve, alone: Row, plan: Plan, headers: tuple[str, ...]) -> Row:
    """Status at RATE while the page is loaded once a second: what a page refresh costs the API.

    Not run (``open`` None) when the status alone could not do RATE.
    """
    skipped = replace(alone, label=MIXED, wrk=None, wrk_cpu_ms=math.nan, open=None)
    if alone.open is None:
        return skipped
    head = dict(h.split(": ", 1) for h in headers)
    get(serve.port, PAGE, head)
    settle(serve, plan.settle_s)
    cpu = serve.cpu_seconds()
    viewer = start_open_loop(
        serve.port, PAGE, plan.open_s, headers, rate=PAGE_VIEWS_PER_S, connections=2
    )
    status = open_loop(serve.port, STATUS, plan.open_s, headers)
    finish_open_loop(viewer, plan.open_s)
    return replace(
        skipped,
        open=status,
        open_cpu_ms=(serve.cpu_seconds() - cpu) * 1000 / max(1, status["completed"]),
        rss_mb=serve.rss_bytes() / 2**20,
        load1=os.getloadavg()[0],
    )


def verify(serve: Serve, checks: int, regions: int) -> None:
    """The answers describe the seeded store: every check, every region, a result each."""
    status, body = get(serve.port, "/api/v1/status")
    report = json.loads(body)
    shapes = {len(c["regions"]) for c in report["checks"]}
    if status != 200 or len(report["checks"]) != checks or shapes != {regions}:
        raise RuntimeError(f"/api/v1/status does not show the seeded store: {body[:300]!r}")
    status, body = get(serve.port, "/api/v2/summary.json")
    if status != 200 or len(json.loads(body)["components"]) != checks:
        raise RuntimeError(f"/api/v2/summary.json does not show the seeded store: {body[:300]!r}")
    status, body = get(serve.port, PAGE)
    if status != 200 or b"check-000" not in body:
        raise RuntimeError(f"/ does not show the seeded checks: {body[:300]!r}")


def run_backend(
    store: str, url: str, work: Path, plan: Plan, headers: tuple[str, ...]
) -> list[Row]:
    seeded = asyncio.run(seed_results(url, CHECKS, REGIONS, plan.days, PER_DAY))
    print(
        f"\n## {STORE_NAMES[store]}: {seeded.rows:,} results seeded in {seeded.seconds:.0f} s "
        f"(load {_load()})",
        flush=True,
    )
    rows: list[Row] = []
    for cache_s in (CACHED_S, 0.0):
        name = f"{store}-cache{cache_s:g}s"
        config = write_config(
            work / f"{name}.yaml", url, seeded.checks, seeded.regions, cache_s=cache_s
        )
        began = time.perf_counter()
        with Serve(config, region=seeded.regions[0], log=work / f"{name}.log") as serve:
            print(f"   api.cache {cache_s:g}s: up in {time.perf_counter() - began:.1f} s", end="")
            verify(serve, CHECKS, REGIONS)
            for path in ENDPOINTS:
                row = measure(serve, STORE_NAMES[store], cache_s, path, plan, headers)
                rows.append(row)
                print(f"; {path} {row.wrk.rps if row.wrk else 0:.0f}/s", end="", flush=True)
            if cache_s > 0:  # uncached, the status alone cannot keep up
                rows.append(measure_mixed(serve, rows[-len(ENDPOINTS)], plan, headers))
            print(flush=True)
    return rows


# -- the instrument's floor --------------------------------------------------------


@contextmanager
def floor_responder() -> Iterator[int]:
    """``bench.openloop --floor`` (a trivial keep-alive responder) in its own process."""
    cmd = [sys.executable, "-m", "bench.openloop", "--floor"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"bench.openloop --floor did not report its port: {line!r}")
        yield int(line[1])
    finally:
        _stop(proc)


def print_floor(seconds: float) -> None:
    with floor_responder() as port:
        got = open_loop(port, "/", seconds, ())
    print(
        f"instrument floor (bench.openloop at {RATE:g}/s against a trivial raw-asyncio "
        f"responder): p50 {got['p50_ms']:.2f} / p90 {got['p90_ms']:.2f} / "
        f"p99 {got['p99_ms']:.2f} / max {got['max_ms']:.2f} ms; dispatcher lag "
        f"p99 {got['lag_p99_ms']:.2f} ms"
    )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(args: argparse.Namespace) -> None:
    plan = QUICK if args.quick else FULL
    headers = () if args.no_gzip else ("Accept-Encoding: gzip",)
    began = time.perf_counter()
    print(
        f"# status API: {CHECKS} checks x {REGIONS} regions x {plan.days} days x {PER_DAY}/day; "
        f"goal p99 < {GOAL_P99_MS:g} ms at {RATE:g} req/s\n"
        f"# {os.cpu_count()} cores, load average {_load()} (shared machine: figures are "
        f"indicative); Python {platform.python_version()}; {wrk_version()}\n"
        f"# wrk -t1 -c{WRK_CONNECTIONS} --latency; bench.openloop {OPEN_CONNECTIONS} keep-alive "
        f"connections; headers: {', '.join(headers) or 'none'}"
    )
    print_floor(min(plan.open_s, 3.0))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="smokewatch-bench-api-") as tmp:
        work = Path(tmp)
        try:
            if args.backend in ("sqlite", "both"):
                url = f"sqlite:///{work / 'results.db'}"
                rows += run_backend("sqlite", url, work, plan, headers)
            if args.backend in ("postgres", "both"):
                with throwaway_postgres() as url:
                    rows += run_backend("postgres", url, work, plan, headers)
        finally:
            if args.keep_logs:
                for log in work.glob("*.log"):
                    (Path(args.keep_logs) / log.name).write_bytes(log.read_bytes())
    print_tables(rows)
    print(f"\nload average at the end {_load()}; whole run {time.perf_counter() - began:.0f} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 days, 2-3 s runs: a smoke check")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--no-gzip", action="store_true", help="send no Accept-Encoding (identity responses)"
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the servers' logs here")
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_args())

"""One instance running thousands of HTTP checks: CPU, memory, store, lateness, losses, API.

``uv run --no-sync python bench/scale.py``                          # 1,000 checks every 60 s
``uv run --no-sync python bench/scale.py --checks 10000 --interval 600``
``uv run --no-sync python bench/scale.py --repo /tmp/before``       # an older checkout

Runs ``smokewatch serve`` of ``--repo`` (default: this checkout) in a subprocess, as users
run it, with ``--checks`` HTTP checks every ``--interval`` seconds against a tiny asyncio
target (``bench.fast_target``, its own process), SQLite store, for ``--duration`` seconds
(a compressed period: the start-up burst plus a few intervals).  The request budget is
opened wide so the figures are about the monitor, not the budget.  Meanwhile it samples
the server's CPU and RSS every second and reads one check's results from the API every
100 ms.  Then it stops the server (which stores what is queued) and reports:

- CPU per check: the server's CPU from ready to stop / results stored;
- RSS: the largest sample;
- store growth per 1,000 results: database size (checkpointed) minus an empty store's;
- schedule: mean gap between one check's runs, p95 of (gap minus interval), and
  lateness against the due time: each regular run's start minus ``start + k * interval +
  the check's fixed offset`` (offsets from the served checkout's own ``plan_jobs``; the
  start from the runs themselves: the least late run counts as on time);
- results lost: runs the server logged as done minus results in the store (goal 0), and
  the runs cancelled when ``scheduler.shutdown_grace`` ran out at the stop;
- API p99 (and max) during the run of ``GET /api/v1/checks/<id>/results``,
  ``/api/v1/status``, the page ``/`` and ``/metrics`` (gzip), each polled every 100 ms.

Beside it, in the same run: the blackbox exporter probing the same target the same
number of times (its CPU per probe), and a raw-asyncio prober (a fresh connection and
one ``GET`` per probe, no library: the floor), each twice: back to back, eight at a
time (``*_cpu_ms``), and on serve's own schedule (``*_sched_*``: the first
``min(checks, 2000)`` due times of one interval, each probe started at its time, as
Prometheus asks the exporter once per target per scrape interval).  A probe that comes
alone, after an idle gap, costs any prober about twice the CPU of one in a back-to-back
stream (caches and the idle CPU woken again), so ``serve`` is compared with the
exporter on the same schedule (``ratio_to_blackbox_sched``).  Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import math
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import (
    CLI_CODE,
    HOST,
    REPO,
    Exporter,
    Target,
    cpu_seconds,
    free_port,
    wait_until_up,
)

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 120.0
POLL_S = 0.1

CONFIG = """\
rate_limit:
  fraction: 1.0
  default: {{limit: 10000000}}
  learn_from_headers: false
defaults: {{interval: {interval}s, retries: 0, timeout: 10s}}
storage: {{url: "sqlite:///{db}"}}
logging: {{format: json, level: info}}
alert_rules: null
checks:
"""


def write_config(path: Path, db: Path, target: str, checks: int, interval_s: int) -> None:
    lines = [CONFIG.format(interval=interval_s, db=db)]
    lines += [f"  - {{name: c{n:05d}, kind: http, url: '{target}?n={n}'}}\n" for n in range(checks)]
    path.write_text("".join(lines))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1] if ordered else float("nan")


def db_bytes(db: Path) -> int:
    """The database's size once its WAL is checkpointed into it."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return db.stat().st_size


# name -> path, each polled every POLL_S during the run (a gzip /metrics as Prometheus asks).
POLLED = {
    "api": "/api/v1/checks/c00000/results?limit=10",
    "status": "/api/v1/status",
    "page": "/",
    "metrics": "/metrics",
}


class ApiPoller(threading.Thread):
    """``GET path`` every ``POLL_S`` on a fresh connection; latencies in seconds."""

    def __init__(self, port: int, path: str) -> None:
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.latencies: list[float] = []
        self.failures = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(POLL_S):
            started = time.perf_counter()
            conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                conn.request("GET", self.path, headers={"Accept-Encoding": "gzip"})
                ok = conn.getresponse().read() is not None
            except OSError:
                ok = False
            finally:
                conn.close()
            if ok:
                self.latencies.append(time.perf_counter() - started)
            else:
                self.failures += 1


def serve(repo: Path, config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    code = CLI_CODE
    env = {**os.environ, "PYTHONPATH": str(repo), "SMOKEWATCH_REGION": "local"}
    cmd = [sys.executable, "-c", code, "serve", "--config", str(config), "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)


def empty_store_bytes(repo: Path, tmp: Path) -> int:
    db = tmp / "empty.db"
    code = (
        "import asyncio, sys\nfrom monitor.store import ResultStore\n"
        "async def go():\n    s = await ResultStore.open(sys.argv[1])\n    await s.close()\n"
        "asyncio.run(go())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo)}
    subprocess.run([sys.executable, "-c", code, f"sqlite:///{db}"], cwd=repo, env=env, check=True)
    return db_bytes(db)


def log_events(log: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line).get("event", "")
        except (ValueError, AttributeError):
            continue
        counts[event] = counts.get(event, 0) + 1
    return counts


def cancelled_at_stop(log: Path) -> int:
    """Runs still going when ``scheduler.shutdown_grace`` ran out at SIGTERM (cancelled)."""
    cancelled = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "service.runs_cancelled":
            cancelled += int(event.get("runs", 0))
    return cancelled


PLAN_OFFSETS = """\
import json, sys
from pathlib import Path
from monitor.config.loader import load_config
from monitor.scheduling.scheduler import plan_jobs
config = load_config(Path(sys.argv[1])).config
plans = plan_jobs(config, [c for c in config.checks if c.enabled])
print(json.dumps({name: plan.offset_s for name, plan in plans.items()}))
"""


def plan_offsets(repo: Path, config: Path) -> dict[str, float]:
    """Each check's fixed delay after its slots, as the served checkout plans it."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    cmd = [sys.executable, "-c", PLAN_OFFSETS, str(config)]
    out = subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, text=True)
    offsets: dict[str, float] = json.loads(out.stdout)
    return offsets


def _epoch_s(raw: object) -> float:
    at = datetime.fromisoformat(str(raw))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


EARLY_MAX_S = 5.0  # how much later than its due time a run at start may be dispatched


def lateness_s(
    starts: dict[str, list[float]], offsets: dict[str, float], interval_s: int
) -> list[float]:
    """Each regular run's start minus its due time ``t0 + k * interval + offset``, in
    ``[0, interval)`` (a run later than that is the run of a newer due time; the server
    logs the ones it folded).  ``t0``, when the jobs were scheduled and the runs at start
    were due, is before the earliest start by the most any regular run seems early
    (up to ``EARLY_MAX_S``): the least late run counts as on time."""
    rough = min(min(times) for times in starts.values())
    phases = []
    for check, times in starts.items():
        offset = offsets.get(check, 0.0)
        for at in sorted(times)[1:]:
            since = at - rough - offset
            phases.append((since + interval_s / 2) % interval_s - interval_s / 2)
    early = [-p for p in phases if -EARLY_MAX_S < p < 0]
    shift = max(early, default=0.0)
    return [p + shift if p + shift >= 0 else p + shift + interval_s for p in phases]


def schedule_figures(
    db: Path, interval_s: int, offsets: dict[str, float]
) -> tuple[float, float, list[float], int, int]:
    """Mean gap between a check's runs (after its second), p95 of (gap - interval), each
    regular run's lateness, results, errors."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute('SELECT "check", started_at, status FROM results').fetchall()
    finally:
        conn.close()
    starts: dict[str, list[datetime]] = {}
    epochs: dict[str, list[float]] = {}
    for check, started, _ in rows:
        starts.setdefault(check, []).append(datetime.fromisoformat(str(started)))
        epochs.setdefault(check, []).append(_epoch_s(started))
    gaps = []
    for times in starts.values():
        times.sort()
        # The first gap, after the run at start, is an interval plus the check's delay
        # (fixed after the fix, random before): only the gaps after it show drift.
        gaps += [(b - a).total_seconds() for a, b in itertools.pairwise(times[1:])]
    late = [g - interval_s for g in gaps]
    errors = sum(1 for *_, status in rows if status == "error")
    mean = statistics.fmean(gaps) if gaps else float("nan")
    late_due = lateness_s(epochs, offsets, interval_s) if epochs else []
    return mean, rank(late, 0.95), late_due, len(rows), errors


def measure_smokewatch(
    args: argparse.Namespace, target: Target, tmp: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """The figures of one ``serve`` run, and its checks' fixed offsets (its schedule)."""
    db, config, log = tmp / "results.db", tmp / "smokewatch.yaml", tmp / "serve.log"
    write_config(config, db, target.url("/fast"), args.checks, args.interval)
    empty = empty_store_bytes(args.repo, tmp)
    offsets = plan_offsets(args.repo, config)
    port = free_port()
    proc = serve(args.repo, config, port, log)
    rss: list[int] = []
    try:
        wait_until_up(port, "/health", timeout_s=START_TIMEOUT_S)
        cpu0 = cpu_seconds(proc.pid)
        polled = {name: path for name, path in POLLED.items() if name in args.poll}
        pollers = {name: ApiPoller(port, path) for name, path in polled.items()}
        for poller in pollers.values():
            poller.start()
        end = time.monotonic() + args.duration
        while time.monotonic() < end:
            rss.append(rss_bytes(proc.pid))
            time.sleep(1.0)
        for poller in pollers.values():
            poller.stop_event.set()
            poller.join()
        cpu1 = cpu_seconds(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    events = log_events(log)
    mean_gap, p95_late, late_due, stored, errors = schedule_figures(db, args.interval, offsets)
    done = events.get("check.done", 0)
    spool = Path(f"{db}.spool")
    spooled_left = len(spool.read_text().splitlines()) if spool.exists() else 0
    figures = {
        "cpu_ms_per_check": 1000 * (cpu1 - cpu0) / max(stored, 1),
        "rss_mib": max(rss, default=0) / 2**20,
        "store_kib_per_1000": (db_bytes(db) - empty) / 1024 / max(stored, 1) * 1000,
        "mean_gap_s": mean_gap,
        "p95_gap_late_s": p95_late,
        "due_late_p50_s": rank(late_due, 0.5),
        "due_late_p95_s": rank(late_due, 0.95),
        "due_late_max_s": max(late_due, default=float("nan")),
        "runs_done": done,
        "stored": stored,
        "errors": errors,
        "lost": done - stored - spooled_left,
        "spooled_left": spooled_left,
        "cancelled_at_stop": cancelled_at_stop(log),
        **{
            f"{name}_{figure}": value
            for name, poller in pollers.items()
            for figure, value in (
                ("p99_ms", 1000 * rank(poller.latencies, 0.99)),
                ("max_ms", 1000 * max(poller.latencies, default=float("nan"))),
                ("failed", poller.failures),
                ("answered", len(poller.latencies)),  # a stalled server is asked less
            )
        },
        "store_errors_logged": events.get("result.spooled", 0) + events.get("run.failed", 0),
    }
    return figures, offsets


async def _probe_all(urls: list[tuple[str, int, str]], concurrency: int, fetch: object) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: tuple[str, int, str]) -> None:
        async with gate:
            await fetch(*item)  # type: ignore[operator]

    await asyncio.gather(*(one(item) for item in urls))


async def _probe_on_schedule(
    urls: list[tuple[str, int, str]], due_s: list[float], fetch: object
) -> None:
    """Start each probe at its due time (seconds from now), as serve's scheduler starts
    its checks: none waits for another, and the prober idles between them."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    started = []
    for item, due in zip(urls, due_s, strict=True):
        await asyncio.sleep(max(0.0, t0 + due - loop.time()))
        started.append(asyncio.ensure_future(fetch(*item)))  # type: ignore[operator]
    await asyncio.gather(*started)


async def _drive(
    urls: list[tuple[str, int, str]], concurrency: int, fetch: object, due_s: list[float] | None
) -> None:
    if due_s is None:
        await _probe_all(urls, concurrency, fetch)
    else:
        await _probe_on_schedule(urls, due_s, fetch)


def schedule_of(offsets: dict[str, float], probes: int) -> list[float]:
    """The first ``probes`` due times of one interval of serve's schedule, from the first."""
    due = sorted(offsets.values())[:probes]
    return [d - due[0] for d in due]


async def _raw_get(host: str, port: int, path: str) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await reader.read()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def raw_asyncio_cpu_ms(
    target: Target, probes: int, concurrency: int, due_s: list[float] | None = None
) -> float:
    """CPU per probe of a bare asyncio prober: one fresh connection and GET each, back
    to back ``concurrency`` at a time, or each at its time in ``due_s``."""
    urls = [(HOST, target.port, f"/fast?n={n}") for n in range(probes)]
    started = time.process_time()
    asyncio.run(_drive(urls, concurrency, _raw_get, due_s))
    return 1000 * (time.process_time() - started) / probes


def blackbox_cpu_ms(
    target: Target, probes: int, concurrency: int, due_s: list[float] | None = None
) -> float:
    """The blackbox exporter's CPU per ``/probe`` (http_2xx) of the same target, asked
    back to back ``concurrency`` at a time, or each at its time in ``due_s``."""
    with Exporter() as exporter:
        path = "/probe?module=http_2xx&target={}"

        async def probe(host: str, port: int, url: str) -> None:
            await _raw_get(host, port, path.format(quote(url, safe="")))

        urls = [(HOST, exporter.port, target.url(f"/fast?n={n}")) for n in range(probes)]
        before = cpu_seconds(exporter.pid)
        asyncio.run(_drive(urls, concurrency, probe, due_s))
        return 1000 * (cpu_seconds(exporter.pid) - before) / probes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between a check's runs")
    parser.add_argument("--duration", type=float, default=150.0, help="seconds measured")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose serve runs")
    parser.add_argument("--no-peers", action="store_true", help="skip blackbox and raw asyncio")
    parser.add_argument(
        "--poll",
        nargs="*",
        default=list(POLLED),
        choices=list(POLLED),
        help="which answers to poll every 100 ms (default: all; each costs the server CPU)",
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    load = os.getloadavg()[0]
    print(f"# bench/scale.py: {args.checks} checks every {args.interval} s for "
          f"{args.duration:g} s; serve from {args.repo}; load {load:.2f}")  # fmt: skip
    with Target("tiny") as target, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        figures, offsets = measure_smokewatch(args, target, Path(tmp))
        for name, value in figures.items():
            print(
                f"{name:>22}: {value:.3f}" if isinstance(value, float) else f"{name:>22}: {value}"
            )
        if not args.no_peers:
            probes = min(args.checks, 2000)
            due = schedule_of(offsets, probes)
            print(f"{'raw_asyncio_cpu_ms':>22}: {raw_asyncio_cpu_ms(target, probes, 8):.3f}")
            print(f"{'raw_asyncio_sched_ms':>22}: {raw_asyncio_cpu_ms(target, probes, 8, due):.3f}")
            try:
                dense = blackbox_cpu_ms(target, probes, 8)
                print(f"{'blackbox_cpu_ms':>22}: {dense:.3f}")
                sched = blackbox_cpu_ms(target, probes, 8, due)
                print(f"{'blackbox_sched_cpu_ms':>22}: {sched:.3f}")
                print(f"{'ratio_to_blackbox_sched':>22}: {figures['cpu_ms_per_check'] / sched:.2f}")
            except RuntimeError as exc:
                print(f"{'blackbox_cpu_ms':>22}: n/a ({exc})")


if __name__ == "__main__":
    main()

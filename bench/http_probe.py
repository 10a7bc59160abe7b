"""smokewatch's HTTP probe against Prometheus' blackbox exporter, side by side, in one run.

``cd /work/main && uv run python bench/http_probe.py [--target tiny|demo]``

1. Throughput and CPU per probe against a fast local target (in its own process):
   smokewatch's ``probes.http.PROBE.run`` on the runtime's shared client (no
   keep-alive: a fresh connection per probe, over ``probes.http_wire``), the same
   check through the runner (``Runner.run_check`` of a ``Runtime`` without a store:
   context, timeout, redaction, the ``check.done`` JSON log line to /dev/null), the
   same probe on httpx's own httpcore transport (how the client was built before
   ``http_wire``: the "before" row), the exporter's ``/probe`` endpoint (its CPU
   from ``/proc``), and a new ``AsyncClient`` per probe (the anti-pattern).  The
   tools alternate in ``--rounds``; CPU per probe is the median of the rounds.
2. Timing error: the total time each tool reports for a response the target holds
   for 0, 100 and 250 ms, minus that delay; a raw-socket GET gives the floor.
3. If smokewatch uses more than the goal's CPU per probe: a cProfile of it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.procs import HOST, Exporter, Target, cpu_seconds
from bench.profiling import profile_report
from bench.rawhttp import KeepAliveConnection, get_once
from monitor.config import load_config
from monitor.config.models import CheckCommon
from monitor.runtime.runtime import Runtime, build_client
from probes.assertions import Expectations
from probes.base import ProbeContext, Status
from probes.http import PROBE, HttpSpec
from probes.timing import PHASES

HEADERS = {"User-Agent": "smokewatch-bench", "X-Synthetic-Monitor": "bench"}
CPU_GOAL_RATIO = 1.2
TIMING_GOAL_MS = 0.5  # over the raw socket's own error
SW = "smokewatch, shared client"
SW_RUNNER = "smokewatch, through the runner"
RUNNER_CONFIG = """\
rate_limit:
  fraction: 1.0
  default: {{limit: 10000000}}
  learn_from_headers: false
defaults: {{retries: 0, timeout: 10s}}
alert_rules: null
checks:
  - {{name: fast, kind: http, url: '{url}'}}
"""
SW_CORE = "smokewatch, httpcore transport (before)"
BLACKBOX = "blackbox exporter"
WARMUP = 50
SW_TOTAL = "smokewatch timings['total']"

Call = Callable[[int], Awaitable[bool]]  # worker index -> did the probe pass?


@dataclass(frozen=True, slots=True)
class RateRow:
    tool: str
    concurrency: int
    probes: int
    failed: int
    wall_s: float
    cpu_s: float  # the tool's own CPU
    target_cpu_s: float

    @property
    def per_s(self) -> float:
        return self.probes / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / self.probes if self.probes else float("nan")

    @property
    def target_ms(self) -> float:
        return self.target_cpu_s * 1000 / self.probes if self.probes else float("nan")


@dataclass(frozen=True, slots=True)
class ErrorRow:
    tool: str
    delay_ms: int
    errors_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.errors_ms)

    @property
    def p95(self) -> float:
        return percentile(self.errors_ms, 95)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def parse_metrics(body: bytes) -> dict[str, float]:
    """Prometheus text format -> ``{'name{labels}': value}`` (comments skipped)."""
    out: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def phases_ms(metrics: dict[str, float]) -> float:
    """The exporter's request time: the sum of ``probe_http_duration_seconds`` phases."""
    prefix = "probe_http_duration_seconds{"
    return 1000 * sum(v for k, v in metrics.items() if k.startswith(prefix))


class Tools:
    """One probe call per tool, all against the same target."""

    def __init__(self, target: Target, exporter: Exporter, concurrency: int) -> None:
        self.target, self.exporter = target, exporter
        self.client = build_client()
        self.ctx = ProbeContext(client=self.client, headers=HEADERS)
        # The runtime's client as it was built before probes.http_wire: httpx's transport.
        self.core_client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=0),
            timeout=httpx.Timeout(30.0),
            trust_env=False,
        )
        self.core_ctx = ProbeContext(client=self.core_client, headers=HEADERS)
        self.conns = [KeepAliveConnection(HOST, exporter.port) for _ in range(concurrency)]
        self._stack = AsyncExitStack()
        self.runtime: Runtime | None = None
        self.check: CheckCommon | None = None

    async def open_runtime(self) -> None:
        """A ``Runtime`` as ``check`` builds it (no store), logging JSON lines to /dev/null."""
        folder = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        path = folder / "smokewatch.yaml"
        path.write_text(RUNNER_CONFIG.format(url=self.target.url("/fast")))
        log = self._stack.enter_context(_devnull())
        runtime = Runtime(
            load_config(path, env={}), region="local", use_store=False, log_stream=log, env={}
        )
        self.runtime = await self._stack.enter_async_context(runtime)
        self.check = self.runtime.config.checks[0]

    async def through_runner(self) -> bool:
        if self.runtime is None or self.check is None:
            raise RuntimeError("open_runtime() first")
        run = await self.runtime.runner.run_check(self.check)
        return run.status is Status.PASS

    def spec(self, path: str) -> HttpSpec:
        return HttpSpec.model_validate({"url": self.target.url(path), "expect": Expectations()})

    async def smokewatch(
        self, spec: HttpSpec, *, core: bool = False
    ) -> tuple[bool, dict[str, float]]:
        result = await PROBE.run(spec, self.core_ctx if core else self.ctx)
        return result.status is Status.PASS, result.timings

    async def smokewatch_new_client(self, spec: HttpSpec) -> bool:
        async with build_client() as client:
            result = await PROBE.run(spec, ProbeContext(client=client, headers=HEADERS))
        return result.status is Status.PASS

    async def exporter_probe(self, worker: int, path: str) -> dict[str, float]:
        query = f"/probe?module=http_2xx&target={quote(self.target.url(path), safe='')}"
        response = await self.conns[worker].get(query)
        if response.status != 200:
            raise RuntimeError(f"exporter answered {response.status}: {response.body[:200]!r}")
        return parse_metrics(response.body)

    async def close(self) -> None:
        await self._stack.aclose()
        await self.client.aclose()
        await self.core_client.aclose()
        for conn in self.conns:
            await conn.close()


def _devnull() -> TextIO:
    return Path(os.devnull).open("w")  # the caller's exit stack closes it


async def drive(call: Call, concurrency: int, max_probes: int, max_s: float) -> tuple[int, int]:
    """Run ``call`` from ``concurrency`` workers until ``max_probes`` or ``max_s``."""
    started = done = failed = 0
    deadline = time.perf_counter() + max_s

    async def worker(index: int) -> None:
        nonlocal started, done, failed
        while started < max_probes and time.perf_counter() < deadline:
            started += 1
            ok = await call(index)
            done += 1
            failed += not ok

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done, failed


async def measure(
    tool: str,
    call: Call,
    *,
    concurrency: int,
    max_probes: int,
    max_s: float,
    cpu_of: int | None,
    target: Target,
    warmup: int = WARMUP,
) -> RateRow:
    """One throughput row; CPU is this process's (``cpu_of`` None) or that pid's."""
    if warmup:
        await drive(call, concurrency, warmup, max_s)

    def tool_cpu() -> float:
        return time.process_time() if cpu_of is None else cpu_seconds(cpu_of)

    cpu0, target0, t0 = tool_cpu(), cpu_seconds(target.pid), time.perf_counter()
    done, failed = await drive(call, concurrency, max_probes, max_s)
    wall = time.perf_counter() - t0
    cpu, target_cpu = tool_cpu() - cpu0, cpu_seconds(target.pid) - target0
    return RateRow(tool, concurrency, done, failed, wall, cpu, target_cpu)


def combine(parts: list[RateRow]) -> RateRow:
    """Rows of one tool and concurrency, measured in rounds, as one row: the totals, with
    the CPU scaled so that ``cpu_ms`` is the median of the rounds' CPU per probe."""
    first = parts[0]
    probes = sum(p.probes for p in parts)
    return RateRow(
        first.tool,
        first.concurrency,
        probes,
        sum(p.failed for p in parts),
        sum(p.wall_s for p in parts),
        statistics.median(p.cpu_ms for p in parts) * probes / 1000,
        sum(p.target_cpu_s for p in parts),
    )


async def throughput(tools: Tools, args: argparse.Namespace) -> list[RateRow]:
    fast = tools.spec("/fast")

    async def sw(_: int) -> bool:
        ok, _timings = await tools.smokewatch(fast)
        return ok

    async def sw_runner(_: int) -> bool:
        return await tools.through_runner()

    async def sw_core(_: int) -> bool:
        ok, _timings = await tools.smokewatch(fast, core=True)
        return ok

    async def sw_new(_: int) -> bool:
        return await tools.smokewatch_new_client(fast)

    async def bb(worker: int) -> bool:
        return (await tools.exporter_probe(worker, "/fast")).get("probe_success") == 1.0

    rows: list[RateRow] = []
    rounds, target = args.rounds, tools.target
    per_round, limit = max(1, args.max_probes // rounds), args.max_seconds / rounds
    tools_under_test = (
        (SW, sw, None),
        (SW_RUNNER, sw_runner, None),
        (SW_CORE, sw_core, None),
        (BLACKBOX, bb, tools.exporter.pid),
    )
    for c in args.concurrency:
        for _tool, call, _pid in tools_under_test:
            await drive(call, c, WARMUP, limit)
        # Alternate the tools in rounds, so a load change on the machine hits both alike.
        parts: dict[str, list[RateRow]] = {tool: [] for tool, _, _ in tools_under_test}
        for _ in range(rounds):
            for tool, call, pid in tools_under_test:
                row = await measure(
                    tool,
                    call,
                    concurrency=c,
                    max_probes=per_round,
                    max_s=limit,
                    cpu_of=pid,
                    target=target,
                    warmup=0,
                )
                parts[tool].append(row)
        rows += [combine(p) for p in parts.values()]
    rows.append(
        await measure(
            "smokewatch, new client per probe (anti-pattern)",
            sw_new,
            concurrency=1,
            max_probes=args.anti_probes,
            max_s=limit,
            cpu_of=None,
            target=target,
            warmup=2,
        )
    )
    return rows


@dataclass(slots=True)
class TimingReport:
    rows: list[ErrorRow]
    held: dict[int, float]  # delay -> median ms the target held past it (tiny target only)
    phases: dict[str, dict[str, float]]  # tool -> phase -> median ms, at the last delay


async def timing(tools: Tools, n: int, delays: list[int]) -> TimingReport:
    """Reported total minus the delay, interleaving the tools on each iteration."""
    report = TimingReport([], {}, {})
    for delay in delays:
        path = f"/delay?ms={delay}"
        spec = tools.spec(path)
        raw, sw, sw_core, sw_phases, phases, duration, over = [], [], [], [], [], [], []
        sw_by_phase: list[dict[str, float]] = []
        bb_by_phase: list[dict[str, float]] = []
        for _ in range(n):
            response, raw_ms = await get_once(HOST, tools.target.port, path)
            raw.append(raw_ms - delay)
            if "x-held-us" in response.headers:
                over.append(int(response.headers["x-held-us"]) / 1000 - delay)
            ok, timings = await tools.smokewatch(spec)
            if not ok:
                raise RuntimeError(f"smokewatch probe failed on {path}")
            sw.append(timings["total"] - delay)
            ok, core_timings = await tools.smokewatch(spec, core=True)
            if not ok:
                raise RuntimeError(f"smokewatch (httpcore) probe failed on {path}")
            sw_core.append(core_timings["total"] - delay)
            sw_phases.append(sum(timings[phase] for phase in PHASES) - delay)
            sw_by_phase.append(timings)
            metrics = await tools.exporter_probe(0, path)
            if metrics.get("probe_success") != 1.0:
                raise RuntimeError(f"exporter probe failed on {path}")
            phases.append(phases_ms(metrics) - delay)
            duration.append(metrics["probe_duration_seconds"] * 1000 - delay)
            bb_by_phase.append(exporter_phases(metrics))
        report.rows += [
            ErrorRow("raw asyncio socket GET (floor)", delay, raw),
            ErrorRow(SW_TOTAL, delay, sw),
            ErrorRow("smokewatch sum(phase timings)", delay, sw_phases),
            ErrorRow("smokewatch before (httpcore) timings['total']", delay, sw_core),
            ErrorRow("exporter sum(probe_http_duration_seconds)", delay, phases),
            ErrorRow("exporter probe_duration_seconds", delay, duration),
        ]
        if over:
            report.held[delay] = statistics.median(over)
        report.phases = {"smokewatch": medians(sw_by_phase), "exporter": medians(bb_by_phase)}
    return report


def exporter_phases(metrics: dict[str, float]) -> dict[str, float]:
    prefix = 'probe_http_duration_seconds{phase="'
    out = {k[len(prefix) : -2]: v * 1000 for k, v in metrics.items() if k.startswith(prefix)}
    out["probe_duration"] = metrics["probe_duration_seconds"] * 1000
    return out


def medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def print_machine(exporter_version: str, target: str) -> None:
    print(
        f"machine: nproc={os.cpu_count()} python={platform.python_version()} "
        f"({platform.machine()}, {platform.system()} {platform.release()})"
    )
    print(f"exporter: {exporter_version}")
    versions = " ".join(f"{n}={metadata.version(n)}" for n in ("httpx", "httpcore", "anyio"))
    sniffio = "present" if importlib.util.find_spec("sniffio") else "ABSENT"
    print(f"client stack: {versions}; sniffio {sniffio} (absent: httpcore retries a failed")
    print("  'import sniffio' on every lock/backend setup, ~6 per request; encode/httpcore#1103)")
    print(f"target: {target}; everything on {HOST}, each tool in its own process")
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average at start: {' '.join(load)}")


def print_rates(rows: list[RateRow]) -> None:
    print("\nThroughput and CPU (fresh connection per probe, target GET /fast)")
    head = f"{'tool/variant':<50} {'conc':>4} {'probes':>6} {'fail':>4} {'probes/s':>9} "
    print(head + f"{'CPU ms/probe':>12} {'vs exporter':>11} {'target ms/req':>13}")
    print("-" * (len(head) + 39))
    peer = {r.concurrency: r.cpu_ms for r in rows if r.tool == BLACKBOX}
    for r in rows:
        ratio = f"{r.cpu_ms / peer[r.concurrency]:.2f}x" if r.concurrency in peer else ""
        print(
            f"{r.tool:<50} {r.concurrency:>4} {r.probes:>6} {r.failed:>4} {r.per_s:>9.0f} "
            f"{r.cpu_ms:>12.3f} {ratio:>11} {r.target_ms:>13.3f}"
        )


def print_errors(report: TimingReport, last_delay: int) -> None:
    print("\nTiming error: reported total - delay, ms (fresh connection, concurrency 1)")
    head = f"{'tool / reported value':<44} {'delay ms':>8} {'N':>4} {'median':>8} {'p95':>8}"
    print(head)
    print("-" * len(head))
    for r in report.rows:
        print(f"{r.tool:<44} {r.delay_ms:>8} {len(r.errors_ms):>4} {r.median:>8.3f} {r.p95:>8.3f}")
    if report.held:
        shown = ", ".join(f"{d} ms: +{ms:.3f}" for d, ms in report.held.items())
        print(f"target held each response past its delay (median, server side): {shown} ms")
    print(f"phases at {last_delay} ms delay, median ms:")
    for tool, phases in report.phases.items():
        print(f"  {tool:<10} " + " ".join(f"{k}={v:.3f}" for k, v in phases.items()))


def print_goals(rates: list[RateRow], errors: list[ErrorRow]) -> bool:
    def cpu(tool: str) -> float:
        return next(r.cpu_ms for r in rates if r.tool == tool and r.concurrency == 1)

    ratio = cpu(SW) / cpu(BLACKBOX)
    met = ratio <= CPU_GOAL_RATIO
    print(
        f"\ngoal CPU/probe <= {CPU_GOAL_RATIO:g}x exporter (conc 1): {ratio:.2f}x -> "
        f"{'met' if met else 'MISSED'}"
    )
    runner = cpu(SW_RUNNER) / cpu(BLACKBOX)
    print(
        f"goal CPU/check through the runner <= {CPU_GOAL_RATIO:g}x exporter (conc 1): "
        f"{runner:.2f}x -> {'met' if runner <= CPU_GOAL_RATIO else 'MISSED'}"
    )
    floor = {r.delay_ms: r.median for r in errors if r.tool.startswith("raw asyncio")}
    for r in errors:
        if r.tool == SW_TOTAL and r.delay_ms > 0:
            over = r.median - floor[r.delay_ms]
            verdict = "met" if over <= TIMING_GOAL_MS else "MISSED"
            print(
                f"goal median error of timings['total'] <= raw socket + {TIMING_GOAL_MS:g} ms at "
                f"{r.delay_ms} ms: raw + {over:.3f} ms -> {verdict}"
            )
    return met


async def main_async(args: argparse.Namespace, target: Target, exporter: Exporter) -> None:
    tools = Tools(target, exporter, max(args.concurrency))
    try:
        await tools.open_runtime()
        rates = await throughput(tools, args)
        print_rates(rates)
        report = await timing(tools, args.timing_n, args.delays)
        print_errors(report, args.delays[-1])
        met = print_goals(rates, report.rows)
        if args.profile or (not met and not args.no_profile):
            fast = tools.spec("/fast")
            await profile_report(lambda: tools.smokewatch(fast), args.profile_probes)
    finally:
        await tools.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/http_probe.py", description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=("tiny", "demo"), default="tiny")
    parser.add_argument("--max-probes", type=int, default=2000, help="per throughput row")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="per throughput row")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the tools per row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--anti-probes", type=int, default=30, help="new-client-per-probe row")
    parser.add_argument("--timing-n", type=int, default=50)
    parser.add_argument("--delays", type=int, nargs="+", default=[0, 100, 250])
    parser.add_argument("--profile", action="store_true", help="profile even if the goal is met")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile-probes", type=int, default=500)
    args = parser.parse_args(argv)
    label = {
        "tiny": "bench.fast_target (raw asyncio, no framework)",
        "demo": "examples.demo_target (FastAPI on uvicorn)",
    }[args.target]
    print_machine(Exporter.version(), label)
    with Target(args.target) as target, Exporter() as exporter:
        asyncio.run(main_async(args, target, exporter))


if __name__ == "__main__":
    main()

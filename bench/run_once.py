"""``smokewatch run --once`` of N HTTP checks beside the blackbox exporter probing as often.

``uv run --no-sync python bench/run_once.py [--checks 1000] [--before /work/before]``

Each round runs, one after the other against the same fast local target
(``bench.fast_target``, its own process): ``smokewatch run --once`` of this checkout
with ``--checks`` HTTP checks (a fresh SQLite store, the request budget opened wide),
the same of ``--before`` (an older checkout, when given), and the blackbox exporter
answering ``--checks`` ``/probe`` requests (http_2xx, concurrency 8).  A run's CPU is
the child's own (``wait4``: user + system, start-up and imports included), the
exporter's from ``/proc``.  Children run with compiled bytecode, as an install does
(``PYTHONDONTWRITEBYTECODE`` unset, a ``PYTHONPYCACHEPREFIX`` per checkout, compiled
by a warm-up run).  Printed: the medians over ``--rounds`` of CPU per check for
the whole run, of the marginal CPU per check (the whole run minus a one-check run of
the same checkout), of peak RSS, and the ratios to the exporter.  Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import CLI_CODE, HOST, REPO, Exporter, Target, cpu_seconds
from bench.rawhttp import KeepAliveConnection

CONFIG = """\
rate_limit:
  fraction: 1.0
  default: {{limit: 10000000}}
  learn_from_headers: false
defaults: {{retries: 0, timeout: 10s}}
storage: {{url: "sqlite:///{db}"}}
alert_rules: null
checks:
"""
EXPORTER_CONCURRENCY = 8
PYCACHE = Path(tempfile.gettempdir()) / "smokewatch-bench-pycache"


@dataclass(frozen=True, slots=True)
class Run:
    cpu_s: float
    wall_s: float
    rss_mib: float
    code: int


def write_config(path: Path, db: Path, target: str, checks: int) -> None:
    lines = [CONFIG.format(db=db)]
    lines += [f"  - {{name: c{n:05d}, kind: http, url: '{target}?n={n}'}}\n" for n in range(checks)]
    path.write_text("".join(lines))


def run_once(repo: Path, config: Path) -> Run:
    """``smokewatch run --once`` of ``repo`` as a child process; its own CPU and peak RSS."""
    code = CLI_CODE
    env = {**os.environ, "PYTHONPATH": str(repo), "SMOKEWATCH_REGION": "local"}
    # As a user's install runs: with compiled bytecode (this machine sets
    # PYTHONDONTWRITEBYTECODE), kept apart per checkout; the warm-up run compiles it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(
        PYCACHE / repo.resolve().as_posix().strip("/").replace("/", "+")
    )
    cmd = [sys.executable, "-c", code, "run", "--once", "--config", str(config)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=time.perf_counter() - started,
        rss_mib=usage.ru_maxrss / 1024,
        code=proc.returncode,
    )


async def _exporter_probes(exporter: Exporter, target: Target, probes: int) -> int:
    conns = [KeepAliveConnection(HOST, exporter.port) for _ in range(EXPORTER_CONCURRENCY)]
    queue = list(range(probes))
    failed = 0

    async def worker(conn: KeepAliveConnection) -> None:
        nonlocal failed
        while queue:
            n = queue.pop()
            url = quote(target.url(f"/fast?n={n}"), safe="")
            response = await conn.get(f"/probe?module=http_2xx&target={url}")
            failed += b"probe_success 1" not in response.body

    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for conn in conns:
            await conn.close()
    return failed


def exporter_round(exporter: Exporter, target: Target, probes: int) -> float:
    """The exporter's CPU seconds for ``probes`` probes of the target."""
    before = cpu_seconds(exporter.pid)
    failed = asyncio.run(_exporter_probes(exporter, target, probes))
    if failed:
        raise RuntimeError(f"the exporter failed {failed} of {probes} probes")
    return cpu_seconds(exporter.pid) - before


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/run_once.py", description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout measured")
    parser.add_argument("--before", type=Path, default=None, help="an older checkout beside it")
    args = parser.parse_args(argv)
    repos = {"smokewatch": args.repo}
    if args.before is not None:
        repos["smokewatch before"] = args.before
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"# bench/run_once.py: {args.checks} HTTP checks, {args.rounds} rounds; load {load}")
    for name, repo in repos.items():
        print(f"#   {name}: {repo}")
    whole: dict[str, list[float]] = {name: [] for name in (*repos, "blackbox exporter")}
    marginal: dict[str, list[float]] = {name: [] for name in repos}
    rss: dict[str, list[float]] = {name: [] for name in repos}
    with (
        Target("tiny") as target,
        Exporter() as exporter,
        tempfile.TemporaryDirectory(prefix="bench-once-") as tmp,
    ):
        exporter_round(exporter, target, 50)  # warm
        for repo in repos.values():  # compiles each checkout's bytecode before measuring
            config, db = Path(tmp) / "warm.yaml", Path(tmp) / f"warm-{len(repos)}.db"
            write_config(config, db, target.url("/fast"), 20)
            run_once(repo, config)
            db.unlink()
        for r in range(args.rounds):
            # Alternate which checkout goes first: the first run of a round follows the
            # exporter's burst (a thousand sockets in TIME_WAIT) and measured ~5 % more
            # CPU and RSS whichever checkout it was.
            order = list(repos.items())
            for name, repo in order if r % 2 == 0 else reversed(order):
                runs = {}
                for n in (1, args.checks):
                    config, db = (
                        Path(tmp) / f"{r}-{n}.yaml",
                        Path(tmp) / f"{r}-{n}-{len(rss[name])}.db",
                    )
                    write_config(config, db, target.url("/fast"), n)
                    runs[n] = run_once(repo, config)
                    if runs[n].code != 0:
                        raise RuntimeError(f"{name}: run --once exited {runs[n].code}")
                big, one = runs[args.checks], runs[1]
                whole[name].append(1000 * big.cpu_s / args.checks)
                marginal[name].append(1000 * (big.cpu_s - one.cpu_s) / max(args.checks - 1, 1))
                rss[name].append(big.rss_mib)
            cpu = exporter_round(exporter, target, args.checks)
            whole["blackbox exporter"].append(1000 * cpu / args.checks)
    peer = statistics.median(whole["blackbox exporter"])
    print(f"\n{'tool':<20} {'CPU ms/check (whole run)':>25} {'ratio':>6} "
          f"{'marginal ms/check':>18} {'ratio':>6} {'peak RSS MiB':>13}")  # fmt: skip
    for name, per_check in whole.items():
        w = statistics.median(per_check)
        if name in marginal:
            m = statistics.median(marginal[name])
            tail = f"{m:>18.3f} {m / peer:>5.2f}x {statistics.median(rss[name]):>13.1f}"
        else:
            tail = f"{'':>18} {'':>6} {'':>13}"
        print(f"{name:<20} {w:>25.3f} {w / peer:>5.2f}x {tail}")
    print("rows: medians of the rounds; the exporter's CPU is its own process's, per /probe")


if __name__ == "__main__":
    main()

"""False slowness from smokewatch's own hold-ups: this checkout beside an older one.

``uv run --no-sync python bench/holdups.py [--before /work/wt/base] [--rounds 20]``

A fast local target (``bench.fast_target``) answers ``/delay?ms=20`` in 20 ms and
``/delay?ms=200`` in 200 ms.  Each checkout runs, in a child process, ``--checks``
HTTP checks against each path with ``response_time: {degraded_ms: 100}``, through
``Runtime.run_once`` for ``--rounds`` rounds, while a hog task holds the child's
event loop up for ``--hold-ms`` at random moments (every 50 ms to ``--gap-ms``): what a burst
of work, a start-up or a starved CPU does to a real monitor.  Every ``degraded``
result of the fast path is false (the target answered in 20 ms); every result of
the slow path must stay ``degraded`` (a real slowness is never hidden).  Printed
per checkout: false degraded of the fast path, degraded of the slow path, and the
requests sent per result (re-measurements cost one request each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CHILD = Path(__file__).with_name("holdups_child.py")  # run against each checkout


def start_target() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fast_target", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().split()[1]
    return proc, f"http://127.0.0.1:{port}"


def run_child(
    checkout: Path, url: str, checks: int, rounds: int, hold_s: float, gap_s: float
) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(
            [
                sys.executable,
                str(CHILD),
                url,
                str(checks),
                str(rounds),
                str(hold_s),
                str(gap_s),
                folder,
            ],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=None, help="an older checkout beside it")
    parser.add_argument("--checks", type=int, default=10, help="checks per path")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hold-ms", type=float, default=150.0)
    parser.add_argument("--gap-ms", type=float, default=400.0, help="hold-ups every 50 ms to this")
    args = parser.parse_args()
    checkouts = {"smokewatch": ROOT}
    if args.before is not None:
        checkouts["smokewatch before"] = args.before
    target, url = start_target()
    try:
        print(
            f"load average {os.getloadavg()[0]:.2f}; {args.checks} checks per path x "
            f"{args.rounds} rounds; hold-ups of {args.hold_ms:g} ms every 50-{args.gap_ms:g} ms"
        )
        print(
            f"{'':20} {'fast: false degraded':>22} {'slow: degraded':>16} {'requests/result':>16}"
        )
        for name, checkout in checkouts.items():
            found = run_child(
                checkout, url, args.checks, args.rounds, args.hold_ms / 1000.0, args.gap_ms / 1000.0
            )
            fast, slow = found["counts"]["fast"], found["counts"]["slow"]
            total = args.checks * args.rounds
            per = (found["attempts"]["fast"] + found["attempts"]["slow"]) / (2 * total)
            print(
                f"{name:20} {fast.get('degraded', 0):>12} of {total:<7} "
                f"{slow.get('degraded', 0):>6} of {total:<7} {per:>16.2f}   {found['counts']}"
            )
    finally:
        target.terminate()
        target.wait(timeout=10)


if __name__ == "__main__":
    main()

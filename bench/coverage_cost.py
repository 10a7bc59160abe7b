"""What branch coverage (``make test``'s ``--cov``) costs a pytest run: the same test subset
run with and without it, alternating in rounds so a load change hits both, medians printed
side by side with their ratio.  Wall time and the run's CPU time (user + system of the pytest
process and its children) are both reported: on a shared machine CPU is the steadier one.

    uv run --no-sync python bench/coverage_cost.py [--rounds 3] [TEST PATH ...]

The default subset is CPU-bound unit and store tests (no browser, no sleeps), so the ratio
shows coverage's tracing overhead rather than time spent waiting on servers.  Python 3.11 has
no ``sys.monitoring``, so coverage uses its C tracer (``COVERAGE_CORE=sysmon`` needs 3.12+).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TESTS = ["tests/config", "tests/store", "tests/alerting/test_votes.py"]
COVERAGE = ["--cov", "--cov-report=", "--cov-fail-under=0"]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(tests: list[str], extra: list[str], data_dir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one quiet pytest run of ``tests``."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COVERAGE_FILE": str(data_dir / ".coverage")}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *tests]
    cpu, wall = children_cpu_s(), time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - wall, children_cpu_s() - cpu
    if done.returncode != 0:
        sys.exit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("tests", nargs="*", default=DEFAULT_TESTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs: dict[str, list[tuple[float, float]]] = {"without": [], "with --cov": []}
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.rounds):
            order = [("without", []), ("with --cov", COVERAGE)]
            for name, extra in order if n % 2 == 0 else order[::-1]:
                runs[name].append(one_run(args.tests, extra, Path(scratch)))
                print(f"round {n + 1} {name}: {runs[name][-1][0]:.1f} s wall", file=sys.stderr)
    load_after = os.getloadavg()
    print(f"tests: {' '.join(args.tests)}; {args.rounds} rounds, alternating")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; 2 cores")
    print(f"{'run':<12} {'wall s (median)':>16} {'CPU s (median)':>15}")
    medians = {}
    for name, figures in runs.items():
        wall = statistics.median(w for w, _ in figures)
        cpu = statistics.median(c for _, c in figures)
        medians[name] = (wall, cpu)
        print(f"{name:<12} {wall:>16.1f} {cpu:>15.1f}")
    (wall0, cpu0), (wall1, cpu1) = medians["without"], medians["with --cov"]
    print(f"{'ratio':<12} {wall1 / wall0:>16.2f} {cpu1 / cpu0:>15.2f}")


if __name__ == "__main__":
    main()

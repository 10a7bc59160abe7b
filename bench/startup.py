"""Start-up time of the ``smokewatch`` command: the median of N whole-process runs.

Each command runs N times (after one warm-up that fills the bytecode cache), and
``python -c pass`` runs beside it as the floor no Python command can beat.  The run-once
row runs one HTTP check against a tiny loopback server started here.  Wall time and the
child's CPU time (user + system) are both reported: on a loaded machine CPU time is the
steadier of the two.  ``--tree`` times another source tree (an older commit, unpacked).

    uv run --no-sync python bench/startup.py [--runs 10] [--tree PATH]
"""

from __future__ import annotations

import argparse
import http.server
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from monitor.cli import main; main()"]

CONFIG = """\
storage: {{url: "sqlite:///{db}"}}
alert_rules: null
checks:
  - name: health
    kind: http
    url: http://127.0.0.1:{port}/health
"""


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _medians_ms(argv: list[str], env: dict[str, str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``runs`` runs of ``argv``.

    ``cwd`` is outside any source tree: ``python -c`` puts the working directory
    before PYTHONPATH, so running from a checkout would time that checkout instead.
    """
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False, timeout=120)
    walls, cpus = [], []
    for _ in range(runs):
        cpu, start = _children_cpu_s(), time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False, timeout=120)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu_s() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tree", type=Path, default=REPO, help="the source tree to time")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "smokewatch.yaml"
        config.write_text(CONFIG.format(db=Path(tmp) / "results.db", port=server.server_address[1]))
        env = {
            **os.environ,
            "PYTHONPATH": str(args.tree.resolve()),
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        rows = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "smokewatch --help": [*CLI, "--help"],
            "smokewatch validate": [*CLI, "validate", "-c", str(config)],
            "smokewatch run --once (1 HTTP check)": [*CLI, "run", "--once", "-c", str(config)],
        }
        print(f"| command | wall ms (median of {args.runs}) | CPU ms (median) |\n|---|---|---|")
        for label, argv in rows.items():
            wall, cpu = _medians_ms(argv, env, Path(tmp), args.runs)
            print(f"| {label} | {wall:.0f} | {cpu:.0f} |")
    server.shutdown()


if __name__ == "__main__":
    main()

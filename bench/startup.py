"""Start-up time of the ``smokewatch`` command: the median of N whole-process runs.

Each command runs N times (after one warm-up that fills the bytecode cache), and
``python -c pass`` runs beside it as the floor no Python command can beat.  The run-once
row runs one HTTP check against a tiny loopback server started here.

    uv run --no-sync python bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import http.server
import os
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


def _median_ms(argv: list[str], env: dict[str, str], runs: int) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=False, timeout=120)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False, timeout=120)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "smokewatch.yaml"
        config.write_text(CONFIG.format(db=Path(tmp) / "results.db", port=server.server_address[1]))
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        rows = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "smokewatch --help": [*CLI, "--help"],
            "smokewatch validate": [*CLI, "validate", "-c", str(config)],
            "smokewatch run --once (1 HTTP check)": [*CLI, "run", "--once", "-c", str(config)],
        }
        print(f"| command | median of {args.runs} (ms) |\n|---|---|")
        for label, argv in rows.items():
            print(f"| {label} | {_median_ms(argv, env, args.runs):.0f} |")
    server.shutdown()


if __name__ == "__main__":
    main()

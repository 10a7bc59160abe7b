"""Start-up time of the ``smokewatch`` command: the median of N whole-process runs.

Each command runs N times (after one warm-up that fills the bytecode cache), and
``python -c pass`` runs beside it as the floor no Python command can beat.  ``validate``
runs on three configs: one HTTP check, the bundled demo config (examples/, with its alert
rules; its ``${DEMO_TARGET_URL}`` set), and the README's example (its first YAML block under
"Configuration", unset variables as warnings).  The run-once row runs one HTTP check
against a tiny loopback server started here.  Wall time and the
child's CPU time (user + system) are both reported: on a loaded machine CPU time is the
steadier of the two.  ``--tree`` times another source tree (an older commit, unpacked);
``--peer`` times a second tree in the same run, interleaved run by run with the first, and
prints both side by side with their ratio (the load average is printed before and after).

``--no-bytecode`` times every run without cached bytecode (an empty PYTHONPYCACHEPREFIX and
PYTHONDONTWRITEBYTECODE=1: every module compiles from source); by default the runs use a
bytecode cache, as an installed package does.

    uv run --no-sync python bench/startup.py [--runs 10] [--tree PATH] [--peer PATH] [--no-bytecode]
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

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import CLI_CODE, REPO

CLI = [sys.executable, "-c", CLI_CODE]

CONFIG = """\
storage: {{url: "sqlite:///{db}"}}
alert_rules: null
checks:
  - name: health
    kind: http
    url: http://127.0.0.1:{port}/health
"""


DEMO_ENV = {
    "DEMO_TARGET_URL": "http://127.0.0.1:9",
    "DEMO_TARGET_URL_WS": "ws://127.0.0.1:9",
    "SMOKE_TEST_PASSWORD": "x",
}


def readme_example() -> str:
    """The README's example smokewatch.yaml: the first YAML block under "## Configuration"."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


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


def _time_one(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv``."""
    cpu, start = _children_cpu_s(), time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False, timeout=120)
    return time.perf_counter() - start, _children_cpu_s() - cpu


def _medians_ms(
    argv: list[str], envs: list[dict[str, str]], cwd: Path, runs: int
) -> list[tuple[float, float]]:
    """Median wall and CPU milliseconds of ``runs`` runs of ``argv`` under each env.

    The envs (one per source tree) take turns run by run, so a change in the machine's
    load falls on all of them alike.  ``cwd`` is outside any source tree: ``python -c``
    puts the working directory before PYTHONPATH, so running from a checkout would time
    that checkout instead.
    """
    for env in envs:  # warm-up: fills each tree's bytecode cache
        _time_one(argv, env, cwd)
    samples: list[list[tuple[float, float]]] = [[] for _ in envs]
    for _ in range(runs):
        for i, env in enumerate(envs):
            samples[i].append(_time_one(argv, env, cwd))
    return [
        (
            statistics.median(w for w, _ in tree) * 1000,
            statistics.median(c for _, c in tree) * 1000,
        )
        for tree in samples
    ]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tree", type=Path, default=REPO, help="the source tree to time")
    parser.add_argument("--peer", type=Path, help="a second tree, timed interleaved with it")
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module anew")
    args = parser.parse_args()
    trees: list[Path] = [args.tree, *([args.peer] if args.peer else [])]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "smokewatch.yaml"
        config.write_text(CONFIG.format(db=Path(tmp) / "results.db", port=server.server_address[1]))
        readme = Path(tmp) / "readme" / "smokewatch.yaml"
        readme.parent.mkdir()
        readme.write_text(readme_example())
        demo = REPO / "examples" / "smokewatch.yaml"
        envs = []
        for i, tree in enumerate(trees):
            env = {
                **os.environ,
                **DEMO_ENV,
                "PYTHONPATH": str(tree.resolve()),
                "PYTHONPYCACHEPREFIX": str(Path(tmp) / f"pycache{i}"),
            }
            if args.no_bytecode:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            else:
                env.pop("PYTHONDONTWRITEBYTECODE", None)
            envs.append(env)
        rows = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "smokewatch --help": [*CLI, "--help"],
            "smokewatch validate (1 HTTP check)": [*CLI, "validate", "-c", str(config)],
            "smokewatch validate (demo config)": [*CLI, "validate", "-c", str(demo)],
            "smokewatch validate (README example)": [*CLI, "validate", "-c", str(readme)],
            "smokewatch run --once (1 HTTP check)": [*CLI, "run", "--once", "-c", str(config)],
        }
        cache = "no bytecode cache" if args.no_bytecode else "bytecode cached"
        print(
            f"load average at start: {_load()}; medians of {args.runs} runs, interleaved; {cache}"
        )
        names = [str(tree) for tree in trees]
        head = " | ".join(f"wall ms {n} | CPU ms {n}" for n in names)
        ratio = " | CPU ratio (first / second)" if args.peer else ""
        print(f"| command | {head}{ratio} |")
        print("|---" * (1 + 2 * len(trees) + bool(args.peer)) + "|")
        for label, argv in rows.items():
            figures = _medians_ms(argv, envs, Path(tmp), args.runs)
            cells = " | ".join(f"{wall:.0f} | {cpu:.0f}" for wall, cpu in figures)
            if args.peer:
                cells += f" | {figures[0][1] / figures[1][1]:.2f}"
            print(f"| {label} | {cells} |")
        print(f"load average at end: {_load()}")
    server.shutdown()


if __name__ == "__main__":
    main()

"""What ``make demo`` installs and how long a fresh checkout takes to show the status page:
two commits of this repository (default: the one this session started from, ``--before``,
and ``HEAD``), each unpacked with ``git archive`` into an empty folder (a fresh clone without
``.git``), then ``make demo PORT=...`` run there until ``GET /`` answers 200.  Printed side
by side: the size of the ``.venv`` it made (``du``) and the seconds to the status page.

    uv run --no-sync python bench/install_cost.py --before COMMIT [--after HEAD] [--cold]

``--cold`` gives each run an empty ``UV_CACHE_DIR`` (every wheel downloaded from the package
index); without it uv's usual cache is used, which is warm on a developer's machine.  Needs
``make``, ``uv`` and Chromium on the PATH, as ``make demo`` does.  Everything listens on
127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unpack(commit: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def answers(url: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)
    return False


def megabytes(path: Path) -> int:
    done = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def demo(commit: str, scratch: Path, *, cold: bool, timeout_s: float) -> tuple[int, float]:
    """Size of the .venv ``make demo`` made (MB) and seconds until its status page answered."""
    tree = Path(tempfile.mkdtemp(dir=scratch))
    unpack(commit, tree)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    if cold:
        env["UV_CACHE_DIR"] = tempfile.mkdtemp(dir=scratch)
    port = free_port()
    log = (scratch / f"demo-{port}.log").open("w")
    started = time.perf_counter()
    make = subprocess.Popen(
        ["make", "demo", f"PORT={port}"],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while not answers(f"http://127.0.0.1:{port}/"):
            if make.poll() is not None or time.perf_counter() - started > timeout_s:
                sys.exit(f"make demo in {tree} did not serve the page; see {log.name}")
            time.sleep(0.25)
        seconds = time.perf_counter() - started
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        log.close()
    return megabytes(tree / ".venv"), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the older commit")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--cold", action="store_true", help="an empty uv cache for each run")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="install-cost-") as scratch:
        for name, commit in (("before", args.before), ("after", args.after)):
            size, seconds = demo(commit, Path(scratch), cold=args.cold, timeout_s=args.timeout)
            rows.append((f"{name} {commit[:10]}", size, seconds))
            print(f"{name}: {size} MB, {seconds:.1f} s", file=sys.stderr)
    cache = "empty uv cache per run" if args.cold else "warm uv cache"
    print(f"make demo on a fresh tree ({cache}); load average before {load[0]:.2f}; 2 cores")
    print(f"{'tree':<20} {'.venv MB':>9} {'s to page':>10}")
    for name, size, seconds in rows:
        print(f"{name:<20} {size:>9} {seconds:>10.1f}")
    (_, size0, secs0), (_, size1, secs1) = rows
    print(f"{'after / before':<20} {size1 / size0:>9.2f} {secs1 / secs0:>10.2f}")


if __name__ == "__main__":
    main()

"""uvicorn's HTTP protocols under ``wrk``: the server's CPU per request, same app, same run.

``uv run --no-sync python bench/api_protocol.py [--rounds 2] [--seconds 4]``

One small FastAPI app (a 1.2 kB JSON answer behind the GZip middleware, as the status
API's cached answers are) is served in a forked process by each contender in turn:

- ``h11``: uvicorn's pure-Python protocol (what ``serve`` ran before);
- ``httptools``: uvicorn's protocol on the C parser, as ``uvicorn[standard]`` picks it;
- ``smokewatch``: ``monitor.api.limits.bounded_http``, the httptools protocol with the
  request deadline and the head-size limit, as ``serve`` runs it.

Each is driven by Debian's ``wrk`` (1 thread, 4 connections) for ``--seconds``, and
the server's user + system CPU per answered request is read from ``/proc``.  Prints the
medians over ``--rounds`` and each one's ratio to ``h11``; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import HOST, cpu_seconds, free_port, wait_until_up

CONTENDERS = ("h11", "httptools", "smokewatch")
BODY = b'{"status": "operational"}' * 48


def serve(kind: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415 -- only the forked server needs it
    from fastapi import FastAPI, Response  # noqa: PLC0415
    from fastapi.middleware.gzip import GZipMiddleware  # noqa: PLC0415

    from monitor.api.limits import bounded_http  # noqa: PLC0415
    from monitor.runtime.serve import MAX_HEADER_BYTES  # noqa: PLC0415

    app = FastAPI()

    @app.get("/answer")
    async def answer() -> Response:
        return Response(BODY, media_type="application/json")

    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    http = bounded_http(10.0, MAX_HEADER_BYTES) if kind == "smokewatch" else kind
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False, http=http)


def drive(kind: str, seconds: float) -> tuple[float, float]:
    """Requests a second and the server's CPU ms per request of one wrk run."""
    port = free_port()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(kind, port))
    server.start()
    try:
        wait_until_up(port, "/answer", timeout_s=30)
        pid = server.pid or 0
        before = cpu_seconds(pid)
        out = subprocess.run(
            ["wrk", "-t1", "-c4", f"-d{seconds:g}s", f"http://{HOST}:{port}/answer"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = cpu_seconds(pid) - before
    finally:
        server.terminate()
        server.join(10)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    if rate is None or done is None:
        raise RuntimeError(f"wrk printed no rate: {out}")
    return float(rate.group(1)), cpu * 1000 / int(done.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {kind: [] for kind in CONTENDERS}
    cpus: dict[str, list[float]] = {kind: [] for kind in CONTENDERS}
    for _ in range(args.rounds):
        for kind in CONTENDERS:
            rate, cpu = drive(kind, args.seconds)
            rates[kind].append(rate)
            cpus[kind].append(cpu)
    med = statistics.median
    print(
        f"# uvicorn protocols under wrk -t1 -c4; medians of {args.rounds} rounds of "
        f"{args.seconds:g} s; load {os.getloadavg()[0]:.2f}"
    )
    print("| protocol   | requests/s | server CPU ms/request | x h11 |")
    print("|------------|------------|-----------------------|-------|")
    base = med(cpus["h11"])
    for kind in CONTENDERS:
        cpu = med(cpus[kind])
        print(f"| {kind:<10} | {med(rates[kind]):>10.0f} | {cpu:>21.3f} | {cpu / base:>5.2f} |")


if __name__ == "__main__":
    main()

"""``/metrics`` over HTTP beside a static file server holding the same bytes, same run.

``PYTHONPATH=. uv run --no-sync python bench/scrape_peer.py [--rounds 30] [--block 20]``
``PYTHONPATH=/work/before uv run --no-sync python bench/scrape_peer.py``   (an older tree)

A registry of 500 checks x 3 regions (1,500 series sets, as ``bench/telemetry.py``) is
built, then two processes are forked: smokewatch's real app (``create_app``: its
middleware, read guard, ``/metrics`` route and the scrape's fast path) on uvicorn's httptools
protocol with the request deadline, as ``serve`` runs it; and the peer, a plain asyncio
static server (nginx is not installed here) answering every request with the gzip bytes
smokewatch served.  A client on one keep-alive connection each asks as Prometheus does
(OpenMetrics, gzip), alternating between the two, and reports medians:

- ``cached``: a scrape when nothing changed since the last one (also the server's CPU per
  scrape, from ``/proc``, over ``--rounds`` blocks of ``--block`` scrapes of each kind);
- ``after a change``: a scrape right after a batch of results (one per check of a
  region) was recorded: the render and compression are paid here (the bench first waits
  out the window in which a costly render is not redone, so the scrape renders);
- ``ping during render``: a trivial request sent while that render runs: how long the
  event loop is held (a render on the loop holds it for the whole render).

The tree under test is whatever ``monitor`` imports from (run this file from a copy in
the older tree's ``bench/``): the old route rendered on the loop
(``Telemetry.metrics()``) and gzipped every scrape in the middleware; before the fast
path, every scrape went through the app's middleware and routing.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import Request, Response
from prometheus_client import CollectorRegistry

from bench.procs import HOST, cpu_seconds, free_port, wait_until_up
from bench.telemetry import REGIONS, make_runs
from monitor.config.telemetry import TelemetrySettings
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.telemetry.hub import Telemetry, build_telemetry

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
HEADERS = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}


def build() -> Telemetry:
    registry = CollectorRegistry(auto_describe=True)
    log = make_logger(Redactor(frozenset()), fmt="json", stream=io.StringIO())
    telemetry = build_telemetry(
        TelemetrySettings(), registry=registry, region=REGIONS[0], env={}, log=log, version="1"
    )
    rng = random.Random(7)
    for region in REGIONS:
        for _ in range(3):
            telemetry.record(make_runs(region, rng))
    return telemetry


class Shim:
    """The service as the app sees it, on this tree (new: Scrapes; old: Telemetry): the
    loaded config of :data:`CONFIG`, a lifespan with nothing to start, the registry."""

    def __init__(self, telemetry: Telemetry, loaded: Any) -> None:
        self.telemetry = telemetry
        self.loaded = loaded
        try:
            from monitor.telemetry.scrape import Scrapes  # noqa: PLC0415 -- absent before
        except ImportError:  # the tree before /metrics went off the loop
            self.scrapes = None
        else:
            self.scrapes = Scrapes(telemetry.ctx.registry, lambda: telemetry.ctx.generation)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def metrics(self, accept: str | None = None) -> Any:
        if self.scrapes is None:
            return self.telemetry.metrics(accept)  # type: ignore[attr-defined]
        return self.scrapes.get(accept)  # a coroutine: the new route awaits it


CONFIG = """\
storage: {url: "sqlite:///{db}"}
alert_rules: null
checks:
  - {name: health, kind: http, url: "http://127.0.0.1:9/health"}
"""


def serve_smokewatch(telemetry: Telemetry, port: int) -> None:
    """The real app of ``smokewatch serve`` (``create_app``: its middleware, read guard and
    routes) over :class:`Shim`, plus the bench's own routes."""
    import uvicorn  # noqa: PLC0415 -- only the forked server needs it

    from monitor.api import create_app  # noqa: PLC0415
    from monitor.config.loader import load_config  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="scrape-peer-"))
    path = folder / "smokewatch.yaml"
    path.write_text(CONFIG.replace("{db}", str(folder / "results.db")))
    service: Any = Shim(telemetry, load_config(path, env={}))  # the ServiceView it uses
    app = create_app(
        service,
        log=make_logger(Redactor(frozenset()), fmt="json", stream=io.StringIO()),
    )
    rng = random.Random(11)
    gz: list[bytes] = []

    @app.post("/bench/record")
    async def record() -> dict[str, int]:
        telemetry.record(make_runs(REGIONS[rng.randrange(3)], rng))
        return {"ok": 1}

    @app.put("/bench/static")
    async def keep(request: Request) -> dict[str, int]:
        gz[:] = [await request.body()]
        return {"ok": 1}

    @app.get("/bench/static")
    async def static() -> Response:  # the framework's floor: the same bytes, nothing to do
        return Response(gz[0], headers={"Content-Encoding": "gzip"})

    @app.get("/bench/ping")
    async def ping() -> dict[str, int]:
        return {"ok": 1}

    from monitor.api import limits  # noqa: PLC0415 -- the protocol serve runs

    if hasattr(limits, "bounded_http"):
        http: Any = limits.bounded_http(10.0, 16 * 1024)
    else:  # before the API moved to httptools
        http = limits.bounded_h11(10.0)  # type: ignore[attr-defined]
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False, http=http)


def serve_static(body: bytes, port: int) -> None:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; "
        f"charset=utf-8\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    class Conn(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while b"\r\n\r\n" in self.buf:
                _, self.buf = self.buf.split(b"\r\n\r\n", 1)
                self.transport.write(head + body)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Conn, HOST, port)
        await server.serve_forever()

    asyncio.run(main())


def get(conn: http.client.HTTPConnection, path: str, method: str = "GET") -> tuple[float, bytes]:
    t0 = time.perf_counter()
    conn.request(method, path, headers=HEADERS)
    body = conn.getresponse().read()
    return time.perf_counter() - t0, body


def ping_during(port: int, delay_s: float, out: list[float]) -> threading.Thread:
    def run() -> None:
        time.sleep(delay_s)
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        out.append(get(conn, "/bench/ping")[0])
        conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _window(render_s: float) -> float:
    """How long after a render of ``render_s`` the next change is rendered again."""
    try:
        from monitor.telemetry.scrape import RERENDER_FACTOR, SLOW_RENDER_S  # noqa: PLC0415
    except ImportError:  # a tree without the bound: every change renders
        return 0.0
    return RERENDER_FACTOR * render_s * 1.2 if render_s >= SLOW_RENDER_S else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--block", type=int, default=20, help="scrapes of one kind in a row")
    args = parser.parse_args()
    telemetry = build()
    fork = multiprocessing.get_context("fork")
    sw_port, peer_port = free_port(), free_port()
    sw = fork.Process(target=serve_smokewatch, args=(telemetry, sw_port), daemon=True)
    sw.start()
    peer = None
    try:
        wait_until_up(sw_port, "/bench/ping", timeout_s=60)
        sw_conn = http.client.HTTPConnection(HOST, sw_port, timeout=120)
        pings: list[float] = []
        pinger = ping_during(sw_port, 0.05, pings)
        first_at = time.monotonic()
        first, gz = get(sw_conn, "/metrics")
        pinger.join()
        sw_conn.request("PUT", "/bench/static", body=gz)
        sw_conn.getresponse().read()
        peer = fork.Process(target=serve_static, args=(gz, peer_port), daemon=True)
        peer.start()
        wait_until_up(peer_port, "/")
        peer_conn = http.client.HTTPConnection(HOST, peer_port, timeout=120)
        changed: list[float] = []
        ping_render: list[float] = []
        kinds = {  # name: (connection, path, server process)
            "static": (peer_conn, "/metrics", peer),
            "cached": (sw_conn, "/metrics", sw),
            "floor": (sw_conn, "/bench/static", sw),
        }
        walls: dict[str, list[float]] = {kind: [] for kind in kinds}
        cpu = dict.fromkeys(kinds, 0.0)  # the server's CPU over the kind's blocks
        for _ in range(args.rounds):
            for kind, (conn, path, process) in kinds.items():
                before = cpu_seconds(process.pid or 0)
                walls[kind] += [get(conn, path)[0] for _ in range(args.block)]
                cpu[kind] += cpu_seconds(process.pid or 0) - before
        # A costly render is not redone within RERENDER_FACTOR times its cost (the cached
        # answer is served meanwhile): wait that out, so each scrape below renders.
        time.sleep(max(0.0, first_at + _window(first) - time.monotonic()))
        for _ in range(max(args.rounds // 3, 3)):
            get(sw_conn, "/bench/record", "POST")
            during: list[float] = []
            pinger = ping_during(sw_port, 0.05, during)
            changed.append(get(sw_conn, "/metrics")[0])
            pinger.join()
            ping_render += during
            time.sleep(_window(changed[-1]))
        med = statistics.median
        tree = "new" if Shim(telemetry, None).scrapes is not None else "old"
        print(
            f"# /metrics of {len(REGIONS) * 500} series sets, {len(gz) / 1e3:.0f} kB gzip; "
            f"monitor from {Path(sys.modules['monitor'].__file__ or '').parent.parent} ({tree}); "
            f"peer: plain asyncio static server (no nginx here); load {os.getloadavg()[0]:.2f}"
        )
        scrapes = args.rounds * args.block
        print(
            "| scrape (OpenMetrics, gzip)         | smokewatch ms | static peer ms | ratio "
            "| server CPU ms: smokewatch, peer | ratio |"
        )
        print(
            "|------------------------------------|---------------|----------------|-------"
            "|---------------------------------|-------|"
        )
        s = med(walls["static"]) * 1e3
        s_cpu = cpu["static"] / scrapes * 1e3
        rows = (
            ("FastAPI route, same bytes (floor)", walls["floor"], cpu["floor"] / scrapes * 1e3),
            ("cached (nothing changed)", walls["cached"], cpu["cached"] / scrapes * 1e3),
            ("after a change", changed, None),
        )
        for name, values, m_cpu in rows:
            m = med(values) * 1e3
            cpus = " " * 31 + " | " + " " * 5
            if m_cpu is not None:
                cpus = f"{m_cpu:>14.3f}, {s_cpu:>14.3f} | {m_cpu / s_cpu:>5.1f}"
            print(f"| {name:<34} | {m:>13.2f} | {s:>14.2f} | {m / s:>5.1f} | {cpus} |")
        print(
            f"first scrape: {first * 1e3:.0f} ms; ping sent 50 ms into it: {pings[0] * 1e3:.0f} ms"
        )
        print(
            "ping sent 50 ms into a scrape after a change: "
            f"median {med(ping_render) * 1e3:.0f} ms, max {max(ping_render) * 1e3:.0f} ms"
        )
    finally:
        for server in (sw, peer):
            if server is not None:
                server.terminate()
                server.join(10)


if __name__ == "__main__":
    main()

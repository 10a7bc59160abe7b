"""What telemetry costs per check result, and how long a ``/metrics`` scrape takes.

``cd /work/main && uv run python bench/telemetry.py [--rounds 20]``   (~30 s)

1. Per-result overhead of each exporter: a run of 500 results (60 % http, 20 % flow,
   10 % browser, 10 % websocket; 5 % failing, 2 % errors) is recorded, then flushed,
   ``--rounds`` times.  ``record`` is the hot path after every run (memory only);
   ``flush`` sends the batch: DogStatsD over UDP, agentless as deflated JSON over HTTP,
   OTLP as protobuf over HTTP, New Relic as gzipped JSON over HTTP, each to a sink in
   its own process on 127.0.0.1 (so the sink's CPU is not ours); CloudWatch through
   boto3 to moto's server, also in a process of its own (its flush wall time is mostly
   moto's).  Medians over the rounds, in microseconds per result; CPU is this
   process's (it includes the flush threads).
   The last row builds the same agentless series with ``datadog-api-client``'s models
   (the rejected alternative; CPU only, no network).
2. ``/metrics`` of a registry holding 500 checks x 3 regions: CPU of a render after
   one check ran (``monitor.telemetry.render`` formats only that check's lines again),
   prometheus_client's renderers beside ``monitor.telemetry.render`` (the same bytes);
   then ours after every check ran (nothing kept); and the gzip.
   ``bench/scrape_peer.py`` serves it over HTTP beside a static server.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datadog_api_client.model_utils import model_to_dict
from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
from datadog_api_client.v2.model.metric_payload import MetricPayload
from datadog_api_client.v2.model.metric_point import MetricPoint
from datadog_api_client.v2.model.metric_series import MetricSeries
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from bench.procs import HOST, free_port, wait_until_up
from monitor.config.telemetry import (
    CloudWatchSettings,
    DatadogSettings,
    NewRelicSettings,
    OtlpSettings,
    PrometheusSettings,
    TelemetrySettings,
)
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.runner import CheckRun
from monitor.telemetry.base import ExportContext, Exporter, points
from monitor.telemetry.cloudwatch import CloudWatchExporter
from monitor.telemetry.datadog import DogStatsdExporter, run_tags
from monitor.telemetry.datadog_agentless import AgentlessExporter
from monitor.telemetry.hub import build_telemetry
from monitor.telemetry.newrelic import NewRelicExporter
from monitor.telemetry.otlp import OtlpExporter
from monitor.telemetry.prometheus import PrometheusExporter
from monitor.telemetry.render import render_openmetrics, render_text
from probes.base import ProbeResult, Status

CHECKS = 500
KINDS = ("http",) * 6 + ("flow",) * 2 + ("browser", "websocket")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")

SINK = """
import http.server, socket, sys, threading
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", int(sys.argv[2])))
threading.Thread(target=lambda: [udp.recv(65535) for _ in iter(int, 1)], daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self): self._ok(200)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0)); self._ok(202)
    def _ok(self, code):
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def make_runs(region: str, rng: random.Random) -> list[CheckRun]:
    runs = []
    started = datetime.now(UTC)
    for i in range(CHECKS):
        kind = KINDS[i % len(KINDS)]  # a check keeps its kind from run to run
        status = (
            Status.ERROR
            if rng.random() < 0.02
            else Status.FAIL
            if rng.random() < 0.05
            else Status.PASS
        )
        ms = rng.uniform(20, 400)
        timings = {
            "http": {
                "connect": 1.0,
                "tls": 3.0,
                "request": 0.2,
                "first_byte": ms - 6,
                "transfer": 1.8,
                "total": ms,
            },
            "flow": {
                "step:login": ms / 2,
                "step:profile": ms / 3,
                "step:logout": ms / 6,
                "total": ms,
            },
            "browser": {
                "ttfb": ms,
                "dcl": ms * 3,
                "load": ms * 4,
                "lcp": ms * 3.5,
                "total": ms * 5,
            },
            "websocket": {"connect": ms, "reply": 1.0, "total": ms + 1},
        }[kind]
        result = ProbeResult(
            status, "ok" if status is Status.PASS else "expected 200, got 503", timings=timings
        )
        runs.append(CheckRun(f"check-{i:03d}", kind, region, "run", started, ms, 1, result))
    return runs


@dataclass
class Row:
    name: str
    record_us: float
    flush_us: float
    cpu_us: float

    def line(self) -> str:
        total = self.record_us + self.flush_us
        figures = (self.record_us, self.flush_us, total, self.cpu_us)
        return f"| {self.name:<34} | " + " | ".join(f"{f:>9.1f}" for f in figures) + " |"


async def measure(name: str, exporter: Exporter, runs: list[CheckRun], rounds: int) -> Row:
    record, flush, cpu = [], [], []
    for _ in range(rounds + 2):  # two warm-up rounds (imports, first connections)
        c0, t0 = time.process_time(), time.perf_counter()
        exporter.record(runs)
        t1 = time.perf_counter()
        await exporter.flush()
        t2, c2 = time.perf_counter(), time.process_time()
        record.append((t1 - t0) / len(runs) * 1e6)
        flush.append((t2 - t1) / len(runs) * 1e6)
        cpu.append((c2 - c0) / len(runs) * 1e6)
    await exporter.close()
    med = statistics.median
    return Row(name, med(record[2:]), med(flush[2:]), med(cpu[2:]))


def api_client_row(runs: list[CheckRun], rounds: int) -> Row:
    """The agentless series built with datadog-api-client's models, as its submit_metrics would."""
    cpu = []
    for _ in range(rounds):
        c0 = time.process_time()
        series = [
            MetricSeries(
                metric=name,
                type=MetricIntakeType.GAUGE,
                points=[MetricPoint(timestamp=1, value=value)],
                tags=run_tags(run),
            )
            for run in runs
            for name, value in points(run)
        ]
        model_to_dict(MetricPayload(series=series))  # type: ignore[no-untyped-call]
        cpu.append((time.process_time() - c0) / len(runs) * 1e6)
    return Row(
        "agentless via datadog-api-client*", statistics.median(cpu), 0.0, statistics.median(cpu)
    )


def render_figures(rounds: int) -> str:
    """CPU of one /metrics render (after a run changed the registry), prometheus_client's
    renderers beside ours (the same bytes), interleaved; and the gzip of the body."""
    registry = CollectorRegistry(auto_describe=True)
    log = make_logger(Redactor(frozenset()), fmt="json", stream=io.StringIO())
    telemetry = build_telemetry(
        TelemetrySettings(), registry=registry, region=REGIONS[0], env={}, log=log, version="1"
    )
    rng = random.Random(7)
    for region in REGIONS:  # one registry holding all three regions' series
        for _ in range(3):
            telemetry.record(make_runs(region, rng))
    renderers: dict[str, Callable[[CollectorRegistry], bytes]] = {
        "text: prometheus_client": generate_latest,
        "text: monitor.telemetry.render": render_text,
        "openmetrics: prometheus_client": openmetrics.generate_latest,
        "openmetrics: monitor.telemetry.render": render_openmetrics,
    }
    cpu: dict[str, list[float]] = {name: [] for name in renderers}
    one = make_runs(REGIONS[0], rng)[:1]
    burst = [run for region in REGIONS for run in make_runs(region, rng)]
    body = b""
    for _ in range(max(rounds // 4, 3)):
        for name, render in renderers.items():
            telemetry.record(one)  # a run changed it: a cached answer is no answer
            c0 = time.process_time()
            body = render(registry)
            cpu[name].append((time.process_time() - c0) * 1000)
        for fmt, render in (("text", render_text), ("openmetrics", render_openmetrics)):
            telemetry.record(burst)  # every check ran since the last render
            c0 = time.process_time()
            render(registry)
            cpu.setdefault(f"{fmt}: render, every check changed", []).append(
                (time.process_time() - c0) * 1000
            )
    zipped: dict[int, tuple[int, float]] = {}
    for level in (1, 6):
        c0 = time.process_time()
        size = len(gzip.compress(body, level))
        zipped[level] = (size, (time.process_time() - c0) * 1000)
    med = statistics.median
    newlines = body.count(b"\n")
    lines = [
        f"/metrics with {CHECKS} checks x {len(REGIONS)} regions "
        f"({len(body) / 1e6:.2f} MB, {newlines} lines), CPU ms per render after one run "
        "(last rows: after a run of every check):",
        *(f"  {name:<40} {med(values):>7.0f}" for name, values in cpu.items()),
        *(
            f"  gzip level {lv}: {size / 1e3:.0f} kB, {ms:.0f} ms"
            for lv, (size, ms) in zipped.items()
        ),
        "  (served over HTTP beside a static server: bench/scrape_peer.py)",
    ]
    return "\n".join(lines)


def exporters(
    http_port: int, udp_port: int, aws_port: int
) -> list[tuple[str, Callable[[], Exporter]]]:
    log = make_logger(Redactor(frozenset()), fmt="json", stream=io.StringIO())

    def ctx() -> ExportContext:
        env = {"DD_API_KEY": "k"}
        return ExportContext(
            registry=CollectorRegistry(), region="eu-west-1", env=env, log=log, version="1"
        )

    statsd = {"dogstatsd": {"url": f"udp://{HOST}:{udp_port}", "origin_detection": False}}
    agentless = {"mode": "agentless", "agentless": {"url": f"http://{HOST}:{http_port}"}}
    otlp = OtlpSettings(endpoint=f"http://{HOST}:{http_port}/v1/metrics")
    newrelic = {"license_key": "k", "url": f"http://{HOST}:{http_port}/metric/v1"}
    cloudwatch = {
        "region": "eu-west-1",
        "endpoint_url": f"http://{HOST}:{aws_port}",
        "access_key_id": "bench",
        "secret_access_key": "bench",
    }
    return [
        ("prometheus (registry update)", lambda: PrometheusExporter(PrometheusSettings(), ctx())),
        (
            "dogstatsd (UDP, packed)",
            lambda: DogStatsdExporter(DatadogSettings.model_validate(statsd), ctx()),
        ),
        (
            "agentless (deflate JSON, HTTP)",
            lambda: AgentlessExporter(DatadogSettings.model_validate(agentless), ctx()),
        ),
        ("otlp (protobuf, HTTP)", lambda: OtlpExporter(otlp, ctx())),
        (
            "newrelic (gzip JSON, HTTP)",
            lambda: NewRelicExporter(NewRelicSettings.model_validate(newrelic), ctx()),
        ),
        (
            "cloudwatch (boto3, moto server)",
            lambda: CloudWatchExporter(CloudWatchSettings.model_validate(cloudwatch), ctx()),
        ),
    ]


async def report(http_port: int, udp_port: int, aws_port: int, rounds: int) -> None:
    runs = make_runs("eu-west-1", random.Random(1))
    print(f"Per-result overhead: {CHECKS} results a run, median of {rounds} runs, µs per result\n")
    print(HEADER)
    for name, build in exporters(http_port, udp_port, aws_port):
        print((await measure(name, build(), runs, rounds)).line())
    print(api_client_row(runs, rounds).line())
    print("\n* model objects and serialization only (no network): the road not taken.\n")
    print(render_figures(rounds))


HEADER = """\
| exporter                           |    record |     flush |     total | CPU total |
|------------------------------------|-----------|-----------|-----------|-----------|"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    http_port, udp_port, aws_port = free_port(), free_port(), free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(http_port), str(udp_port)])
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(aws_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(http_port, "/")
        wait_until_up(aws_port, "/moto-api/")
        asyncio.run(report(http_port, udp_port, aws_port, args.rounds))
    finally:
        for process in (sink, moto):
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()

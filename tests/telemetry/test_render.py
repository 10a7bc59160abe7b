"""Specifications of the fast exposition renderer: prometheus_client's bytes, both formats."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable

import pytest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
)
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from monitor.config.telemetry import TelemetrySettings
from monitor.runner import CheckRun
from monitor.telemetry.hub import Telemetry, build_telemetry
from monitor.telemetry.render import SampleLines, render_openmetrics, render_text
from probes.base import Status
from tests.telemetry.helpers import json_logger, make_run

PROMTOOL = "/usr/bin/promtool"

Fill = Callable[[CollectorRegistry], None]


def counters(registry: CollectorRegistry) -> None:
    counter = Counter("jobs", "Jobs done", ["queue"], registry=registry)
    counter.labels("a").inc(3)
    counter.labels("b").inc(0.5)


def histograms(registry: CollectorRegistry) -> None:
    histogram = Histogram("latency_seconds", "Latency", ["path"], registry=registry)
    for value in (0.001, 0.3, 2.0, 50.0):
        histogram.labels("/x").observe(value)


def summaries_and_info(registry: CollectorRegistry) -> None:
    Summary("size_bytes", "Sizes", registry=registry).observe(12_345_678.0)
    Info("build", "Build facts", registry=registry).info({"version": "1.2", "commit": "abc"})
    Enum("state", "State", states=["up", "down"], registry=registry).state("down")


def escapes(registry: CollectorRegistry) -> None:
    gauge = Gauge(
        "odd", 'Help with \\ backslash, "quotes"\nand a newline', ["v"], registry=registry
    )
    gauge.labels('a "quoted" \\ value\nacross lines').set(-0.0)
    gauge.labels("zero").set(0.0)
    gauge.labels("nan").set(float("nan"))
    gauge.labels("inf").set(float("inf"))
    gauge.labels("ninf").set(float("-inf"))
    gauge.labels("big").set(123456789.0)
    gauge.labels("small").set(1e-9)


def with_unit(registry: CollectorRegistry) -> None:
    Gauge("disk", "Disk", unit="bytes", registry=registry).set(1)


class Custom(Collector):
    """Families the fast path hands to prometheus_client: timestamps, odd names, gauge
    histograms, a colon in a name."""

    def collect(self) -> list[GaugeMetricFamily | GaugeHistogramMetricFamily]:
        stamped = GaugeMetricFamily("stamped", "With a timestamp", labels=["x"])
        stamped.add_metric(["1"], 2.0, timestamp=1700000000.5)
        odd = GaugeMetricFamily("odd_label", "A label outside the legacy set", labels=["my.label"])
        odd.add_metric(["v"], 1.0)
        colon = GaugeMetricFamily("rule:ratio", "A recording-rule style name")
        colon.add_metric([], 0.25)
        gh = GaugeHistogramMetricFamily(
            "queue_age", "Ages", buckets=[("1.0", 3), ("+Inf", 5)], gsum_value=8
        )
        return [stamped, odd, colon, gh]


def custom(registry: CollectorRegistry) -> None:
    registry.register(Custom())


def exemplars(registry: CollectorRegistry) -> None:
    Counter("hits", "Hits", registry=registry).inc(1, exemplar={"trace_id": "abc"})


def smokewatch(registry: CollectorRegistry) -> None:
    log, _ = json_logger()
    telemetry = build_telemetry(
        TelemetrySettings(), registry=registry, region="eu", env={}, log=log, version="1"
    )
    rng = random.Random(3)
    statuses = (Status.PASS, Status.FAIL, Status.ERROR)
    telemetry.record(
        [
            make_run(check=f"c{n}", status=rng.choice(statuses), duration_ms=rng.uniform(1, 9e3))
            for n in range(40)
        ]
    )
    telemetry.ctx.failed("datadog", "down")


FILLS = [
    pytest.param(counters, id="counters-with-created"),
    pytest.param(histograms, id="histogram"),
    pytest.param(summaries_and_info, id="summary-info-stateset"),
    pytest.param(escapes, id="escapes-and-special-values"),
    pytest.param(with_unit, id="unit"),
    pytest.param(custom, id="fallback-families"),
    pytest.param(exemplars, id="exemplar"),
    pytest.param(smokewatch, id="smokewatch-telemetry"),
]


def filled(fill: Fill) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    fill(registry)
    return registry


class TestRender:
    @pytest.mark.parametrize("fill", FILLS)
    def test_text_is_prometheus_clients_bytes(self, fill: Fill) -> None:
        """render_text gives generate_latest's exact bytes."""
        registry = filled(fill)
        assert render_text(registry) == generate_latest(registry)

    @pytest.mark.parametrize("fill", FILLS)
    def test_openmetrics_is_prometheus_clients_bytes(self, fill: Fill) -> None:
        """render_openmetrics gives the OpenMetrics generate_latest's exact bytes."""
        registry = filled(fill)
        assert render_openmetrics(registry) == openmetrics.generate_latest(registry)  # type: ignore[no-untyped-call]

    def test_an_empty_registry(self) -> None:
        """No families: an empty text body, and OpenMetrics' lone '# EOF'."""
        registry = CollectorRegistry()
        assert (render_text(registry), render_openmetrics(registry)) == (b"", b"# EOF\n")

    def test_promtool_accepts_smokewatchs_metrics(self) -> None:
        """promtool check metrics finds no problem in the telemetry's rendered text."""
        body = render_text(filled(smokewatch))
        checked = subprocess.run(
            [PROMTOOL, "check", "metrics"], input=body, capture_output=True, check=False
        )
        assert (checked.returncode, checked.stdout + checked.stderr) == (0, b"")


def telemetry_on(registry: CollectorRegistry) -> Telemetry:
    log, _ = json_logger()
    return build_telemetry(
        TelemetrySettings(), registry=registry, region="eu", env={}, log=log, version="1"
    )


def https_run(check: str, not_after: float | None) -> CheckRun:
    details: dict[str, object] = {"status_code": 200}
    if not_after is not None:
        details["tls_not_after"] = not_after
    return make_run(
        check=check, timings={"connect": 1.0, "tls": 2.0, "total": 9.0}, details=details
    )


# Runs recorded after a first render, which kept every check's lines.
CHANGES = [
    pytest.param([make_run(check="c1", status=Status.FAIL, duration_ms=7.0)], id="one-check-ran"),
    pytest.param([make_run(check="new", kind="tcp")], id="a-new-check"),
    pytest.param([https_run("c2", None)], id="a-series-gone"),
    pytest.param([make_run(check='a "quoted"\\name')], id="escaped-label-value"),
    pytest.param([make_run(check="c3", region="us")], id="another-region"),
]


class TestKeptLines:
    @pytest.mark.parametrize("changes", CHANGES)
    def test_a_render_after_runs_is_prometheus_clients_bytes(self, changes: list[CheckRun]) -> None:
        """After a first render kept each check's lines, a render that follows new runs
        still gives prometheus_client's exact bytes in both formats."""
        registry = CollectorRegistry(auto_describe=True)
        telemetry = telemetry_on(registry)
        telemetry.record([make_run(check=f"c{n}", duration_ms=10.0 * n) for n in range(5)])
        telemetry.record([https_run("c2", 1.8e9)])
        render_text(registry), render_openmetrics(registry)
        telemetry.record(changes)
        assert (render_text(registry), render_openmetrics(registry)) == (
            generate_latest(registry),
            openmetrics.generate_latest(registry),  # type: ignore[no-untyped-call]
        )

    def test_samples_are_there_for_other_readers(self) -> None:
        """The kept families still have samples (a Pushgateway push reads them), newest values."""
        registry = CollectorRegistry(auto_describe=True)
        telemetry = telemetry_on(registry)
        telemetry.record([make_run(check="api", status=Status.PASS)])
        render_text(registry)
        telemetry.record([make_run(check="api", status=Status.FAIL)])
        labels = {"check": "api", "kind": "http", "region": "eu-west-1"}
        assert registry.get_sample_value("smoke_test_success", labels) == 0.0
        assert registry.get_sample_value("smoke_test_runs_total", {**labels, "result": "fail"}) == 1


class TestSampleLinesMemo:
    def test_label_sets_are_remembered_between_renders_and_bounded(self) -> None:
        """Kept between renders, the memo formats a label set seen before from memory; past
        its bound it starts afresh, and the lines are the same either way."""
        lines = SampleLines()

        def family(value: float) -> GaugeMetricFamily:
            gauge = GaugeMetricFamily("smoke_test_success", "up", labels=["check"])
            for n in range(50):
                gauge.add_metric([f"c{n}"], value)
            return gauge

        first = lines.family(family(1.0))
        assert first is not None
        assert (first.count("\n"), lines.remembered) == (50, 50)
        lines.bound(100)  # under the bound: kept
        assert lines.family(family(0.0)) == first.replace(" 1.0\n", " 0.0\n")
        assert lines.remembered == 50
        lines.bound(10)  # over it: forgotten
        assert lines.remembered == 0
        assert lines.family(family(1.0)) == first

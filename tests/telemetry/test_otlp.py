"""Specifications of the OTLP exporter: protobuf over HTTP to a local collector stand-in."""

from __future__ import annotations

import gzip
import time
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from prometheus_client import CollectorRegistry

from monitor.config.telemetry import OtlpSettings
from monitor.telemetry.base import ExportContext
from monitor.telemetry.otlp import OtlpExporter
from probes.base import Status
from tests.telemetry.helpers import Received, Recorder, json_logger, log_events, make_run

RUNS = [
    make_run("api", "http", timings={"total": 47.0}, duration_ms=120.0),
    make_run("home", "browser", Status.FAIL, timings={"load": 3500.0}, duration_ms=3600.0),
    make_run("ws", "websocket", Status.ERROR, message="no route"),
]


def exporter_for(url: str, **settings: Any) -> tuple[OtlpExporter, ExportContext, Any]:
    log, stream = json_logger()
    ctx = ExportContext(
        registry=CollectorRegistry(), region="eu-west-1", env={}, log=log, version="1.2.3"
    )
    otlp = OtlpSettings.model_validate({"endpoint": f"{url}/v1/metrics", **settings})
    return OtlpExporter(otlp, ctx), ctx, stream


def decode(request: Received) -> ExportMetricsServiceRequest:
    body = request.body
    if request.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    message: ExportMetricsServiceRequest = ExportMetricsServiceRequest.FromString(body)
    return message


def points(message: ExportMetricsServiceRequest) -> dict[tuple[str, str], Any]:
    """(metric, check) -> the data point, and the attributes of every point under 'attrs'."""
    found: dict[tuple[str, str], Any] = {}
    for resource_metrics in message.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                data = getattr(metric, metric.WhichOneof("data"))
                for point in data.data_points:
                    attrs = {a.key: a.value.string_value for a in point.attributes}
                    found[metric.name, attrs["check"] + attrs.get("result", "")] = point
    return found


@pytest.fixture
def collector(recorder: Recorder) -> Recorder:
    recorder.status, recorder.body = 200, b""
    return recorder


class TestOtlpExporter:
    async def test_a_flush_posts_protobuf_metrics_with_our_names_units_and_attributes(
        self, collector: Recorder
    ) -> None:
        """POST /v1/metrics, gzip protobuf: spec names, seconds, check/kind/region attributes."""
        exporter, _, _ = exporter_for(collector.url, headers={"api-key": "nr-key"})
        exporter.record(RUNS)
        await exporter.flush()
        (request,) = collector.wait_for(1)
        assert (request.method, request.path) == ("POST", "/v1/metrics")
        assert request.headers["content-type"] == "application/x-protobuf"
        assert request.headers["api-key"] == "nr-key"
        message = decode(request)
        resource = {
            a.key: a.value.string_value for a in message.resource_metrics[0].resource.attributes
        }
        assert resource == {
            "service.name": "smokewatch",
            "service.version": "1.2.3",
            "smokewatch.region": "eu-west-1",
        }
        found = points(message)
        assert found["smoke_test.success", "api"].as_double == 1
        assert found["smoke_test.success", "home"].as_double == 0
        assert ("smoke_test.success", "ws") not in found
        assert found["smoke_test.api_response", "api"].as_double == pytest.approx(0.047)
        assert found["smoke_test.homepage_load", "home"].as_double == pytest.approx(3.5)
        duration = found["smoke_test.duration", "api"]
        assert (duration.count, duration.sum) == (1, pytest.approx(0.12))
        assert list(duration.explicit_bounds)[:2] == [0.01, 0.025]
        assert found["smoke_test.runs", "wserror"].as_int == 1
        attrs = {a.key: a.value.string_value for a in found["smoke_test.success", "api"].attributes}
        assert attrs == {"check": "api", "kind": "http", "region": "eu-west-1"}
        units = {
            m.name: m.unit for s in message.resource_metrics[0].scope_metrics for m in s.metrics
        }
        assert units["smoke_test.duration"] == units["smoke_test.api_response"] == "s"

    async def test_no_runs_no_request(self, collector: Recorder) -> None:
        """Nothing recorded since the last flush: nothing is sent."""
        exporter, _, _ = exporter_for(collector.url)
        await exporter.flush()
        await exporter.close()
        assert collector.received == []

    @pytest.mark.parametrize(
        ("status", "delay_s"), [(503, 0.0), (200, 3.0)], ids=["collector-error", "hung"]
    )
    async def test_a_failing_collector_is_logged_counted_and_bounded(
        self, collector: Recorder, status: int, delay_s: float
    ) -> None:
        """The flush returns within about the timeout and never raises; the failure is counted."""
        collector.status, collector.delay_s = status, delay_s
        exporter, ctx, stream = exporter_for(collector.url, timeout="500ms")
        exporter.record(RUNS)
        t0 = time.perf_counter()
        await exporter.flush()
        assert time.perf_counter() - t0 < 2.0
        assert [e["event"] for e in log_events(stream)] == ["telemetry.failed"]
        errors = ctx.registry.get_sample_value(
            "smokewatch_telemetry_errors_total", {"exporter": "otlp"}
        )
        assert errors == 1

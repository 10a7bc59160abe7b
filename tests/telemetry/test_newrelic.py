"""Specifications of the New Relic exporter: the Metric API payload, delivery and failures.

The receiver is a real HTTP server on 127.0.0.1 (:class:`Recorder`); every body is
gunzipped and held to the Metric API's documented JSON shape field by field.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from examples.demo_target import DemoTargetThread
from monitor.config import load_config
from monitor.config.telemetry import NewRelicSettings
from monitor.errors import MonitorError
from monitor.runtime.runtime import Runtime
from monitor.telemetry.base import MAX_PENDING_POINTS, ExportContext
from monitor.telemetry.newrelic import NewRelicExporter
from probes.base import Status
from tests.support.processes import free_port
from tests.telemetry.helpers import Recorder, RunChecks, json_logger, log_events, make_run

KEY = "nr-license-key-0123456789abcdef"
RUNS = [
    make_run("api", "http", timings={"connect": 1.0, "total": 47.25}, duration_ms=120.5),
    make_run("home", "browser", Status.DEGRADED, timings={"load": 1200.0, "total": 1500.0},
             duration_ms=1500.0, region="us-east-1"),
    make_run("login", "flow", Status.FAIL, timings={"total": 3.0}, details={"cause": "connection"},
             duration_ms=30.0),
    make_run("ws", "websocket", Status.ERROR, message="probe error"),
]  # fmt: skip
AT_MS = int(RUNS[0].started_at.timestamp() * 1000)
COMMON = {"attributes": {"service.name": "smokewatch", "smokewatch.version": "1.0"}}
METRIC_TYPES = {"gauge", "count", "summary"}
METRIC_FIELDS = {"name", "type", "value", "timestamp", "interval.ms", "attributes"}


def assert_metric_api_shape(payload: Any) -> None:
    """The documented Metric API body: ``[{"common"?, "metrics": [...]}]``, field by field."""
    assert isinstance(payload, list)
    assert payload
    for block in payload:
        assert isinstance(block, dict)
        assert set(block) <= {"common", "metrics"}
        common = block.get("common", {})
        assert set(common) <= {"timestamp", "interval.ms", "attributes"}
        assert_attributes(common.get("attributes", {}))
        assert isinstance(block["metrics"], list)
        assert block["metrics"]
        for metric in block["metrics"]:
            assert set(metric) <= METRIC_FIELDS
            assert isinstance(metric["name"], str)
            assert metric["name"]
            assert metric.get("type", "gauge") in METRIC_TYPES
            if metric.get("type", "gauge") == "gauge":
                assert isinstance(metric["value"], int | float)
                assert not isinstance(metric["value"], bool)
            # Milliseconds since the epoch (seconds would be 10 digits).
            assert isinstance(metric["timestamp"], int)
            assert 10**12 <= metric["timestamp"] < 10**13
            assert_attributes(metric.get("attributes", {}))


def assert_attributes(attributes: Any) -> None:
    assert isinstance(attributes, dict)
    for key, value in attributes.items():
        assert isinstance(key, str)
        assert 0 < len(key) <= 255
        assert isinstance(value, str | int | float | bool)
        if isinstance(value, str):
            assert len(value) <= 4096


def context(env: Mapping[str, str] | None = None) -> tuple[ExportContext, Any]:
    log, stream = json_logger()
    ctx = ExportContext(
        registry=CollectorRegistry(), region="eu-west-1", env=env or {}, log=log, version="1.0"
    )
    ctx.count_errors_of("newrelic")  # as Telemetry does: both counters start at 0
    return ctx, stream


def newrelic(url: str, **settings: Any) -> tuple[NewRelicExporter, ExportContext, Any]:
    ctx, stream = context()
    fields = {"license_key": KEY, "url": f"{url}/metric/v1", **settings}
    return NewRelicExporter(NewRelicSettings.model_validate(fields), ctx), ctx, stream


def counter(ctx: ExportContext, name: str) -> float | None:
    return ctx.registry.get_sample_value(name, {"exporter": "newrelic"})


def metric(name: str, value: float, check: str, kind: str, region: str = "eu-west-1",
           at_ms: int = AT_MS) -> dict[str, Any]:  # fmt: skip
    attributes = {"check": check, "region": region, "kind": kind}
    return {"name": name, "type": "gauge", "value": value, "timestamp": at_ms,
            "attributes": attributes}  # fmt: skip


class TestPayload:
    async def test_gauges_are_posted_gzipped_in_the_metric_api_shape(
        self, recorder: Recorder
    ) -> None:
        """One POST /metric/v1: Api-Key header, gzip, the spec's names in ms, check/region/kind."""
        exporter, ctx, _ = newrelic(recorder.url)
        exporter.record(RUNS)
        await exporter.flush()
        (request,) = recorder.wait_for(1)
        assert (request.method, request.path) == ("POST", "/metric/v1")
        assert request.headers["api-key"] == KEY
        assert request.headers["content-encoding"] == "gzip"
        assert request.headers["content-type"] == "application/json"
        payload = request.json()
        assert_metric_api_shape(payload)
        assert payload == [
            {
                "common": COMMON,
                "metrics": [
                    metric("smoke_test.duration", 120.5, "api", "http", at_ms=AT_MS + 120),
                    metric("smoke_test.success", 1, "api", "http", at_ms=AT_MS + 120),
                    metric("smoke_test.api_response", 47.25, "api", "http", at_ms=AT_MS + 120),
                    metric("smoke_test.duration", 1500.0, "home", "browser", "us-east-1",
                           AT_MS + 1500),
                    metric("smoke_test.success", 1, "home", "browser", "us-east-1", AT_MS + 1500),
                    metric("smoke_test.homepage_load", 1200.0, "home", "browser", "us-east-1",
                           AT_MS + 1500),
                    metric("smoke_test.duration", 30.0, "login", "flow", at_ms=AT_MS + 30),
                    metric("smoke_test.success", 0, "login", "flow", at_ms=AT_MS + 30),
                ],
            }
        ]  # fmt: skip
        assert counter(ctx, "smokewatch_telemetry_errors_total") == 0
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 0
        await exporter.close()

    async def test_an_error_run_sends_nothing(self, recorder: Recorder) -> None:
        """An error says nothing about the target: no request at all."""
        exporter, _, _ = newrelic(recorder.url)
        exporter.record(RUNS[3:])
        await exporter.close()
        assert recorder.received == []

    async def test_a_value_that_is_not_a_number_is_dropped_alone(self, recorder: Recorder) -> None:
        """A NaN or infinite value (invalid JSON for the API) is counted as dropped; the run's
        other gauges are sent."""
        broken = make_run("nan", "http", timings={"total": math.inf}, duration_ms=math.nan)
        exporter, ctx, _ = newrelic(recorder.url)
        exporter.record([broken])
        await exporter.close()
        (request,) = recorder.wait_for(1)
        payload = json.loads(gzip.decompress(request.body))  # strict: NaN is not JSON
        assert [m["name"] for m in payload[0]["metrics"]] == ["smoke_test.success"]
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 2

    async def test_configured_attributes_join_the_common_block(self, recorder: Recorder) -> None:
        """attributes: {...} are added to common.attributes, once per request."""
        exporter, _, _ = newrelic(recorder.url, attributes={"team": "web", "env": "prod"})
        exporter.record(RUNS[:1])
        await exporter.close()
        (request,) = recorder.wait_for(1)
        assert request.json()[0]["common"]["attributes"] == {
            **COMMON["attributes"],
            "team": "web",
            "env": "prod",
        }

    async def test_large_batches_are_split_into_several_requests(self, recorder: Recorder) -> None:
        """max_metrics_per_request bounds each request's data points."""
        exporter, _, _ = newrelic(recorder.url, max_metrics_per_request=3)
        exporter.record(RUNS)
        await exporter.close()
        bodies = [r.json() for r in recorder.wait_for(3)]
        for body in bodies:
            assert_metric_api_shape(body)
        assert [len(b[0]["metrics"]) for b in bodies] == [3, 3, 2]

    async def test_real_runs_against_the_demo_target(
        self, run_checks: RunChecks, recorder: Recorder
    ) -> None:
        """Runs of real checks arrive with their measured values, one gauge set per check."""
        _, runs = await run_checks()
        exporter, _, _ = newrelic(recorder.url)
        exporter.record(runs)
        await exporter.close()
        (request,) = recorder.wait_for(1)
        payload = request.json()
        assert_metric_api_shape(payload)
        got = {(m["attributes"]["check"], m["name"]): m["value"] for m in payload[0]["metrics"]}
        success = {c: v for (c, name), v in got.items() if name == "smoke_test.success"}
        assert success == {"health": 1, "api-test": 1, "missing": 0, "api-login": 1}
        login = next(r for r in runs if r.check == "api-login")
        assert got["api-login", "smoke_test.api_response"] == round(
            login.result.timings["total"], 3
        )
        assert {m["attributes"]["region"] for m in payload[0]["metrics"]} == {"eu-test"}


class TestInARuntime:
    async def test_a_configured_runtime_publishes_its_runs_to_new_relic(
        self, tmp_path: Path, served: DemoTargetThread, recorder: Recorder
    ) -> None:
        """telemetry.newrelic in smokewatch.yaml: run_once's runs reach the receiver; the
        key, interpolated from the environment, is a known secret."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            "alert_rules: null\n"
            "telemetry:\n"
            "  newrelic: {license_key: '${NR_KEY}', url: '${NR_URL}', attributes: {env: test}}\n"
            "checks:\n"
            "  - {name: health, kind: http, url: '${TARGET}/health'}\n"
        )
        env = {"NR_KEY": KEY, "NR_URL": f"{recorder.url}/metric/v1", "TARGET": served.url}
        loaded = load_config(path, env=env)
        assert KEY in loaded.secrets
        async with Runtime(loaded, region="eu-test", use_store=False, env={}) as runtime:
            (run,) = await runtime.run_once()
        (request,) = recorder.wait_for(1)
        assert request.headers["api-key"] == KEY
        payload = request.json()
        assert_metric_api_shape(payload)
        assert payload[0]["common"]["attributes"]["env"] == "test"
        assert {m["name"]: m["value"] for m in payload[0]["metrics"]} == {
            "smoke_test.duration": round(run.duration_ms, 3),
            "smoke_test.success": 1,
            "smoke_test.api_response": round(run.result.timings["total"], 3),
        }


class TestEndpoint:
    @pytest.mark.parametrize(
        ("settings", "env", "url"),
        [
            ({"license_key": "abc"}, {}, "https://metric-api.newrelic.com/metric/v1"),
            ({"license_key": "eu01xxabc"}, {}, "https://metric-api.eu.newrelic.com/metric/v1"),
            ({"license_key": "abc", "region": "eu"}, {},
             "https://metric-api.eu.newrelic.com/metric/v1"),
            ({"license_key": "eu01xxabc", "region": "us"}, {},
             "https://metric-api.newrelic.com/metric/v1"),
            ({}, {"NEW_RELIC_LICENSE_KEY": "eu01xxenv"},
             "https://metric-api.eu.newrelic.com/metric/v1"),
            ({"license_key": "abc", "url": "https://proxy.internal/metric/v1"}, {},
             "https://proxy.internal/metric/v1"),
        ],
        ids=["us-default", "eu-key", "eu-region", "region-wins", "key-from-env", "explicit-url"],
    )  # fmt: skip
    async def test_the_metric_api_url(
        self, settings: dict[str, Any], env: dict[str, str], url: str
    ) -> None:
        """US unless region: eu or an eu… license key; url replaces both."""
        ctx, _ = context(env)
        exporter = NewRelicExporter(NewRelicSettings.model_validate(settings), ctx)
        assert exporter.url == url
        await exporter.close()

    def test_no_license_key_anywhere_is_a_startup_error(self) -> None:
        """Without license_key and NEW_RELIC_LICENSE_KEY the build fails, naming both."""
        ctx, _ = context({})
        with pytest.raises(MonitorError, match=r"newrelic\.license_key.*NEW_RELIC_LICENSE_KEY"):
            NewRelicExporter(NewRelicSettings(), ctx)

    def test_the_license_key_is_secret_in_the_settings(self) -> None:
        """license_key is a SecretStr: repr and dumps never show it."""
        settings = NewRelicSettings.model_validate({"license_key": KEY})
        assert KEY not in repr(settings)
        assert KEY not in settings.model_dump_json()


class TestFailures:
    async def test_5xx_and_429_are_retried_then_delivered(self, recorder: Recorder) -> None:
        """503, then 429 with Retry-After: 1, then 202: delivered, after waiting the second."""
        recorder.answers = [(503, {}), (429, {"Retry-After": "1"})]
        exporter, ctx, stream = newrelic(recorder.url, timeout="5s")
        exporter.record(RUNS[:1])
        t0 = time.perf_counter()
        await exporter.flush()
        elapsed = time.perf_counter() - t0
        requests = recorder.wait_for(3)
        assert len(requests) == 3
        assert requests[0].body == requests[2].body
        assert 1.5 <= elapsed < 3.0  # 0.5 s backoff after the 503, then Retry-After's 1 s
        assert counter(ctx, "smokewatch_telemetry_errors_total") == 0
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 0
        assert log_events(stream) == []
        await exporter.close()

    @pytest.mark.parametrize("status", [400, 403, 404, 413])
    async def test_a_4xx_is_not_retried_its_points_are_dropped_and_counted(
        self, recorder: Recorder, status: int
    ) -> None:
        """A refusal is final: one request, its 3 points counted as dropped, the status logged."""
        recorder.status = status
        exporter, ctx, stream = newrelic(recorder.url)
        exporter.record(RUNS[:1])
        await exporter.flush()
        assert len(recorder.wait_for(1)) == 1
        await asyncio.sleep(0.2)
        assert len(recorder.received) == 1
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 3
        assert counter(ctx, "smokewatch_telemetry_errors_total") == 1
        (event,) = log_events(stream)
        assert (event["event"], event["exporter"], event["reason"]) == (
            "telemetry.failed", "newrelic", f"metric API answered {status}",
        )  # fmt: skip
        assert KEY not in str(event)
        await exporter.close()

    @pytest.mark.parametrize("status", [500, 503, 408, 429])
    async def test_retries_are_bounded_by_their_number(
        self, recorder: Recorder, status: int
    ) -> None:
        """Always 5xx, 408 or 429 with retries: 2: three requests, then the points are dropped."""
        recorder.status = status
        exporter, ctx, stream = newrelic(recorder.url, retries=2, timeout="5s")
        exporter.record(RUNS[:2])
        await exporter.flush()
        assert len(recorder.received) == 3
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 6
        (event,) = log_events(stream)
        assert event["reason"] == f"metric API answered {status} (3 attempts)"
        await exporter.close()

    async def test_a_retry_after_beyond_the_timeout_is_not_waited_for(
        self, recorder: Recorder
    ) -> None:
        """429 with Retry-After: 120 and a 2 s timeout: give up at once, say why."""
        recorder.answers = [(429, {"Retry-After": "120"})]
        exporter, ctx, stream = newrelic(recorder.url, timeout="2s")
        exporter.record(RUNS[:1])
        t0 = time.perf_counter()
        await exporter.flush()
        assert time.perf_counter() - t0 < 1.0
        (event,) = log_events(stream)
        assert event["reason"] == (
            "metric API answered 429; a retry in 120 s would pass the timeout"
        )
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 3
        await exporter.close()

    @pytest.mark.parametrize("down", ["hung", "unreachable"])
    async def test_a_down_metric_api_never_raises_and_never_waits_past_the_timeout(
        self, recorder: Recorder, down: str
    ) -> None:
        """A hung or closed port: flush returns within the timeout; failure logged and counted."""
        recorder.delay_s = 3.0
        url = recorder.url if down == "hung" else f"http://127.0.0.1:{free_port()}"
        exporter, ctx, stream = newrelic(url, timeout="600ms")
        exporter.record(RUNS)
        t0 = time.perf_counter()
        await exporter.flush()
        assert time.perf_counter() - t0 < 1.0
        (event,) = log_events(stream)
        assert event["exporter"] == "newrelic"
        assert KEY not in str(event)
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 8
        assert counter(ctx, "smokewatch_telemetry_errors_total") == 1
        await exporter.close()

    async def test_one_flush_at_a_time_the_next_points_wait(self, recorder: Recorder) -> None:
        """While a flush is in flight another returns at once; its points go with the next."""
        recorder.delay_s = 0.5
        exporter, ctx, _ = newrelic(recorder.url)
        exporter.record(RUNS[:1])
        first = asyncio.create_task(exporter.flush())
        await asyncio.sleep(0.1)
        exporter.record(RUNS[1:2])
        t0 = time.perf_counter()
        await exporter.flush()
        assert time.perf_counter() - t0 < 0.1
        await first
        recorder.delay_s = 0.0
        await exporter.flush()
        sizes = [len(r.json()[0]["metrics"]) for r in recorder.wait_for(2)]
        assert sizes == [3, 3]
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 0
        await exporter.close()

    async def test_the_queue_is_bounded_and_overflow_is_counted(self, recorder: Recorder) -> None:
        """Points beyond MAX_PENDING_POINTS are dropped at record() and counted, never queued."""
        recorder.status = 403
        exporter, ctx, _ = newrelic(recorder.url)
        runs = RUNS[:1] * (MAX_PENDING_POINTS // 3 + 10)  # 3 points a run
        exporter.record(runs)
        queued = MAX_PENDING_POINTS // 3 * 3
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == len(runs) * 3 - queued
        await exporter.close()

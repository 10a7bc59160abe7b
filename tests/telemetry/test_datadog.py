"""Specifications of the Datadog exporters: DogStatsD datagrams and the agentless intake."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from datadog_api_client.model_utils import model_to_dict
from datadog_api_client.v1.model.service_check import ServiceCheck
from datadog_api_client.v1.model.service_check_status import ServiceCheckStatus
from datadog_api_client.v1.model.service_checks import ServiceChecks
from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
from datadog_api_client.v2.model.metric_payload import MetricPayload
from datadog_api_client.v2.model.metric_point import MetricPoint
from datadog_api_client.v2.model.metric_series import MetricSeries
from prometheus_client import CollectorRegistry

from monitor.config.telemetry import DatadogSettings, DogStatsdSettings
from monitor.errors import MonitorError
from monitor.telemetry.base import ExportContext
from monitor.telemetry.datadog import (
    MAX_PENDING,
    DogStatsdExporter,
    StatsdTarget,
    constant_tags,
    statsd_target,
)
from monitor.telemetry.datadog_agentless import AgentlessExporter
from probes.base import Status
from tests.support.processes import free_port
from tests.telemetry.helpers import DatagramListener, Recorder, json_logger, log_events, make_run

RUNS = [
    make_run("api", "http", timings={"connect": 1.0, "total": 47.25}, duration_ms=120.5),
    make_run("home", "browser", Status.DEGRADED, timings={"load": 1200.0, "total": 1500.0},
             duration_ms=1500.0, message="load: expected < 1000 ms, got 1200 ms"),
    make_run("login", "flow", Status.FAIL, timings={"total": 3.0}, details={"cause": "connection"},
             duration_ms=30.0, message="step 'login': connection refused"),
    make_run("ws", "websocket", Status.ERROR, message="probe error: a | b\nc"),
]  # fmt: skip
TAGS = "env:prod,service:smokewatch,region:eu-west-1"


def context(env: Mapping[str, str] | None = None) -> tuple[ExportContext, Any]:
    log, stream = json_logger()
    ctx = ExportContext(
        registry=CollectorRegistry(),
        region="eu-west-1",
        env={"DD_ENV": "prod"} if env is None else env,
        log=log,
        version="1.0",
    )
    return ctx, stream


def dogstatsd(url: str, **datadog: Any) -> tuple[DogStatsdExporter, ExportContext, Any]:
    settings = DatadogSettings.model_validate(
        {"dogstatsd": {"url": url, "origin_detection": False}, **datadog}
    )
    ctx, stream = context()
    return DogStatsdExporter(settings, ctx), ctx, stream


class TestDogStatsdWire:
    async def test_datagrams_are_exactly_the_dogstatsd_format(
        self, udp_listener: DatagramListener
    ) -> None:
        """Gauges (ms) and service checks; run tags, then constant tags; one packed datagram."""
        port = udp_listener.sock.getsockname()[1]
        exporter, _, _ = dogstatsd(f"udp://127.0.0.1:{port}")
        exporter.record(RUNS)
        await exporter.flush()
        datagrams = udp_listener.receive(until=bool)
        expected = [
            f"smoke_test.duration:120.5|g|#check:api,kind:http,{TAGS}",
            f"smoke_test.success:1|g|#check:api,kind:http,{TAGS}",
            f"smoke_test.api_response:47.25|g|#check:api,kind:http,{TAGS}",
            f"_sc|smoke_test.check|0|#check:api,kind:http,{TAGS}|m:ok",
            f"smoke_test.duration:1500.0|g|#check:home,kind:browser,{TAGS}",
            f"smoke_test.success:1|g|#check:home,kind:browser,{TAGS}",
            f"smoke_test.homepage_load:1200.0|g|#check:home,kind:browser,{TAGS}",
            f"_sc|smoke_test.check|1|#check:home,kind:browser,{TAGS}"
            "|m:load: expected < 1000 ms, got 1200 ms",
            f"smoke_test.duration:30.0|g|#check:login,kind:flow,{TAGS}",
            f"smoke_test.success:0|g|#check:login,kind:flow,{TAGS}",
            f"_sc|smoke_test.check|2|#check:login,kind:flow,{TAGS}"
            "|m:step 'login': connection refused",
            f"_sc|smoke_test.check|3|#check:ws,kind:websocket,{TAGS}|m:probe error: a / b\\nc",
        ]
        assert datagrams == [("\n".join(expected) + "\n").encode()]

    async def test_a_unix_socket_receives_the_same_lines(
        self, unix_listener: tuple[DatagramListener, str]
    ) -> None:
        """unix:///path sends the same datagrams over a Unix socket."""
        listener, path = unix_listener
        exporter, _, _ = dogstatsd(f"unix://{path}")
        exporter.record(RUNS[:1])
        await exporter.flush()
        lines = listener.lines(count=4)
        assert lines[0] == f"smoke_test.duration:120.5|g|#check:api,kind:http,{TAGS}"
        assert len(lines) == 4

    async def test_service_checks_can_be_turned_off(self, udp_listener: DatagramListener) -> None:
        """service_checks: false sends the metrics only."""
        port = udp_listener.sock.getsockname()[1]
        exporter, _, _ = dogstatsd(f"udp://127.0.0.1:{port}", service_checks=False)
        exporter.record(RUNS)
        await exporter.flush()
        lines = udp_listener.lines(count=8)
        assert not [line for line in lines if line.startswith("_sc|")]
        assert len(lines) == 8

    @pytest.mark.parametrize(
        "url",
        ["udp://127.0.0.1:{port}", "unix:///nonexistent/dsd.socket", "udp://no-agent.invalid:8125"],
        ids=["nothing-listening", "no-socket-file", "unresolvable-host"],
    )
    async def test_an_absent_agent_never_raises_and_never_waits(self, url: str) -> None:
        """Three flushes to an absent Agent return at once; failures are logged and counted."""
        exporter, ctx, stream = dogstatsd(url.format(port=free_port()))
        t0 = time.perf_counter()
        for _ in range(3):
            exporter.record(RUNS)
            await exporter.flush()
        await exporter.close()
        assert time.perf_counter() - t0 < 1.0
        errors = ctx.registry.get_sample_value(
            "smokewatch_telemetry_errors_total", {"exporter": "datadog"}
        )
        assert errors is not None
        assert errors >= 1
        assert {e["event"] for e in log_events(stream)} == {"telemetry.failed"}


class TestDatadogSettings:
    @pytest.mark.parametrize(
        ("settings", "env", "expected"),
        [
            ({}, {}, ["service:smokewatch", "region:eu-west-1"]),
            ({}, {"DD_ENV": "prod", "DD_SERVICE": "shop-smoke"},
             ["env:prod", "service:shop-smoke", "region:eu-west-1"]),
            ({"env": "staging", "service": "s", "tags": {"team": "web"}}, {"DD_ENV": "prod"},
             ["env:staging", "service:s", "region:eu-west-1", "team:web"]),
        ],
        ids=["defaults", "from-environment", "file-wins-and-extra-tags"],
    )  # fmt: skip
    def test_constant_tags(
        self, settings: dict[str, Any], env: dict[str, str], expected: list[str]
    ) -> None:
        """env and service come from the file, else DD_ENV/DD_SERVICE; region is the Runtime's."""
        ctx, _ = context(env)
        assert constant_tags(DatadogSettings.model_validate(settings), ctx) == expected

    @pytest.mark.parametrize(
        ("url", "env", "expected"),
        [
            (None, {}, StatsdTarget(host="localhost", port=8125)),
            (None, {"DD_AGENT_HOST": "10.0.0.7"}, StatsdTarget(host="10.0.0.7", port=8125)),
            (None, {"DD_AGENT_HOST": "10.0.0.7", "DD_DOGSTATSD_PORT": "9125"},
             StatsdTarget(host="10.0.0.7", port=9125)),
            (None, {"DD_DOGSTATSD_URL": "unix:///var/run/datadog/dsd.socket",
                    "DD_AGENT_HOST": "10.0.0.7"},
             StatsdTarget(socket_path="unix:///var/run/datadog/dsd.socket")),
            ("udp://agent:8200", {"DD_DOGSTATSD_URL": "udp://other:1"},
             StatsdTarget(host="agent", port=8200)),
        ],
        ids=["default", "agent-host", "agent-port", "dogstatsd-url-wins", "file-wins"],
    )  # fmt: skip
    def test_where_datagrams_go(
        self, url: str | None, env: dict[str, str], expected: StatsdTarget
    ) -> None:
        """The file's url, else DD_DOGSTATSD_URL, else DD_AGENT_HOST[:DD_DOGSTATSD_PORT]."""
        assert statsd_target(DogStatsdSettings(url=url), env) == expected

    @pytest.mark.parametrize("url", ["tcp://agent:8125", "agent:8125", "udp://:8125"])
    def test_a_malformed_dogstatsd_url_is_a_startup_error(self, url: str) -> None:
        """A URL that is neither udp://host:port nor unix:///path fails the build, naming it."""
        with pytest.raises(MonitorError, match=r"telemetry\.datadog\.dogstatsd\.url"):
            statsd_target(DogStatsdSettings(url=url), {})


def agentless(recorder: Recorder, **agentless: Any) -> tuple[AgentlessExporter, ExportContext, Any]:
    settings = DatadogSettings.model_validate(
        {"mode": "agentless", "agentless": {"url": recorder.url, **agentless}}
    )
    ctx, stream = context({"DD_ENV": "prod", "DD_API_KEY": "dd-key-123"})
    return AgentlessExporter(settings, ctx), ctx, stream


def series_by_check(payload: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["metric"], s["tags"][0]): s for s in payload["series"]}


class TestAgentless:
    async def test_series_and_service_checks_are_posted_field_by_field(
        self, recorder: Recorder
    ) -> None:
        """POST /api/v2/series (deflate JSON) and /api/v1/check_run, with the key in DD-API-KEY."""
        exporter, _, _ = agentless(recorder)
        exporter.record(RUNS)
        await exporter.flush()
        series_request, checks_request = recorder.wait_for(2)
        assert (series_request.method, series_request.path) == ("POST", "/api/v2/series")
        assert series_request.headers["dd-api-key"] == "dd-key-123"
        assert series_request.headers["content-encoding"] == "deflate"
        assert series_request.headers["content-type"] == "application/json"
        ts = int(RUNS[0].started_at.timestamp())  # + duration, under a second
        tags = ["check:api", "kind:http", *TAGS.split(",")]
        by = series_by_check(series_request.json())
        assert set(by) == {
            ("smoke_test.duration", "check:api"), ("smoke_test.success", "check:api"),
            ("smoke_test.api_response", "check:api"), ("smoke_test.duration", "check:home"),
            ("smoke_test.success", "check:home"), ("smoke_test.homepage_load", "check:home"),
            ("smoke_test.duration", "check:login"), ("smoke_test.success", "check:login"),
        }  # fmt: skip
        assert by["smoke_test.api_response", "check:api"] == {
            "metric": "smoke_test.api_response",
            "type": 3,
            "points": [{"timestamp": ts, "value": 47.25}],
            "tags": tags,
            "unit": "millisecond",
        }
        assert by["smoke_test.success", "check:login"]["points"] == [{"timestamp": ts, "value": 0}]
        assert "unit" not in by["smoke_test.success", "check:login"]

        assert (checks_request.method, checks_request.path) == ("POST", "/api/v1/check_run")
        assert checks_request.headers["dd-api-key"] == "dd-key-123"
        checks = checks_request.json()
        assert [(c["status"], c["tags"][0]) for c in checks] == [
            (0, "check:api"), (1, "check:home"), (2, "check:login"), (3, "check:ws"),
        ]  # fmt: skip
        assert checks[0] == {
            "check": "smoke_test.check",
            "host_name": "smokewatch-eu-west-1",
            "status": 0,
            "tags": tags,
            "timestamp": ts,
            "message": "ok",
        }

    async def test_payloads_are_what_datadogs_own_client_would_send(
        self, recorder: Recorder
    ) -> None:
        """The same points built with datadog-api-client's models serialize to our JSON."""
        exporter, _, _ = agentless(recorder)
        exporter.record(RUNS[:1])
        await exporter.flush()
        series_request, checks_request = recorder.wait_for(2)
        run, tags = RUNS[0], ["check:api", "kind:http", *TAGS.split(",")]
        ts = int(run.started_at.timestamp())

        def series(metric: str, value: float, **extra: Any) -> MetricSeries:
            points = [MetricPoint(timestamp=ts, value=value)]
            return MetricSeries(
                metric=metric, type=MetricIntakeType.GAUGE, points=points, tags=tags, **extra
            )

        official = MetricPayload(
            series=[
                series("smoke_test.duration", 120.5, unit="millisecond"),
                series("smoke_test.success", 1),
                series("smoke_test.api_response", 47.25, unit="millisecond"),
            ]
        )
        assert series_request.json() == model_to_dict(official)  # type: ignore[no-untyped-call]  # the client ships no annotations
        check = ServiceCheck(
            check="smoke_test.check", host_name="smokewatch-eu-west-1",
            status=ServiceCheckStatus.OK, tags=tags, timestamp=ts, message="ok",
        )  # fmt: skip
        checks = ServiceChecks([check]).value  # type: ignore[no-untyped-call]  # as above
        assert checks_request.json() == [model_to_dict(c) for c in checks]  # type: ignore[no-untyped-call]

    async def test_large_batches_are_split_into_several_requests(self, recorder: Recorder) -> None:
        """max_series_per_request bounds each request's series."""
        exporter, _, _ = agentless(recorder, max_series_per_request=3)
        exporter.record(RUNS)
        await exporter.flush()
        sizes = [
            len(r.json()["series"]) for r in recorder.wait_for(4) if r.path == "/api/v2/series"
        ]
        assert sizes == [3, 3, 2]

    async def test_nothing_recorded_posts_nothing(self, recorder: Recorder) -> None:
        """An empty flush sends no request."""
        exporter, _, _ = agentless(recorder)
        await exporter.flush()
        await exporter.close()
        assert recorder.received == []

    @pytest.mark.parametrize(
        ("status", "delay_s", "reason"),
        [(500, 0.0, "/api/v2/series answered 500"), (403, 0.0, "/api/v2/series answered 403"),
         (202, 3.0, "TimeoutError")],
        ids=["server-error", "bad-key", "hung"],
    )  # fmt: skip
    async def test_datadog_failing_is_logged_counted_and_bounded(
        self, recorder: Recorder, status: int, delay_s: float, reason: str
    ) -> None:
        """A failing or hung intake: flush returns within the timeout and never raises."""
        recorder.status, recorder.delay_s = status, delay_s
        exporter, ctx, stream = agentless(recorder, timeout="300ms")
        exporter.record(RUNS)
        t0 = time.perf_counter()
        await exporter.flush()
        assert time.perf_counter() - t0 < 1.0
        (event,) = log_events(stream)
        assert (event["event"], event["exporter"], event["reason"]) == (
            "telemetry.failed", "datadog", reason,
        )  # fmt: skip
        assert "dd-key-123" not in str(event)
        errors = ctx.registry.get_sample_value(
            "smokewatch_telemetry_errors_total", {"exporter": "datadog"}
        )
        assert errors == 1

    def test_runs_beyond_the_queue_bound_are_counted_as_dropped(self, recorder: Recorder) -> None:
        """Past MAX_PENDING runs per flush, each further run's points are counted as dropped."""
        exporter, ctx, _ = agentless(recorder)
        exporter.record(RUNS[:1] * (MAX_PENDING + 5))  # 3 points a run
        dropped = ctx.registry.get_sample_value(
            "smokewatch_telemetry_dropped_total", {"exporter": "datadog"}
        )
        assert dropped == 15

    def test_no_api_key_anywhere_is_a_startup_error(self) -> None:
        """Agentless without api_key and without DD_API_KEY fails the build, naming both."""
        ctx, _ = context({})
        with pytest.raises(MonitorError, match=r"agentless\.api_key.*DD_API_KEY"):
            AgentlessExporter(DatadogSettings(mode="agentless"), ctx)

    @pytest.mark.parametrize(
        ("agentless_settings", "env", "url"),
        [
            ({}, {"DD_API_KEY": "k"}, "https://api.datadoghq.com"),
            ({}, {"DD_API_KEY": "k", "DD_SITE": "datadoghq.eu"}, "https://api.datadoghq.eu"),
            ({"site": "us5.datadoghq.com"}, {"DD_API_KEY": "k", "DD_SITE": "datadoghq.eu"},
             "https://api.us5.datadoghq.com"),
            ({"url": "http://127.0.0.1:9/"}, {"DD_API_KEY": "k"}, "http://127.0.0.1:9"),
        ],
        ids=["default-site", "dd-site", "file-site-wins", "explicit-url"],
    )  # fmt: skip
    def test_the_intake_url(
        self, agentless_settings: dict[str, Any], env: dict[str, str], url: str
    ) -> None:
        """https://api.<site>, the site from the file, else DD_SITE, else datadoghq.com."""
        ctx, _ = context(env)
        settings = DatadogSettings.model_validate(
            {"mode": "agentless", "agentless": agentless_settings}
        )
        assert AgentlessExporter(settings, ctx).base_url == url

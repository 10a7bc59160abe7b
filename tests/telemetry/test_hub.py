"""Specifications of Telemetry as a whole: the exporter registry, isolation, heartbeat, settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, SecretStr, ValidationError

from monitor.config import load_config
from monitor.config.telemetry import HeartbeatSettings, TelemetrySettings
from monitor.errors import MonitorError
from monitor.runner import CheckRun
from monitor.telemetry.base import ExportContext, Exporter
from monitor.telemetry.hub import EXPORTERS, Telemetry, build_telemetry, run_interval
from tests.support.processes import free_port
from tests.telemetry.helpers import Recorder, json_logger, log_events, make_run

EVERY_SECTION = {
    "pushgateway": {"url": "http://127.0.0.1:9"},
    "datadog": {"dogstatsd": {"url": "udp://127.0.0.1:9"}},
    "otlp": {"endpoint": "http://127.0.0.1:9/v1/metrics"},
    "heartbeat": {"url": "http://127.0.0.1:9/ping"},
    "newrelic": {"license_key": "nr-key", "url": "http://127.0.0.1:9/metric/v1"},
    "cloudwatch": {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"},
}


def build(settings: TelemetrySettings, env: dict[str, str] | None = None) -> tuple[Telemetry, Any]:
    log, stream = json_logger()
    telemetry = build_telemetry(
        settings, registry=CollectorRegistry(), region="eu", env=env or {}, log=log, version="1"
    )
    return telemetry, stream


class TestExporterRegistry:
    @pytest.mark.parametrize("name", sorted(EXPORTERS))
    async def test_every_registered_exporter_satisfies_the_protocol(self, name: str) -> None:
        """Each EXPORTERS entry builds an Exporter with its name when its section is present."""
        log, _ = json_logger()
        ctx = ExportContext(registry=CollectorRegistry(), region="eu", env={}, log=log, version="1")
        exporter = EXPORTERS[name](TelemetrySettings.model_validate(EVERY_SECTION), ctx)
        assert isinstance(exporter, Exporter)
        assert exporter.name == name
        await exporter.close()

    @pytest.mark.parametrize("name", sorted(set(EXPORTERS) - {"prometheus"}))
    def test_optional_exporters_are_off_without_their_section(self, name: str) -> None:
        """Only Prometheus is on by default; an optional exporter needs its section."""
        telemetry, _ = build(TelemetrySettings())
        assert name not in [e.name for e in telemetry.exporters]
        assert [e.name for e in telemetry.exporters] == ["prometheus"]

    def test_datadog_mode_picks_the_transport(self) -> None:
        """mode: dogstatsd builds the DogStatsD exporter; mode: agentless the HTTP one."""
        statsd, _ = build(TelemetrySettings.model_validate({"datadog": {}}))
        http, _ = build(
            TelemetrySettings.model_validate({"datadog": {"mode": "agentless"}}),
            env={"DD_API_KEY": "k"},
        )
        assert type(statsd.exporters[1]).__name__ == "DogStatsdExporter"
        assert type(http.exporters[1]).__name__ == "AgentlessExporter"

    def test_a_setting_that_cannot_work_fails_the_build(self) -> None:
        """Agentless Datadog with no key anywhere is a startup error, not a silent no-op."""
        with pytest.raises(MonitorError, match="DD_API_KEY"):
            build(TelemetrySettings.model_validate({"datadog": {"mode": "agentless"}}))


class _Broken:
    """An exporter whose every method fails: a bug in some backend."""

    name = "broken"
    sends = True

    def record(self, runs: Sequence[CheckRun]) -> None:
        raise ValueError("record bug")

    async def flush(self) -> None:
        raise ValueError("flush bug")

    async def close(self) -> None:
        raise ValueError("close bug")


class TestTelemetry:
    async def test_a_broken_exporter_neither_raises_nor_stops_the_others(self) -> None:
        """A broken exporter's failures are logged and counted; Prometheus still records."""
        good, stream = build(TelemetrySettings())
        telemetry = Telemetry([_Broken(), *good.exporters], ctx=good.ctx)
        telemetry.record([make_run()])
        await telemetry.flush()
        await telemetry.close()
        registry = good.ctx.registry
        assert (
            registry.get_sample_value(
                "smoke_test_success", {"check": "api", "kind": "http", "region": "eu-west-1"}
            )
            == 1
        )
        assert (
            registry.get_sample_value("smokewatch_telemetry_errors_total", {"exporter": "broken"})
            == 3
        )
        reasons = [e["reason"] for e in log_events(stream)]
        assert reasons == [
            "ValueError: record bug",
            "ValueError: flush bug",
            "ValueError: close bug",
        ]

    async def test_publish_records_flushes_and_pings(self, recorder: Recorder) -> None:
        """After a run: metrics recorded and the heartbeat URL pinged once with GET."""
        telemetry, _ = build(
            TelemetrySettings(
                heartbeat=HeartbeatSettings(url=SecretStr(f"{recorder.url}/ping/abc"))
            )
        )
        await telemetry.publish([make_run()])
        await telemetry.settle()  # publish() delivers in the background
        (ping,) = recorder.wait_for(1)
        assert (ping.method, ping.path) == ("GET", "/ping/abc")
        assert (
            telemetry.ctx.registry.get_sample_value(
                "smoke_test_runs_total",
                {"check": "api", "kind": "http", "region": "eu-west-1", "result": "pass"},
            )
            == 1
        )
        await telemetry.close()

    async def test_publish_starts_no_delivery_when_only_scraped(self) -> None:
        """With Prometheus alone (scraped, nothing to send) and no heartbeat, a run is
        recorded at once and no background delivery is started for it."""
        telemetry, _ = build(TelemetrySettings())
        before = len(asyncio.all_tasks())
        await telemetry.publish([make_run()])
        assert len(asyncio.all_tasks()) == before
        labels = {"check": "api", "kind": "http", "region": "eu-west-1"}
        assert telemetry.ctx.registry.get_sample_value("smoke_test_success", labels) == 1
        await telemetry.close()

    async def test_a_hung_backend_never_holds_the_run_that_published(
        self, recorder: Recorder
    ) -> None:
        """publish() returns at once while New Relic hangs; close() waits at most its timeout."""
        recorder.delay_s = 3.0
        settings = TelemetrySettings.model_validate(
            {"newrelic": {"license_key": "k", "url": f"{recorder.url}/metric/v1",
                          "timeout": "800ms"}}
        )  # fmt: skip
        telemetry, stream = build(settings)
        t0 = time.perf_counter()
        await telemetry.publish([make_run()])
        assert time.perf_counter() - t0 < 0.1
        registry = telemetry.ctx.registry
        labels = {"check": "api", "kind": "http", "region": "eu-west-1"}
        assert registry.get_sample_value("smoke_test_success", labels) == 1  # already recorded
        await telemetry.close()
        assert time.perf_counter() - t0 < 1.5
        assert len(recorder.wait_for(1)) == 1
        assert [e["reason"] for e in log_events(stream)] == ["TimeoutError"]
        dropped = registry.get_sample_value(
            "smokewatch_telemetry_dropped_total", {"exporter": "newrelic"}
        )
        assert dropped == 2  # duration and success


class TestHeartbeat:
    @pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
    async def test_the_ping_uses_the_configured_method(
        self, recorder: Recorder, method: str
    ) -> None:
        """The ping is one request with the configured method; a 2xx is a success."""
        recorder.status = 200
        telemetry, _ = build(
            TelemetrySettings(
                heartbeat=HeartbeatSettings.model_validate({"url": recorder.url, "method": method})
            )
        )
        assert await telemetry.heartbeat() is True
        assert [r.method for r in recorder.received] == [method]
        await telemetry.close()

    @pytest.mark.parametrize(
        ("status", "delay_s", "reason"),
        [(404, 0.0, "ping answered 404"), (200, 2.0, "TimeoutError"), (None, 0.0, "ConnectError")],
        ids=["not-found", "hung", "unreachable"],
    )
    async def test_a_failed_ping_is_logged_without_its_url_and_never_raises(
        self, recorder: Recorder, status: int | None, delay_s: float, reason: str
    ) -> None:
        """False, within the timeout; the log names the failure but never the (secret) URL."""
        url = (
            f"{recorder.url}/ping/secret-token-42"
            if status
            else f"http://127.0.0.1:{free_port()}/ping/secret-token-42"
        )
        recorder.status, recorder.delay_s = status or 200, delay_s
        settings = HeartbeatSettings.model_validate({"url": url, "timeout": "300ms"})
        telemetry, stream = build(TelemetrySettings(heartbeat=settings))
        t0 = time.perf_counter()
        assert await telemetry.heartbeat() is False
        assert time.perf_counter() - t0 < 1.0
        (event,) = log_events(stream)
        assert (event["exporter"], event["reason"]) == ("heartbeat", reason)
        assert "secret-token-42" not in str(event)
        await telemetry.close()

    async def test_without_a_heartbeat_nothing_is_pinged(self) -> None:
        """No heartbeat section: heartbeat() is None."""
        telemetry, _ = build(TelemetrySettings())
        assert await telemetry.heartbeat() is None


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                found += _models(arg)
    return found


class TestTelemetrySettings:
    def test_every_optional_backend_is_off_by_default(self) -> None:
        """Defaults: Prometheus only."""
        settings = TelemetrySettings()
        optional = (settings.pushgateway, settings.datadog, settings.otlp, settings.heartbeat,
                    settings.newrelic, settings.cloudwatch)  # fmt: skip
        assert optional == (None,) * 6

    @pytest.mark.parametrize("model", _models(TelemetrySettings), ids=lambda m: m.__name__)
    def test_every_field_has_a_description(self, model: type[BaseModel]) -> None:
        """The JSON Schema explains every field to editors."""
        assert [name for name, f in model.model_fields.items() if not f.description] == []

    def test_secrets_are_secret_and_durations_parse(self) -> None:
        """Passwords, keys, header values and the heartbeat URL are SecretStr; '300ms' parses."""
        settings = TelemetrySettings.model_validate(
            {
                "pushgateway": {"url": "http://p", "password": "pw", "timeout": "300ms"},
                "datadog": {"agentless": {"api_key": "k"}},
                "otlp": {"headers": {"api-key": "h"}},
                "heartbeat": {"url": "https://hc/abc"},
                "newrelic": {"license_key": "nr-license-abc"},
                "cloudwatch": {"secret_access_key": "aws-secret-abc"},
            }
        )
        assert settings.pushgateway is not None
        assert settings.pushgateway.timeout == timedelta(milliseconds=300)
        assert "pw" not in repr(settings)
        assert "https://hc/abc" not in repr(settings)
        assert "nr-license-abc" not in repr(settings)
        assert "aws-secret-abc" not in repr(settings)

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"prometheus": {"buckets": [1, 0.5]}}, "buckets"),
            ({"datadog": {"mode": "agent"}}, "mode"),
            ({"heartbeat": {}}, "url"),
            ({"otlp": {"endpint": "x"}}, "endpint"),
        ],
        ids=["buckets-not-increasing", "unknown-mode", "heartbeat-without-url", "unknown-field"],
    )
    def test_invalid_settings_name_the_field(self, data: dict[str, Any], field: str) -> None:
        """A bad telemetry section is a validation error naming the field."""
        with pytest.raises(ValidationError, match=field):
            TelemetrySettings.model_validate(data)


class TestRunInterval:
    def test_the_shortest_interval_of_the_checks_not_on_cron(self, tmp_path: Path) -> None:
        """5m and 30m checks and a cron check: the region runs every 5 minutes."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            "alert_rules: null\ndefaults: {interval: 30m}\nchecks:\n"
            "  - {name: a, kind: http, url: 'http://x/'}\n"
            "  - {name: b, kind: http, url: 'http://x/', interval: 5m}\n"
            "  - {name: c, kind: http, url: 'http://x/', cron: '* * * * *'}\n"
        )
        config = load_config(path, env={}).config
        assert run_interval(config, config.checks) == timedelta(minutes=5)
        assert run_interval(config, []) is None

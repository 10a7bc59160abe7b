"""OpenTelemetry metrics over OTLP/HTTP (protobuf): a Collector, Grafana Cloud, New Relic.

Needs the ``otlp`` extra (``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http``), imported only when the section is
configured.  The exporter owns its ``MeterProvider`` (never the global one set by
``metrics.set_meter_provider``) with a pull reader: :meth:`OtlpExporter.flush` collects
and exports in a worker thread (no background thread of its own), and a ``Resource``
built from our values alone (``Resource.create`` would merge ``OTEL_*`` variables from
the process).

Instruments use the spec's dotted names and OpenTelemetry's units (seconds), so an
OTLP-to-Prometheus bridge names them as our Prometheus metrics
(``smoke_test.duration`` in ``s`` becomes ``smoke_test_duration_seconds``):

* ``smoke_test.duration`` histogram (s), ``smoke_test.success`` gauge (0/1),
* ``smoke_test.api_response`` and ``smoke_test.homepage_load`` gauges (s),
* ``smoke_test.runs`` counter with a ``result`` attribute,
* ``smoke_test.failures`` counter with a ``reason`` attribute (fail and error runs),

with attributes ``check``, ``kind``, ``region``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.config.telemetry import DEFAULT_BUCKETS, OtlpSettings
from monitor.errors import MonitorError
from monitor.runner import CheckRun
from monitor.telemetry.base import (
    ExportContext,
    Offload,
    api_response_ms,
    counts_as_up,
    describe,
    failure_reason,
    homepage_load_ms,
)


class OtlpExporter:
    """Records into OpenTelemetry instruments; :meth:`flush` exports them from a thread."""

    name = "otlp"
    sends = True

    def __init__(self, settings: OtlpSettings, ctx: ExportContext) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: PLC0415 -- optional extra
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
                OTLPMetricExporter,
            )
            from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
            from opentelemetry.sdk.metrics.export import (  # noqa: PLC0415
                InMemoryMetricReader,
                MetricExportResult,
            )
            from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        except ImportError as exc:
            raise MonitorError(
                "telemetry.otlp needs the 'otlp' extra: pip install 'smokewatch[otlp]'"
            ) from exc
        self._ctx = ctx
        timeout_s = settings.timeout.total_seconds()
        exporter = OTLPMetricExporter(
            endpoint=settings.endpoint,
            headers={name: value.get_secret_value() for name, value in settings.headers.items()},
            timeout=timeout_s,
            compression={
                "none": Compression.NoCompression,
                "gzip": Compression.Gzip,
                "deflate": Compression.Deflate,
            }[settings.compression],
        )
        # A pull reader: we collect and export when we flush, and see the export's result
        # (a periodic reader's force_flush reports success whatever the export did).
        self._reader = InMemoryMetricReader()
        self._exporter = exporter
        self._success_result = MetricExportResult.SUCCESS
        self._provider = MeterProvider(
            metric_readers=[self._reader],
            resource=Resource(
                {
                    "service.name": "smokewatch",
                    "service.version": ctx.version,
                    "smokewatch.region": ctx.region,
                }
            ),
            shutdown_on_exit=False,
        )
        meter = self._provider.get_meter("smokewatch", ctx.version)
        self._duration = meter.create_histogram(
            "smoke_test.duration",
            unit="s",
            description="Duration of a check run, retries included",
            explicit_bucket_boundaries_advisory=DEFAULT_BUCKETS,
        )
        self._success = meter.create_gauge("smoke_test.success", description="1 passed, 0 failed")
        self._api = meter.create_gauge("smoke_test.api_response", unit="s")
        self._homepage = meter.create_gauge("smoke_test.homepage_load", unit="s")
        self._runs = meter.create_counter("smoke_test.runs", unit="{run}")
        self._failures = meter.create_counter("smoke_test.failures", unit="{run}")
        self._timeout_ms = timeout_s * 1000.0
        self._offload = Offload(timeout_s + 1.0)
        self._dirty = False

    def record(self, runs: Sequence[CheckRun]) -> None:
        for run in runs:
            attrs: dict[str, Any] = {"check": run.check, "kind": run.kind, "region": run.region}
            self._runs.add(1, {**attrs, "result": run.status.value})
            self._dirty = True
            if (reason := failure_reason(run)) is not None:
                self._failures.add(1, {**attrs, "reason": reason})
            up = counts_as_up(run)
            if up is None:
                continue
            self._success.set(1.0 if up else 0.0, attrs)
            self._duration.record(run.duration_ms / 1000.0, attrs)
            if (api := api_response_ms(run)) is not None:
                self._api.set(api / 1000.0, attrs)
            if (load := homepage_load_ms(run)) is not None:
                self._homepage.set(load / 1000.0, attrs)

    def _export(self) -> bool:
        data = self._reader.get_metrics_data()
        if data is None:
            return True
        result = self._exporter.export(data, timeout_millis=self._timeout_ms)
        return bool(result == self._success_result)

    async def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        try:
            done = await self._offload.run(self._export)
        except Exception as exc:  # noqa: BLE001 -- a collector down must never fail a run
            self._ctx.failed(self.name, describe(exc))
            return
        if not done:
            self._ctx.failed(self.name, "OTLP export failed or timed out")

    def _shutdown(self) -> None:
        self._provider.shutdown(self._timeout_ms)
        self._exporter.shutdown(timeout_millis=self._timeout_ms)

    async def close(self) -> None:
        await self.flush()
        try:
            await self._offload.run(self._shutdown)
        except Exception as exc:  # noqa: BLE001 -- closing must not fail shutdown
            self._ctx.failed(self.name, describe(exc))

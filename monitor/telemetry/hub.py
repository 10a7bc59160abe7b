"""The telemetry a Runtime owns: every configured exporter, the Pushgateway, the heartbeat.

::

    telemetry = build_telemetry(config.telemetry, registry=rt.registry, region=rt.region,
                                env=env, log=rt.log, version=smokewatch_version())
    await telemetry.publish(runs)      # after each run: record; flush + heartbeat in the background
    outcome = await telemetry.push()   # end of `run --once`: PushOutcome, or None if off
    await telemetry.close()

A backend is one module and one line in :data:`EXPORTERS` (a function of the whole
``TelemetrySettings`` returning the exporter, or ``None`` when its section is absent).
Nothing here raises once built: a backend that is down is logged and counted in
``smokewatch_telemetry_errors_total{exporter}``.  Building raises
:class:`~monitor.errors.MonitorError` for a setting that cannot work (agentless
Datadog or New Relic without a key, a malformed DogStatsD URL, OTLP or CloudWatch
without its extra).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from monitor.config.models import CheckCommon
from monitor.config.root import SmokewatchConfig
from monitor.config.telemetry import DatadogSettings, TelemetrySettings
from monitor.runner import CheckRun
from monitor.telemetry.base import ExportContext, Exporter, describe
from monitor.telemetry.cloudwatch import CloudWatchExporter
from monitor.telemetry.datadog import DogStatsdExporter
from monitor.telemetry.datadog_agentless import AgentlessExporter
from monitor.telemetry.heartbeat import Heartbeat
from monitor.telemetry.newrelic import NewRelicExporter
from monitor.telemetry.otlp import OtlpExporter
from monitor.telemetry.prometheus import PrometheusExporter
from monitor.telemetry.pushgateway import Pusher, PushOutcome


def _datadog(settings: DatadogSettings, ctx: ExportContext) -> Exporter:
    if settings.mode == "agentless":
        return AgentlessExporter(settings, ctx)
    return DogStatsdExporter(settings, ctx)


ExporterFactory = Callable[[TelemetrySettings, ExportContext], Exporter | None]

EXPORTERS: dict[str, ExporterFactory] = {
    "prometheus": lambda s, ctx: PrometheusExporter(s.prometheus, ctx),
    "datadog": lambda s, ctx: _datadog(s.datadog, ctx) if s.datadog else None,
    "otlp": lambda s, ctx: OtlpExporter(s.otlp, ctx) if s.otlp else None,
    "newrelic": lambda s, ctx: NewRelicExporter(s.newrelic, ctx) if s.newrelic else None,
    "cloudwatch": lambda s, ctx: CloudWatchExporter(s.cloudwatch, ctx) if s.cloudwatch else None,
}


class Telemetry:
    """The exporters of one Runtime, used together."""

    def __init__(
        self,
        exporters: Sequence[Exporter],
        *,
        ctx: ExportContext,
        pusher: Pusher | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.exporters = tuple(exporters)
        self._senders = tuple(e for e in self.exporters if e.sends)
        self.ctx = ctx
        self.pusher = pusher
        self._heartbeat = heartbeat
        self._deliveries: set[asyncio.Task[None]] = set()  # publish()'s, until they end
        extra = [x.name for x in (pusher, heartbeat) if x is not None]
        for name in [*(e.name for e in self.exporters), *extra]:
            ctx.count_errors_of(name)

    def record(self, runs: Sequence[CheckRun]) -> None:
        """Hand the runs to every exporter (memory only); never raises."""
        self.ctx.generation += 1
        for exporter in self.exporters:
            try:
                exporter.record(runs)
            except Exception as exc:  # noqa: BLE001 -- one broken exporter must not stop the rest
                self.ctx.failed(exporter.name, describe(exc))

    async def flush(self) -> None:
        """Send what every exporter batched, concurrently, each within its own timeout."""
        await asyncio.gather(*(self._guard(e.name, e.flush) for e in self._senders))

    async def heartbeat(self) -> bool | None:
        """Ping the dead-man's switch; None when none is configured."""
        return None if self._heartbeat is None else await self._heartbeat.ping()

    async def publish(self, runs: Sequence[CheckRun]) -> None:
        """After a run: record now, then flush and ping in a background task.  Never raises.

        The run does not wait for the backends: a slow or hung one would otherwise hold
        its ``run_once`` (and with it the scheduler's slot for the check, so its next
        run could be skipped) for up to that backend's timeout.  :meth:`settle` and
        :meth:`close` wait for what is still being delivered.
        """
        self.record(runs)
        if not self._senders and self._heartbeat is None:
            return  # scraped only (Prometheus): nothing to deliver, no task to start
        task = asyncio.create_task(self._deliver(), name="smokewatch-telemetry-publish")
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self) -> None:
        await asyncio.gather(self.flush(), self._guard("heartbeat", self.heartbeat))

    async def settle(self) -> None:
        """Wait for the deliveries :meth:`publish` started (each bounded by its timeouts)."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries)

    async def push(self) -> PushOutcome | None:
        """Push the registry to the Pushgateway (one-shot mode); None when none is configured."""
        return None if self.pusher is None else await self.pusher.push()

    async def close(self) -> None:
        """Finish the deliveries under way, flush what is left, release every client."""
        await self.settle()
        await asyncio.gather(*(self._guard(e.name, e.close) for e in self.exporters))
        if self._heartbeat is not None:
            await self._guard("heartbeat", self._heartbeat.close)

    async def _guard(self, name: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await call()
        except Exception as exc:  # noqa: BLE001 -- exporters promise not to raise; make sure
            self.ctx.failed(name, describe(exc))


def build_telemetry(
    settings: TelemetrySettings,
    *,
    registry: CollectorRegistry,
    region: str,
    env: Mapping[str, str],
    log: Any,
    version: str,
    interval: timedelta | None = None,
) -> Telemetry:
    """Build every configured backend on ``registry``; ``env`` supplies the DD_* defaults.

    ``interval`` is how often the region's checks should run (the shortest check
    interval): exported as ``smokewatch_run_interval_seconds`` for the "has not run for
    two intervals" alert.
    """
    ctx = ExportContext(
        registry=registry, region=region, env=env, log=log, version=version, interval=interval
    )
    exporters = [e for build in EXPORTERS.values() if (e := build(settings, ctx)) is not None]
    pusher = Pusher(settings.pushgateway, ctx) if settings.pushgateway else None
    heartbeat = Heartbeat(settings.heartbeat, ctx) if settings.heartbeat else None
    return Telemetry(exporters, ctx=ctx, pusher=pusher, heartbeat=heartbeat)


def run_interval(config: SmokewatchConfig, checks: Iterable[CheckCommon]) -> timedelta | None:
    """The shortest interval of ``checks`` (cron checks aside): how often the region runs."""
    return min((config.settings_for(c).interval for c in checks if c.cron is None), default=None)

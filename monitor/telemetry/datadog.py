"""Datadog: ``smoke_test.*`` metrics and the ``smoke_test.check`` service check.

Two transports, one set of numbers (:func:`points`):

* ``dogstatsd`` (the long-running service): datagrams to the local Agent over UDP or a
  Unix socket, through a :class:`datadog.dogstatsd.DogStatsd` *instance* that this
  exporter owns.  Never the module-global ``datadog.statsd`` and never
  ``datadog.initialize()``: both are process-wide state, and a Runtime (a test, a
  reload) must get its own.
* ``agentless`` (CronJobs, no Agent): :mod:`monitor.telemetry.datadog_agentless`.

Metrics are gauges (one sample per check per run, the same type in both transports so
one dashboard reads either), timings in **milliseconds** as the spec's alert reads
them (``smoke_test.api_response > 500``).  Tags: ``check:``, ``kind:`` on each metric;
``env:``, ``service:``, ``region:`` and the configured extra tags on every one.
Service check status: pass OK, degraded WARNING, fail CRITICAL, error and suspect UNKNOWN;
a failed or errored run's service check also carries ``reason:<failure reason>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from monitor.config.telemetry import DatadogSettings, DogStatsdSettings
from monitor.errors import MonitorError
from monitor.runner import CheckRun
from monitor.telemetry.base import (
    SPEC_METRICS,
    ExportContext,
    Offload,
    describe,
    failure_reason,
    points,
)
from probes.base import Status

if TYPE_CHECKING:
    from datadog.dogstatsd.base import DogStatsd

METRICS: Final = SPEC_METRICS
SERVICE_CHECK: Final = "smoke_test.check"
# Service check statuses of the DogStatsD protocol and the check_run API.
CHECK_STATUS: Final = {
    Status.PASS: 0,
    Status.DEGRADED: 1,
    Status.FAIL: 2,
    Status.ERROR: 3,
    Status.SUSPECT: 3,
}
MESSAGE_MAX: Final = 200
MAX_PENDING: Final = 100_000  # queued points when the Agent cannot keep up; more are dropped
DEFAULT_PORT: Final = 8125


def constant_tags(settings: DatadogSettings, ctx: ExportContext) -> list[str]:
    """``env``, ``service`` and ``region`` (file first, then DD_ENV/DD_SERVICE), then extras."""
    env = settings.env or ctx.env.get("DD_ENV")
    service = settings.service or ctx.env.get("DD_SERVICE") or "smokewatch"
    tags = [f"env:{env}"] if env else []
    tags += [f"service:{service}", f"region:{ctx.region}"]
    return tags + [f"{key}:{value}" for key, value in settings.tags.items()]


def run_tags(run: CheckRun) -> list[str]:
    return [f"check:{run.check}", f"kind:{run.kind}"]


def check_tags(run: CheckRun) -> list[str]:
    """The service check's tags: the run's, plus ``reason:`` when it failed or errored."""
    reason = failure_reason(run)
    return run_tags(run) + ([f"reason:{reason}"] if reason is not None else [])


def check_message(run: CheckRun) -> str:
    """The service check's message: the run's (already redacted) message, clipped."""
    message = run.result.message
    return message if len(message) <= MESSAGE_MAX else message[: MESSAGE_MAX - 1] + "…"


@dataclass(frozen=True, slots=True)
class StatsdTarget:
    """Where datagrams go: ``host``/``port`` (UDP) or ``socket_path`` (Unix socket)."""

    host: str | None = None
    port: int | None = None
    socket_path: str | None = None


def statsd_target(settings: DogStatsdSettings, env: Mapping[str, str]) -> StatsdTarget:
    """The file's ``url``, else ``DD_DOGSTATSD_URL``, else ``DD_AGENT_HOST``, else localhost."""
    url = settings.url or env.get("DD_DOGSTATSD_URL")
    if url is None:
        port = env.get("DD_DOGSTATSD_PORT") or str(DEFAULT_PORT)
        url = f"udp://{env.get('DD_AGENT_HOST') or 'localhost'}:{port}"
    parts = urlsplit(url)
    if parts.scheme in ("unix", "unixgram", "unixstream"):
        # DogStatsd takes the URL as it is: the scheme picks datagram or stream sockets.
        return StatsdTarget(socket_path=url)
    if parts.scheme != "udp" or not parts.hostname:
        raise MonitorError(
            f"telemetry.datadog.dogstatsd.url {url!r}: expected udp://host:port or unix:///path"
        )
    try:
        port_number = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise MonitorError(f"telemetry.datadog.dogstatsd.url {url!r}: bad port") from exc
    return StatsdTarget(host=parts.hostname, port=port_number)


class DogStatsdExporter:
    """Queues points in :meth:`record`; :meth:`flush` sends them, packed, from a thread."""

    name = "datadog"
    sends = True

    def __init__(self, settings: DatadogSettings, ctx: ExportContext) -> None:
        self._ctx = ctx
        self._service_checks = settings.service_checks
        # Imported here: ``import datadog`` loads its whole API client (~0.5 s), which a
        # deployment without DogStatsD should not pay for at every start.
        from datadog.dogstatsd.base import DogStatsd  # noqa: PLC0415

        target = statsd_target(settings.dogstatsd, ctx.env)
        self.target = target
        self.client: DogStatsd = DogStatsd(
            host=target.host,
            port=target.port,
            socket_path=target.socket_path,
            disable_telemetry=True,  # the client's own metrics, billed as custom metrics
            origin_detection_enabled=settings.dogstatsd.origin_detection,
            track_instance=False,  # no process-wide registry of clients
        )
        # The client also adds DATADOG_TAGS/DD_ENV/DD_SERVICE from os.environ; ours are
        # already resolved from the environment we were given, so set them exactly.
        self.client.constant_tags = constant_tags(settings, ctx)
        self._pending: list[tuple[str, float | int, list[str], str | None]] = []
        self._offload = Offload(settings.dogstatsd.timeout.total_seconds())
        self._dropped = 0

    def record(self, runs: Sequence[CheckRun]) -> None:
        pending = self._pending
        for run in runs:
            if len(pending) >= MAX_PENDING:
                self._dropped += 1
                self._ctx.dropped(self.name, len(points(run)))
                continue
            tags = run_tags(run)
            pending.extend((name, value, tags, None) for name, value in points(run))
            if self._service_checks:
                # "|" separates datagram fields; the client escapes only newlines.
                message = check_message(run).replace("|", "/")
                pending.append((SERVICE_CHECK, CHECK_STATUS[run.status], check_tags(run), message))

    def _send(self, batch: list[tuple[str, float | int, list[str], str | None]]) -> bool:
        client = self.client
        client.open_buffer()  # lines are packed into as few datagrams as fit
        try:
            for name, value, tags, message in batch:
                if message is None:
                    client.gauge(name, value, tags=tags)
                else:
                    client.service_check(name, int(value), tags=tags, message=message)
            sent: bool = client.flush_buffered_metrics()
        finally:
            client.close_buffer()
        return sent

    async def flush(self) -> None:
        if self._dropped:
            self._ctx.failed(self.name, f"dropped {self._dropped} runs: the Agent is behind")
            self._dropped = 0
        if not self._pending or self._offload.busy:
            return
        batch, self._pending = self._pending, []
        try:
            sent = await self._offload.run(lambda: self._send(batch))
        except Exception as exc:  # noqa: BLE001 -- Datadog down must never fail a run
            self._ctx.failed(self.name, describe(exc))
            return
        if not sent:
            self._ctx.failed(self.name, "DogStatsD send failed (is the Agent listening?)")

    async def close(self) -> None:
        await self.flush()
        try:
            self.client.close_socket()
        except Exception as exc:  # noqa: BLE001 -- closing must not fail shutdown
            self._ctx.failed(self.name, describe(exc))

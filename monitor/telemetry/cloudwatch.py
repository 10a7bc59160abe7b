"""Amazon CloudWatch: the spec's ``smoke_test.*`` metrics through ``PutMetricData``.

Needs boto3 (the ``cloudwatch`` extra: ``pip install 'smokewatch[cloudwatch]'``),
imported only when the section is configured.  Credentials and region come from
boto3's standard chain (environment, shared config and credentials files, web
identity / IRSA, ECS and EC2 instance roles) unless the section names them.

Each point is one ``MetricDatum`` in the configured namespace:

=============================  ============  =========================================
metric                         unit          value
=============================  ============  =========================================
``smoke_test.duration``        Milliseconds  the whole run, retries included
``smoke_test.success``         Count         1 pass/degraded, 0 fail (Average: pass rate)
``smoke_test.homepage_load``   Milliseconds  browser checks: the load event
``smoke_test.api_response``    Milliseconds  http and flow checks: the final response
=============================  ============  =========================================

with dimensions ``check`` and ``region`` and then the configured ones; an ``error``
run sends nothing (no evidence about the target).  Calls stay within CloudWatch's
limits: at most 1000 data per call and well under its 1 MB request size.

boto3 is blocking: the calls of one flush run in one worker thread
(:class:`~monitor.telemetry.base.Offload`), the whole flush bounded by ``timeout``;
botocore's ``standard`` retry mode retries throttling and 5xx up to ``retries``
times.  A flush still running holds the next one back (its points wait, up to
``MAX_PENDING_POINTS``); points that never got through are counted in
``smokewatch_telemetry_dropped_total{exporter="cloudwatch"}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from monitor.awsclient import aws_client
from monitor.config.telemetry import CloudWatchSettings
from monitor.errors import MonitorError
from monitor.runner import CheckRun
from monitor.telemetry.base import ExportContext, Offload, admit, describe, finished_at

UNITS: Final = {
    "smoke_test.duration": "Milliseconds",
    "smoke_test.success": "Count",
    "smoke_test.homepage_load": "Milliseconds",
    "smoke_test.api_response": "Milliseconds",
}
MAX_DATA_PER_CALL: Final = 1000  # PutMetricData: 1000 MetricDatum per request
MAX_CALL_BYTES: Final = 800_000  # PutMetricData: 1 MB per request; this leaves headroom
# A datum's encoded size: its strings (percent-encoded at worst x3) plus field names and
# numbers.  Conservative: real data comes in at about a third of it.
_DATUM_OVERHEAD: Final = 300

Datum = dict[str, Any]


def _client(settings: CloudWatchSettings) -> Any:
    timeout_s = settings.timeout.total_seconds()
    return aws_client(
        "cloudwatch",
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        access_key_id=settings.access_key_id,
        secret_access_key=settings.secret_access_key,
        config={
            "connect_timeout": min(timeout_s, 5.0),
            "read_timeout": timeout_s,
            "retries": {"max_attempts": settings.retries + 1, "mode": "standard"},
            # Our data are built here from validated settings; botocore re-checking
            # every field of every datum cost ~60 of ~140 µs CPU a result (bench/telemetry).
            "parameter_validation": False,
        },
        error=MonitorError,
        missing_boto3="telemetry.cloudwatch needs boto3: pip install 'smokewatch[cloudwatch]'",
        missing_region=(
            "telemetry.cloudwatch.region is not set and boto3 found no region "
            "(AWS_REGION, AWS_DEFAULT_REGION or the shared config file)"
        ),
    )


def datum_size(datum: Datum) -> int:
    """An upper bound of ``datum``'s bytes in a request."""
    strings = len(datum["MetricName"]) + sum(
        len(d["Name"]) + len(d["Value"]) for d in datum["Dimensions"]
    )
    return 3 * strings + _DATUM_OVERHEAD


def batches(data: Sequence[Datum]) -> list[list[Datum]]:
    """``data`` split into calls of at most 1000 data and ``MAX_CALL_BYTES``."""
    out: list[list[Datum]] = []
    current: list[Datum] = []
    size = 0
    for datum in data:
        grows = datum_size(datum)
        if current and (len(current) >= MAX_DATA_PER_CALL or size + grows > MAX_CALL_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(datum)
        size += grows
    if current:
        out.append(current)
    return out


class CloudWatchExporter:
    """Batches ``MetricDatum`` in memory; :meth:`flush` puts them from a worker thread."""

    name = "cloudwatch"
    sends = True

    def __init__(self, settings: CloudWatchSettings, ctx: ExportContext) -> None:
        self._ctx = ctx
        self.namespace = settings.namespace
        self.client: Any = _client(settings)
        self._extra = [{"Name": k, "Value": v} for k, v in settings.dimensions.items()]
        self._resolution = settings.storage_resolution
        self._offload = Offload(settings.timeout.total_seconds())
        self._pending: list[Datum] = []

    def record(self, runs: Sequence[CheckRun]) -> None:
        pending = self._pending
        for run, found in admit(runs, pending, self._ctx, self.name):
            at = finished_at(run)
            dimensions = [
                {"Name": "check", "Value": run.check},
                {"Name": "region", "Value": run.region},
                *self._extra,
            ]
            pending.extend(
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": float(value),
                    "Unit": UNITS[name],
                    "StorageResolution": self._resolution,
                }
                for name, value in found
            )

    def _put(self, calls: list[list[Datum]], sent: list[int]) -> None:
        for data in calls:
            self.client.put_metric_data(Namespace=self.namespace, MetricData=data)
            sent[0] += len(data)

    async def flush(self) -> None:
        if not self._pending or self._offload.busy:
            return
        data, self._pending = self._pending, []
        sent = [0]  # written by the thread: what got through if a later call fails
        try:
            await self._offload.run(lambda: self._put(batches(data), sent))
        except Exception as exc:  # noqa: BLE001 -- CloudWatch down must never fail a run
            self._ctx.dropped(self.name, len(data) - sent[0])
            self._ctx.failed(self.name, describe(exc))

    async def close(self) -> None:
        await self.flush()
        try:
            self.client.close()
        except Exception as exc:  # noqa: BLE001 -- closing must not fail shutdown
            self._ctx.failed(self.name, describe(exc))

"""New Relic: the spec's ``smoke_test.*`` gauges through the Metric API, over HTTP.

``POST https://metric-api.newrelic.com/metric/v1`` (EU accounts:
``metric-api.eu.newrelic.com``) with the license key in the ``Api-Key`` header and a
gzipped JSON body in the documented shape::

    [{"common": {"attributes": {"service.name": "smokewatch", "smokewatch.version": ...,
                                <configured attributes>}},
      "metrics": [{"name": "smoke_test.duration", "type": "gauge", "value": 120.5,
                   "timestamp": <ms since the epoch>,
                   "attributes": {"check": ..., "region": ..., "kind": ...}}, ...]}]

Values are those Datadog gets (:func:`~monitor.telemetry.base.points`, milliseconds);
an ``error`` run sends nothing (no evidence about the target).

Delivery, bounded like every exporter: one flush at a time (points recorded meanwhile
wait for the next), the whole flush within ``timeout``.  A request answered 408, 429
or 5xx, or not answered at all, is retried up to ``retries`` times after
``Retry-After`` (or 0.5 s, 1 s, 2 s ...) when that wait fits in what is left of the
timeout; any other answer outside 2xx (400 bad payload, 403 bad key, 413 too large)
is final.  Points that never got through are counted in
``smokewatch_telemetry_dropped_total{exporter="newrelic"}`` and the failure in
``smokewatch_telemetry_errors_total``; the log names the status, never the key.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Sequence
from typing import Any, Final

import httpx

from monitor.config.telemetry import NewRelicSettings
from monitor.errors import MonitorError
from monitor.runner import CheckRun
from monitor.telemetry.base import (
    ExportContext,
    TelemetryRefusedError,
    admit,
    describe,
    finished_at,
)
from probes.retry import backoff_s, parse_retry_after

ENDPOINTS: Final = {
    "us": "https://metric-api.newrelic.com/metric/v1",
    "eu": "https://metric-api.eu.newrelic.com/metric/v1",
}
KEY_ENV: Final = "NEW_RELIC_LICENSE_KEY"
RETRY_STATUSES: Final = frozenset({408, 429})
FIRST_BACKOFF_S: Final = 0.5


def metric_api_url(settings: NewRelicSettings, key: str) -> str:
    """The configured ``url``, else the region's endpoint (an ``eu…`` key means the EU)."""
    if settings.url:
        return settings.url
    region = settings.region or ("eu" if key.lower().startswith("eu") else "us")
    return ENDPOINTS[region]


def _retryable(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


class NewRelicExporter:
    """Batches data points in memory; :meth:`flush` posts them, gzipped, with bounded retries."""

    name = "newrelic"
    sends = True

    def __init__(self, settings: NewRelicSettings, ctx: ExportContext) -> None:
        secret = settings.license_key
        key = secret.get_secret_value() if secret else ctx.env.get(KEY_ENV)
        if not key:
            raise MonitorError(
                f"telemetry.newrelic.license_key is not set and {KEY_ENV} is empty: "
                "New Relic's Metric API needs a license key"
            )
        self._ctx = ctx
        self.url = metric_api_url(settings, key)
        self._timeout_s = settings.timeout.total_seconds()
        self._retries = settings.retries
        self._chunk = settings.max_metrics_per_request
        self._common = {
            "attributes": {
                "service.name": "smokewatch",
                "smokewatch.version": ctx.version,
                **settings.attributes,
            }
        }
        self._client = httpx.AsyncClient(
            headers={
                "Api-Key": key,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
            timeout=self._timeout_s,
            trust_env=False,
        )
        self._pending: list[dict[str, Any]] = []
        self._sending = False

    def record(self, runs: Sequence[CheckRun]) -> None:
        pending = self._pending
        for run, found in admit(runs, pending, self._ctx, self.name):
            at_ms = int(finished_at(run).timestamp() * 1000)
            attributes = {"check": run.check, "region": run.region, "kind": run.kind}
            pending.extend(
                {
                    "name": name,
                    "type": "gauge",
                    "value": value,
                    "timestamp": at_ms,
                    "attributes": attributes,
                }
                for name, value in found
            )

    def payloads(self, batch: list[dict[str, Any]]) -> list[tuple[bytes, int]]:
        """``batch`` as gzipped request bodies of at most ``max_metrics_per_request`` points,
        each with its number of points."""
        out = []
        for i in range(0, len(batch), self._chunk):
            metrics = batch[i : i + self._chunk]
            body = json.dumps([{"common": self._common, "metrics": metrics}]).encode()
            out.append((gzip.compress(body, compresslevel=6), len(metrics)))
        return out

    async def flush(self) -> None:
        if not self._pending or self._sending:
            return
        batch, self._pending = self._pending, []
        self._sending = True
        sent = 0
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                for body, size in self.payloads(batch):
                    await self._post(body, deadline)
                    sent += size
        except Exception as exc:  # noqa: BLE001 -- New Relic down must never fail a run
            self._ctx.dropped(self.name, len(batch) - sent)
            self._ctx.failed(self.name, describe(exc))
        finally:
            self._sending = False

    async def _post(self, body: bytes, deadline: float) -> None:
        """One request, retried while New Relic says "later" and the deadline allows it."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                response = await self._client.post(self.url, content=body)
            except httpx.TransportError as exc:
                problem: str = describe(exc)
                wait = backoff_s(FIRST_BACKOFF_S, 2.0, attempt + 1)
            else:
                status = response.status_code
                if status < 300:
                    return
                # The status only: the body may echo the request, and the key is in a header.
                problem = f"metric API answered {status}"
                if not _retryable(status):
                    raise TelemetryRefusedError(problem)
                asked = parse_retry_after(response.headers.get("retry-after"))
                wait = asked if asked is not None else backoff_s(FIRST_BACKOFF_S, 2.0, attempt + 1)
            if attempt >= self._retries:
                raise TelemetryRefusedError(f"{problem} ({attempt + 1} attempts)")
            if loop.time() + wait >= deadline:
                raise TelemetryRefusedError(
                    f"{problem}; a retry in {wait:g} s would pass the timeout"
                )
            attempt += 1
            await asyncio.sleep(wait)

    async def close(self) -> None:
        await self.flush()
        await self._client.aclose()

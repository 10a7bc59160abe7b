"""A dead-man's switch: ping a URL after every run, so silence itself raises an alarm.

Services such as healthchecks.io or Dead Man's Snitch alert when the pings stop: a
monitor that crashed, hangs or was never rescheduled is noticed even though it can
no longer report anything.  The ping says "the monitor ran", not "the checks
passed" (failures are the metrics' and alerts' business).

The URL usually carries the account's token, so it is a secret: it is never logged;
a failed ping is logged by status code or exception type only.  A ping never raises
and never takes longer than ``timeout``.
"""

from __future__ import annotations

import asyncio

import httpx

from monitor.config.telemetry import HeartbeatSettings
from monitor.telemetry.base import ExportContext


class Heartbeat:
    """Pings one URL; owns its HTTP client."""

    name = "heartbeat"

    def __init__(self, settings: HeartbeatSettings, ctx: ExportContext) -> None:
        self._ctx = ctx
        self._url = settings.url.get_secret_value()
        self._method = settings.method
        self._timeout_s = settings.timeout.total_seconds()
        self._client = httpx.AsyncClient(
            timeout=self._timeout_s,
            follow_redirects=True,
            trust_env=False,
            headers={"User-Agent": f"smokewatch/{ctx.version} (heartbeat)"},
        )

    async def ping(self) -> bool:
        """Ping once; True if the URL answered 2xx/3xx.  Never raises."""
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.request(self._method, self._url)
        except Exception as exc:  # noqa: BLE001 -- a missed ping must never fail a run
            # The type only: some httpx errors quote the URL, which holds the token.
            self._ctx.failed(self.name, type(exc).__name__)
            return False
        if response.status_code >= 400:
            self._ctx.failed(self.name, f"ping answered {response.status_code}")
            return False
        return True

    async def close(self) -> None:
        await self._client.aclose()

"""The deliverer: sends due outbox rows through their channel's notifier, exactly once per row.

One pass (:meth:`Deliverer.deliver_due`): read the due rows of the channels this
instance has a notifier for; claim each (a compare-and-set that takes the row for
``claim_lease`` and counts an attempt); send; mark it delivered.  A failure
reschedules it after an exponential backoff (capped; a ``Retry-After`` honoured);
a non-retryable failure or the last allowed attempt marks it failed, with a
sanitized error, visible through the API.

Crash safety: a crash before sending leaves the row claimed until the lease runs
out, then another pass sends it (once).  A crash after sending but before marking
sends it again after the lease, with the same ``key``: at-least-once to the
channel, deduplicated where the channel can.  A send is cut off at half the lease,
so a live sender never loses its claim mid-send.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification, Notifier
from monitor.alerting.settings import DeliverySettings
from monitor.redact import Redactor
from monitor.store.alert_records import OutboxRecord
from monitor.store.alerts import AlertStore
from monitor.store.errors import StoreError

BATCH = 50
DRAIN_MIN_SLEEP_S = 0.05


@dataclass(slots=True)
class DeliveryReport:
    """What one pass did with the rows it found due."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another deliverer first


class Deliverer:
    """Sends outbox rows; many deliverers (one per instance) may share one database."""

    def __init__(
        self,
        alerts: AlertStore,
        notifiers: Mapping[str, Notifier],
        settings: DeliverySettings,
        *,
        log: Any,
        clock: Callable[[], datetime],
        redactor: Redactor | None = None,
    ) -> None:
        self._alerts = alerts
        self._notifiers = dict(notifiers)
        self._settings = settings
        self._log = log
        self._clock = clock
        self._redactor = redactor if redactor is not None else Redactor()
        self._wake = asyncio.Event()
        self._semaphore = asyncio.Semaphore(settings.concurrency)

    @property
    def channels(self) -> frozenset[str]:
        """The channels this deliverer can send to (rows of others wait for another instance)."""
        return frozenset(self._notifiers)

    def wake(self) -> None:
        """Look for due rows now rather than at the next poll (the engine just wrote some)."""
        self._wake.set()

    async def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """One pass over the rows due at ``now`` (default: the clock)."""
        now = self._clock() if now is None else now
        report = DeliveryReport()
        if not self._notifiers:
            return report
        rows = await self._alerts.due(now, channels=self.channels, limit=BATCH)
        outcomes = await asyncio.gather(*(self._deliver(row, now) for row in rows))
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    async def run(self, *, stopping: asyncio.Event) -> None:
        """Deliver until ``stopping`` is set: a pass per poll interval or wake-up."""
        poll = self._settings.poll_interval.total_seconds()
        while not stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver_due()
            except StoreError as exc:
                self._log.warning("alert.delivery_store_unavailable", reason=str(exc))
            except Exception as exc:  # noqa: BLE001 -- the loop must outlive any one failure
                self._log.exception("alert.delivery_error", error=type(exc).__name__)
            wake = asyncio.ensure_future(self._wake.wait())
            stop = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait({wake, stop}, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()
                stop.cancel()

    async def drain(self, timeout_s: float) -> int:
        """Deliver until nothing of our channels is pending or ``timeout_s`` passed.

        Waits out backoffs and other senders' claims within the time.  Returns how many
        rows are still pending (0: everything was delivered or has failed for good).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            await self.deliver_due()
            pending = await self._alerts.pending(channels=self.channels) if self._notifiers else []
            remaining = deadline - time.monotonic()
            if not pending or remaining <= 0:
                return len(pending)
            now = self._clock()
            due = min(_due_at(row) for row in pending)
            wait = (due - now).total_seconds()
            await asyncio.sleep(min(max(wait, DRAIN_MIN_SLEEP_S), remaining))

    async def _deliver(self, row: OutboxRecord, now: datetime) -> str:
        settings = self._settings
        async with self._semaphore:
            attempts = await self._alerts.claim(row.id, now=now, until=now + settings.claim_lease)
            if attempts is None:
                return "skipped"
            notification = Notification.from_json(row.payload)
            error, retryable, retry_after = await self._send(notification)
            if error is None:
                await self._alerts.delivered(row.id, at=self._clock())
                self._log.info(
                    "alert.delivered",
                    alert=row.alert_key,
                    kind=notification.kind,
                    channel=row.channel,
                    attempts=attempts,
                )
                return "delivered"
            if not retryable or attempts >= settings.max_attempts:
                await self._alerts.failed(row.id, at=self._clock(), error=error)
                self._log.error(
                    "alert.delivery_failed",
                    alert=row.alert_key,
                    kind=notification.kind,
                    channel=row.channel,
                    attempts=attempts,
                    reason=error,
                )
                return "failed"
            delay = settings.backoff.delay(attempts, retry_after)
            await self._alerts.retry_later(row.id, at=now + delay, error=error)
            self._log.warning(
                "alert.delivery_retry",
                alert=row.alert_key,
                channel=row.channel,
                attempts=attempts,
                retry_in_s=delay.total_seconds(),
                reason=error,
            )
            return "retrying"

    async def _send(self, notification: Notification) -> tuple[str | None, bool, float | None]:
        """``(error, retryable, retry_after_s)``; ``error`` is ``None`` when it was delivered."""
        notifier = self._notifiers[notification.channel]  # due() only returns our channels
        timeout = self._settings.send_timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                await notifier.send(notification)
        except DeliveryError as exc:
            return self._redactor.text(exc.message), exc.retryable, exc.retry_after_s
        except TimeoutError:
            return f"no answer within {timeout:g}s", True, None
        except Exception as exc:  # noqa: BLE001 -- a notifier bug must not lose the row
            self._log.exception("alert.notifier_error", channel=notification.channel)
            return self._redactor.text(f"{type(exc).__name__}: {exc}"), True, None
        return None, False, None


def _due_at(row: OutboxRecord) -> datetime:
    claimed = row.claimed_until
    if claimed is not None and claimed > row.next_attempt_at:
        return claimed + timedelta(microseconds=1)
    return row.next_attempt_at

"""The deliverer: sends due outbox rows through their channel's notifier, exactly once per row.

One pass (:meth:`Deliverer.deliver_due`): read the due rows of the channels this
instance has a notifier for; claim each (a compare-and-set that takes the row for
``claim_lease`` and counts an attempt); send; mark it delivered.  A failure
reschedules it after an exponential backoff (capped; a ``Retry-After`` honoured);
a non-retryable failure or the last allowed attempt marks it failed, with a
sanitized error, visible through the API.

Owners: each deliverer has its own owner id (host/pid/random, new at every start),
names it in its claims, and writes a heartbeat every ``owner_timeout / 4`` (and
before its first claim).  A claim is free once its lease has run out *or* its
owner's heartbeat is older than ``owner_timeout`` (or was removed by a clean stop).
The rule needs no stable identity: a restarted process is a new owner, and takes
back the rows its killed predecessor had claimed as soon as that one's heartbeat is
``owner_timeout`` old (10 s by default, about the time a restart takes), never
after the whole lease.  A live owner cut off from the store for ``owner_timeout``
counts as gone: a send it still finishes then may be repeated (same key).

Crash safety: a crash before sending leaves the row claimed until its owner is seen
gone, then another pass sends it (once).  A crash during the send or after it but
before marking sends it again, with the same ``key``: at-least-once to the channel,
deduplicated by the receivers that can (e-mail ``Message-ID``, webhook
``Idempotency-Key``, PagerDuty ``dedup_key``); Slack cannot, so its duplicate window
is the send itself: the row is marked delivered right after the answer.  A send is
cut off at half the lease, so a live sender never loses its claim mid-send, and
marking a sent row delivered is retried through a store failure (for ``owner_timeout``).

Clocks: heartbeats and leases are written and compared in the instances' own clocks,
so instances sharing a database must agree within a few seconds (less than
``owner_timeout`` minus a heartbeat interval), or one may take a live owner's claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification, Notifier
from monitor.config.alerting import DeliverySettings
from monitor.redact import Redactor
from monitor.store.alert_records import OutboxRecord
from monitor.store.alerts import AlertStore
from monitor.store.errors import StoreError

BATCH = 50
DRAIN_MIN_SLEEP_S = 0.05
HOST_CHARS = 100
MARK_RETRY_S = 0.25


def new_owner() -> str:
    """An owner id for one deliverer process: ``host/pid/random``, unique to this start."""
    return f"{socket.gethostname()[:HOST_CHARS]}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


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
        owner: str | None = None,
    ) -> None:
        self.owner = owner if owner is not None else new_owner()
        self._beat_at: datetime | None = None
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
        await self._heartbeat(now)  # a claim is never older than its owner's heartbeat
        rows = await self._alerts.due(
            now, channels=self.channels, limit=BATCH, owner_timeout=self._settings.owner_timeout
        )
        outcomes = await asyncio.gather(*(self._deliver(row, now) for row in rows))
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    async def run(self, *, stopping: asyncio.Event) -> None:
        """Deliver until ``stopping`` is set: a pass per poll interval or wake-up, and a
        heartbeat beside; a clean stop removes the heartbeat (leftover claims free at once).
        Without notifiers nothing is claimed: no heartbeat is written."""
        if not self._notifiers:
            await self._passes(stopping)
            return
        beats = asyncio.create_task(self._beating(stopping), name="smokewatch-heartbeat")
        try:
            await self._passes(stopping)
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            with contextlib.suppress(StoreError):
                await self._alerts.forget_owner(self.owner)

    async def _passes(self, stopping: asyncio.Event) -> None:
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
            # A claim of a gone owner is free before its lease: look again every heartbeat.
            beat = self._settings.heartbeat_interval.total_seconds()
            await asyncio.sleep(min(max(wait, DRAIN_MIN_SLEEP_S), remaining, beat))

    async def _beating(self, stopping: asyncio.Event) -> None:
        every = self._settings.heartbeat_interval.total_seconds()
        while not stopping.is_set():
            try:
                await self._heartbeat(self._clock(), force=True)
            except StoreError as exc:
                self._log.warning("alert.heartbeat_failed", owner=self.owner, reason=str(exc))
            except Exception as exc:  # noqa: BLE001 -- the heartbeat must outlive any one failure
                self._log.exception("alert.heartbeat_error", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=every)

    async def _heartbeat(self, now: datetime, *, force: bool = False) -> None:
        """Write a heartbeat unless one was written within the heartbeat interval before ``now``
        (by the clock: a clock moved by hand gets a heartbeat at its new time)."""
        last = self._beat_at
        fresh = last is not None and now - self._settings.heartbeat_interval < last <= now
        if fresh and not force:
            return
        await self._alerts.heartbeat(self.owner, at=now)
        self._beat_at = now

    async def _deliver(self, row: OutboxRecord, now: datetime) -> str:
        settings = self._settings
        async with self._semaphore:
            attempts = await self._alerts.claim(
                row.id,
                now=now,
                until=now + settings.claim_lease,
                owner=self.owner,
                owner_timeout=settings.owner_timeout,
            )
            if attempts is None:
                return "skipped"
            notification = Notification.from_json(row.payload)
            error, retryable, retry_after = await self._send(notification)
            if error is None:
                await self._mark_delivered(row)
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

    async def _mark_delivered(self, row: OutboxRecord) -> None:
        """Mark ``row`` delivered, retrying through a store failure for up to ``owner_timeout``
        (after which another instance may take the row anyway): a sent row left unmarked is
        sent again, a duplicate where the channel cannot deduplicate (Slack)."""
        deadline = time.monotonic() + self._settings.owner_timeout.total_seconds()
        while True:
            try:
                await self._alerts.delivered(row.id, at=self._clock())
            except StoreError as exc:
                if time.monotonic() >= deadline:
                    raise
                self._log.warning("alert.mark_retry", alert=row.alert_key, reason=str(exc))
                await asyncio.sleep(MARK_RETRY_S)
            else:
                return

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

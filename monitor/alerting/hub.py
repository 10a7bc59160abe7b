"""The alerting hub the Runtime owns: the engine, its timer, and the deliverer loop.

    alerting = Alerting(loaded, store, notifiers, settings=config.alerting, log=log)
    await alerting.start()                 # serve: timer + deliverer loop
    await alerting.after_runs(runs)        # Runtime.run_once, after storing the results
    await alerting.drain(timeout_s=30)     # run --once: deliver what is due, then exit
    await alerting.stop()                  # loops stopped, notifiers closed

``after_runs`` evaluates the rules touching the checks just run; the timer evaluates
every rule every ``evaluate_every`` (``for`` durations, no data, reminders and silence
expiry need no new result); the deliverer polls every ``poll_interval`` and is woken
as soon as an evaluation writes notifications.  The hub owns the notifiers it is
given and closes them in :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerting.deliverer import Deliverer, DeliveryReport
from monitor.alerting.engine import Engine, EvaluationReport
from monitor.alerting.notification import Notifier
from monitor.alerting.region_health import RegionAlert
from monitor.config.alerting import AlertingSettings
from monitor.config.loader import LoadedConfig
from monitor.redact import Redactor
from monitor.runner import CheckRun
from monitor.store import ResultStore
from monitor.store.alerts import AlertStore
from monitor.store.errors import StoreError

STOP_GRACE_S = 5.0
PRUNE_EVERY_S = 3600.0
OWNERS_RETENTION = timedelta(days=1)  # heartbeats of deliverers long gone (restarts, run --once)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Alerting:
    """Rules evaluated over ``store``; notifications sent through ``notifiers`` (by channel)."""

    def __init__(
        self,
        loaded: LoadedConfig,
        store: ResultStore,
        notifiers: Mapping[str, Notifier],
        *,
        settings: AlertingSettings,
        log: Any,
        clock: Callable[[], datetime] = utc_now,
        redactor: Redactor | None = None,
    ) -> None:
        self.settings = settings
        self.alerts = AlertStore(store)
        self._log = log
        self._clock = clock
        self._notifiers = dict(notifiers)
        redactor = redactor if redactor is not None else Redactor(loaded.secrets)
        self.deliverer = Deliverer(
            self.alerts, notifiers, settings.delivery, log=log, clock=clock, redactor=redactor
        )
        self.engine = Engine(
            loaded, self.alerts, log=log, redactor=redactor, on_written=self.deliverer.wake
        )
        self.region_health = RegionAlert(
            loaded, self.alerts, log=log, redactor=redactor, on_written=self.deliverer.wake
        )
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pruned_at: float | None = None
        self._closed = False

    async def evaluate(self, now: datetime | None = None) -> EvaluationReport:
        """Evaluate every rule at ``now`` (default: the clock).  Store errors propagate."""
        if not self.settings.enabled:
            return EvaluationReport()
        now = self._clock() if now is None else now
        # Region health first: its alert holds the rules' new alerts in that region.
        await self.region_health.evaluate(now)
        return await self.engine.evaluate(now)

    async def after_runs(self, runs: Sequence[CheckRun]) -> EvaluationReport:
        """Evaluate the rules touching the checks of ``runs`` (already stored).  Never raises:
        an alerting failure must not fail the run; it is logged."""
        return await self.after_checks({r.check for r in runs})

    async def after_checks(self, checks: Collection[str]) -> EvaluationReport:
        """Evaluate the rules touching ``checks`` (results just stored or replayed from the
        spool).  Never raises, like :meth:`after_runs`."""
        if not self.settings.enabled or not checks:
            return EvaluationReport()
        try:
            now = self._clock()
            await self.region_health.evaluate(now)
            return await self.engine.evaluate(now, checks=checks)
        except StoreError as exc:
            self._log.warning("alert.evaluation_failed", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 -- alerting must not fail the check run
            self._log.exception("alert.evaluation_error", error=type(exc).__name__)
        return EvaluationReport()

    async def deliver_due(self) -> DeliveryReport:
        """One delivery pass now (tests and one-shot runs; the loop does this in serve)."""
        return await self.deliverer.deliver_due()

    async def drain(self, timeout_s: float) -> int:
        """Deliver what is due and wait out retries for up to ``timeout_s``; returns how many
        notifications are still pending (logged when not 0).  Never raises."""
        if not self.settings.enabled:
            return 0
        try:
            left = await self.deliverer.drain(timeout_s)
        except StoreError as exc:
            self._log.warning("alert.drain_failed", reason=str(exc))
            return -1
        if left:
            self._log.warning("alert.undelivered", pending=left, timeout_s=timeout_s)
        return left

    async def start(self) -> None:
        """Start the evaluation timer and the deliverer loop."""
        if self._tasks or not self.settings.enabled:
            return
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._timer(), name="smokewatch-alert-timer"),
            asyncio.create_task(
                self.deliverer.run(stopping=self._stopping), name="smokewatch-deliverer"
            ),
        ]

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the loops (sends under way get ``grace_s``) and close the notifiers."""
        self._stopping.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks = []
        if not self._closed:
            self._closed = True
            for notifier in self._notifiers.values():
                try:
                    await notifier.close()
                except Exception as exc:  # noqa: BLE001 -- one failing must not keep others open
                    self._log.warning(
                        "alert.notifier_close_failed", channel=notifier.channel, error=str(exc)
                    )

    async def _timer(self) -> None:
        every = self.settings.evaluate_every.total_seconds()
        while not self._stopping.is_set():
            try:
                await self.evaluate()
                await self._prune()
            except StoreError as exc:
                self._log.warning("alert.evaluation_failed", reason=str(exc))
            except Exception as exc:  # noqa: BLE001 -- the timer must outlive any one failure
                self._log.exception("alert.evaluation_error", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=every)

    async def _prune(self) -> None:
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        await self.alerts.prune_outbox(self._clock() - self.settings.outbox_retention)
        await self.alerts.prune_owners(self._clock() - OWNERS_RETENTION)

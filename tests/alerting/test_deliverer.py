"""The deliverer against a real webhook receiver: retries with backoff, Retry-After, giving up,
claims, timeouts, sanitized errors, and draining for one-shot runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from monitor.alerting.deliverer import Deliverer
from monitor.alerting.notification import DeliveryError, Notification
from monitor.config.alerting import AlertingSettings, DeliveryBackoff, DeliverySettings
from monitor.redact import Redactor
from monitor.store import OutboxRecord, ResultStore
from monitor.store.alerts import AlertStore
from tests.alerting.conftest import (
    Clock,
    Harness,
    MakeHarness,
    RealClock,
    loaded_config,
    result,
)
from tests.alerting.test_engine import down
from tests.alerting.webhook import WebhookNotifier, WebhookReceiver
from tests.support.processes import free_port

SECRET = "s3cr3t-token-value"


def settings(
    *, initial: float = 10, factor: float = 2, max_s: float = 60, max_attempts: int = 5
) -> AlertingSettings:
    return AlertingSettings(
        delivery=DeliverySettings(
            backoff=DeliveryBackoff(
                initial=timedelta(seconds=initial),
                factor=factor,
                max=timedelta(seconds=max_s),
            ),
            max_attempts=max_attempts,
        )
    )


async def firing(harness: Harness) -> OutboxRecord:
    """Make the ``down`` rule fire once: one outbox row to webhook:ops."""
    await harness.add(result("api", "eu", 0, "fail"))
    await harness.evaluate(0)
    (row,) = await harness.outbox()
    return row


async def row_of(harness: Harness) -> OutboxRecord:
    (row,) = await harness.outbox()
    return row


class TestRetries:
    @pytest.mark.parametrize(
        ("statuses", "retry_after", "config", "outcomes", "delays"),
        [
            ([503, 503], None, {}, ["retrying", "retrying", "delivered"], [10, 20]),
            ([429], "45", {}, ["retrying", "delivered"], [45]),
            (
                [502, 503, 504],
                None,
                {"factor": 10, "max_s": 30},
                ["retrying"] * 3 + ["delivered"],
                [10, 30, 30],
            ),
            ([404], None, {}, ["failed"], []),
            ([503] * 5, None, {"max_attempts": 3}, ["retrying", "retrying", "failed"], [10, 20]),
        ],
        ids=[
            "5xx-twice-then-delivered",
            "429-retry-after-honoured",
            "backoff-capped-at-max",
            "4xx-is-not-retried",
            "gives-up-after-max-attempts",
        ],
    )
    async def test_backoff_schedule(
        self,
        make_harness: MakeHarness,
        receiver: WebhookReceiver,
        statuses: list[int],
        retry_after: str | None,
        config: dict[str, Any],
        outcomes: list[str],
        delays: list[float],
    ) -> None:
        """Each failed attempt reschedules the row after the backoff, until delivered or failed."""
        harness = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": WebhookNotifier(receiver.url)},
            settings=settings(**config),
        )
        await firing(harness)
        receiver.fail_next(*statuses, retry_after=retry_after)
        seen: list[str] = []
        waited: list[float] = []
        for _ in outcomes:
            report = await harness.alerting.deliver_due()
            seen += [k for k in ("delivered", "retrying", "failed") if getattr(report, k)]
            row = await row_of(harness)
            if row.status == "pending":
                assert (await harness.alerting.deliverer.deliver_due()).delivered == 0  # not due
                waited.append((row.next_attempt_at - harness.clock()).total_seconds())
                harness.clock.now = row.next_attempt_at
        row = await row_of(harness)
        assert (seen, waited) == (outcomes, delays)
        assert row.attempts == len(outcomes)
        assert row.status == outcomes[-1]
        assert receiver.attempts == len(outcomes)
        assert receiver.keys() == ([row.key] if outcomes[-1] == "delivered" else [])
        if outcomes[-1] == "failed":
            assert row.last_error == f"webhook answered {statuses[len(outcomes) - 1]}"

    async def test_receiver_down_then_back(self, make_harness: MakeHarness) -> None:
        """A receiver that refuses connections is retried; once it is back, it gets the row once."""
        port = free_port()
        harness = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": WebhookNotifier(f"http://127.0.0.1:{port}/")},
            settings=settings(),
        )
        row = await firing(harness)
        for _ in range(2):
            assert (await harness.alerting.deliver_due()).retrying == 1
            harness.clock.now = (await row_of(harness)).next_attempt_at
        assert "unreachable" in ((await row_of(harness)).last_error or "")
        back = WebhookReceiver(port).start()
        try:
            assert (await harness.alerting.deliver_due()).delivered == 1
            harness.clock.advance(hours=1)
            assert (await harness.alerting.deliver_due()).delivered == 0
        finally:
            back.stop()
        assert back.keys() == [row.key]


class BrokenNotifier:
    """Raises what it is told to, recording each notification it was given."""

    channel = "webhook"

    def __init__(self, error: BaseException | None = None, *, hang: bool = False) -> None:
        self.error = error
        self.hang = hang
        self.calls: list[str] = []

    async def send(self, notification: Notification) -> None:
        self.calls.append(notification.key)
        if self.hang:
            await asyncio.sleep(3600)
        if self.error is not None:
            raise self.error

    async def close(self) -> None:
        return None


def deliverer(
    store: ResultStore, notifier: BrokenNotifier, clock: Clock, log: Any, **delivery: Any
) -> Deliverer:
    return Deliverer(
        AlertStore(store),
        {"webhook": notifier},
        DeliverySettings(**delivery),
        log=log,
        clock=clock,
        redactor=Redactor([SECRET]),
    )


class TestFailures:
    @pytest.mark.parametrize(
        ("error", "status", "last_error"),
        [
            (
                DeliveryError(f"rejected token {SECRET}", retryable=False),
                "failed",
                "rejected token ***",
            ),
            (RuntimeError(f"bug with {SECRET}"), "pending", "RuntimeError: bug with ***"),
        ],
        ids=["delivery-error-sanitized", "notifier-bug-retried-sanitized"],
    )
    async def test_errors_recorded_sanitized(
        self,
        make_harness: MakeHarness,
        store: ResultStore,
        log: Any,
        error: BaseException,
        status: str,
        last_error: str,
    ) -> None:
        """A failed send records its error with secrets masked; a notifier bug is retried."""
        harness = await make_harness(loaded_config(down()))
        await firing(harness)
        notifier = BrokenNotifier(error)
        await deliverer(store, notifier, harness.clock, log).deliver_due()
        row = await row_of(harness)
        assert (row.status, row.last_error) == (status, last_error)

    async def test_hanging_send_is_cut_off(
        self, make_harness: MakeHarness, store: ResultStore, log: Any
    ) -> None:
        """A send that hangs is cut off at half the claim lease and retried later."""
        harness = await make_harness(loaded_config(down()))
        await firing(harness)
        # model_copy skips validation: a lease this short is refused in a config file.
        lease = DeliverySettings().model_copy(update={"claim_lease": timedelta(seconds=0.4)})
        sender = Deliverer(
            AlertStore(store),
            {"webhook": BrokenNotifier(hang=True)},
            lease,
            log=log,
            clock=harness.clock,
        )
        started = time.monotonic()
        assert (await sender.deliver_due()).retrying == 1
        assert time.monotonic() - started < 2
        assert (await row_of(harness)).last_error == "no answer within 0.2s"


class TestClaims:
    async def test_claimed_row_waits_for_the_lease(
        self, make_harness: MakeHarness, receiver: WebhookReceiver
    ) -> None:
        """A row claimed by a sender that died is sent by another only after the lease ran out."""
        harness = await make_harness(
            loaded_config(down()), notifiers={"webhook": WebhookNotifier(receiver.url)}
        )
        row = await firing(harness)
        lease = harness.alerting.settings.delivery.claim_lease
        now = harness.clock()
        assert await harness.alerting.alerts.claim(row.id, now=now, until=now + lease) == 1
        assert await harness.alerting.alerts.claim(row.id, now=now, until=now + lease) is None
        harness.clock.now = now + lease - timedelta(seconds=1)
        assert (await harness.alerting.deliver_due()).delivered == 0
        harness.clock.now = now + lease + timedelta(seconds=1)
        assert (await harness.alerting.deliver_due()).delivered == 1
        assert receiver.keys() == [row.key]
        assert (await row_of(harness)).attempts == 2

    async def test_rows_of_other_channels_are_left(
        self, make_harness: MakeHarness, receiver: WebhookReceiver
    ) -> None:
        """A deliverer without a notifier for a channel leaves its rows for another instance."""
        rules = down().replace('["webhook:ops"]', '["webhook:ops", "slack:#alerts"]')
        harness = await make_harness(
            loaded_config(rules), notifiers={"webhook": WebhookNotifier(receiver.url)}
        )
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        assert (await harness.alerting.deliver_due()).delivered == 1
        statuses = {r.channel: r.status for r in await harness.outbox()}
        assert statuses == {"webhook": "delivered", "slack": "pending"}


class TestDrain:
    @pytest.mark.parametrize(
        ("statuses", "left"),
        [([], 0), ([503], 0), ([503] * 50, 1)],
        ids=["delivered-at-once", "waits-out-a-retry", "gives-up-at-the-timeout"],
    )
    async def test_drain(
        self,
        make_harness: MakeHarness,
        receiver: WebhookReceiver,
        statuses: Sequence[int],
        left: int,
    ) -> None:
        """drain delivers what is due, waits out backoffs, and returns what is still pending."""
        harness = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": WebhookNotifier(receiver.url)},
            settings=settings(initial=0.1, max_s=0.2, max_attempts=50),
            clock=RealClock(),  # drain waits in real time
        )
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        receiver.fail_next(*statuses)
        started = time.monotonic()
        assert await harness.alerting.drain(timeout_s=1.0) == left
        assert time.monotonic() - started < 3
        assert len(receiver.keys()) == 1 - left

"""The hub's loops in real time: the deliverer woken by an evaluation, the timer, and stop."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.alerting.notification import Notification
from monitor.config.alerting import AlertingSettings, DeliverySettings
from monitor.runner import CheckRun
from probes.base import ProbeResult, Status
from tests.alerting.conftest import MakeHarness, RealClock, loaded_config, result
from tests.alerting.test_engine import down
from tests.alerting.webhook import WebhookNotifier, WebhookReceiver

WAIT_S = 5.0


def loops(*, evaluate_every_s: float, poll_s: float) -> AlertingSettings:
    return AlertingSettings(
        evaluate_every=timedelta(seconds=evaluate_every_s),
        delivery=DeliverySettings(poll_interval=timedelta(seconds=poll_s)),
    )


async def received(receiver: WebhookReceiver, count: int) -> float:
    """Seconds until ``receiver`` holds ``count`` notifications (fails after WAIT_S)."""
    started = time.monotonic()
    while len(receiver.keys()) < count:
        assert time.monotonic() - started < WAIT_S, "nothing received in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


class ClosingNotifier(WebhookNotifier):
    closed = False

    async def close(self) -> None:
        self.closed = True
        await super().close()


class TestLoops:
    async def test_after_runs_wakes_the_deliverer(
        self, make_harness: MakeHarness, receiver: WebhookReceiver
    ) -> None:
        """An evaluation that writes notifications wakes the deliverer: no wait for its poll."""
        harness = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": WebhookNotifier(receiver.url)},
            settings=loops(evaluate_every_s=3600, poll_s=60),
            clock=RealClock(),
        )
        await harness.alerting.start()
        await asyncio.sleep(0.2)  # the first timer pass and poll are done: nothing to do yet
        now = datetime.now(UTC)
        await harness.add(replace(result("api", "eu", 0, "fail"), started_at=now))
        run = CheckRun("api", "http", "eu", "0" * 32, now, 5.0, 1, ProbeResult(Status.FAIL, "x"))
        await harness.alerting.after_runs([run])
        assert await received(receiver, 1) < 2.0
        assert Notification.from_json(receiver.received[0].body).kind == "firing"

    async def test_timer_evaluates_without_runs(
        self, make_harness: MakeHarness, receiver: WebhookReceiver
    ) -> None:
        """The timer evaluates stored results on its own, and delivery follows."""
        harness = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": WebhookNotifier(receiver.url)},
            settings=loops(evaluate_every_s=1, poll_s=60),
            clock=RealClock(),
        )
        await harness.add(replace(result("api", "eu", 0, "fail"), started_at=datetime.now(UTC)))
        await harness.alerting.start()
        await received(receiver, 1)
        assert [s.state for s in await harness.alerting.alerts.alert_states()] == ["firing"]

    async def test_stop_ends_loops_and_closes_notifiers(
        self, make_harness: MakeHarness, receiver: WebhookReceiver
    ) -> None:
        """stop() ends both loops promptly and closes every notifier; a second stop is a no-op."""
        notifier = ClosingNotifier(receiver.url)
        harness = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": notifier},
            settings=loops(evaluate_every_s=1, poll_s=1),
            clock=RealClock(),
        )
        await harness.alerting.start()
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await harness.alerting.stop()
        await harness.alerting.stop()
        assert time.monotonic() - started < 1.0
        assert notifier.closed

"""The outbox: exactly one row per transition per target, also with evaluators racing on one
database (three instances, as three regions sharing PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta, timezone

import pytest

from monitor.alerting.outbox import incident_id, outbox_key
from monitor.store import ResultStore
from tests.alerting.conftest import T0, Clock, MakeHarness, loaded_config, result
from tests.alerting.test_engine import down
from tests.alerting.webhook import WebhookNotifier, WebhookReceiver

TWO_TARGETS = """
alerts:
  - name: down
    condition: smoke_test.success < 0.5
    window: 5m
    repeat_interval: 30m
    notify: ["webhook:ops", "webhook:ops", "oncall@example.com"]
    confirm: {failures: 1, of: 1}
    min_samples: 1
    flapping: {changes: 10}  # 4 cycles are 8 changes: this is about rows, not damping
"""
INSTALLATION = "0" * 32
CET = timezone(timedelta(hours=1))
EVALUATORS = 3
CYCLES = 4  # fail (firing), 30 min later still failing (reminder), then pass (resolved)


def expected_rows(cycles: int) -> Counter[str]:
    """firing, reminder and resolved per cycle, each to both distinct targets."""
    return Counter(
        {
            f"{kind} {target}": cycles
            for kind in ("firing", "reminder", "resolved")
            for target in ("webhook:ops", "oncall@example.com")
        }
    )


@pytest.fixture
async def stores(store_url: str) -> AsyncIterator[list[ResultStore]]:
    """Three stores (three instances' connection pools) on one database."""
    opened = [await ResultStore.open(store_url) for _ in range(EVALUATORS)]
    try:
        yield opened
    finally:
        for s in opened:
            await s.close()


class TestRows:
    def test_key_is_per_transition_kind_and_target(self) -> None:
        """The key changes with the incident, the transition, the kind and the target, and only
        with them."""
        incident = incident_id(INSTALLATION, "down/api/eu", T0)
        base = outbox_key(incident, 1, "firing", "webhook:ops")
        assert base == outbox_key(incident, 1, "firing", "webhook:ops")
        variants = {
            outbox_key(incident_id(INSTALLATION, "down/api/us", T0), 1, "firing", "webhook:ops"),
            outbox_key(incident, 2, "firing", "webhook:ops"),
            outbox_key(incident, 1, "resolved", "webhook:ops"),
            outbox_key(incident, 1, "firing", "oncall@example.com"),
        }
        assert base not in variants
        assert len(variants) == 4

    def test_incident_is_per_installation_alert_and_start(self) -> None:
        """The incident id changes with the installation, the alert group and when the incident
        started; the same moment in another time zone is the same incident."""
        base = incident_id(INSTALLATION, "down/api/eu", T0)
        assert base == incident_id(INSTALLATION, "down/api/eu", T0.astimezone(CET))
        variants = {
            incident_id("1" * 32, "down/api/eu", T0),
            incident_id(INSTALLATION, "down/api/us", T0),
            incident_id(INSTALLATION, "down/api/eu", T0 + timedelta(microseconds=1)),
        }
        assert base not in variants
        assert len(variants) == 3

    async def test_one_row_per_transition_per_target(self, make_harness: MakeHarness) -> None:
        """Firing, reminder and resolved each write one row per distinct target; evaluating
        again at the same moment writes nothing more."""
        harness = await make_harness(loaded_config(TWO_TARGETS))
        for cycle in range(2):
            start = cycle * 100
            await harness.add(result("api", "eu", start, "fail"))
            await harness.evaluate(start)
            await harness.add(result("api", "eu", start + 30, "fail"))
            await harness.evaluate(start + 30)
            await harness.evaluate(start + 30)
            await harness.add(result("api", "eu", start + 40, "pass"))
            await harness.evaluate(start + 40)
            await harness.evaluate(start + 40)
        rows = await harness.outbox()
        assert Counter(f"{r.payload['kind']} {r.target}" for r in rows) == expected_rows(2)
        assert len({r.key for r in rows}) == len(rows)

    async def test_second_instance_recomputing_writes_nothing(
        self, make_harness: MakeHarness, stores: list[ResultStore]
    ) -> None:
        """An instance evaluating after another applied the change finds nothing to do."""
        clock = Clock()
        first, second = [
            await make_harness(loaded_config(down()), on=s, clock=clock) for s in stores[:2]
        ]
        await first.add(result("api", "eu", 0, "fail"))
        applied = await first.evaluate(0)
        again = await second.evaluate(0)
        assert (applied.applied, again.applied, again.lost) == (1, 0, 0)
        assert len(await first.outbox()) == 1


class TestRacingEvaluators:
    async def test_three_instances_one_notification_per_transition(
        self,
        make_harness: MakeHarness,
        stores: list[ResultStore],
        receiver: WebhookReceiver,
    ) -> None:
        """Three evaluators racing on one database write each transition's rows once, and three
        deliverers racing on them deliver each row once."""
        clock = Clock()
        hubs = [
            await make_harness(
                loaded_config(TWO_TARGETS),
                on=s,
                clock=clock,
                notifiers={"webhook": WebhookNotifier(receiver.url)},
            )
            for s in stores
        ]
        lost = 0
        for cycle in range(CYCLES):
            start = cycle * 100
            for minutes, status in ((start, "fail"), (start + 30, "fail"), (start + 40, "pass")):
                await hubs[cycle % EVALUATORS].add(result("api", "eu", minutes, status))
                clock.set(minutes)
                reports = await asyncio.gather(*(h.alerting.evaluate() for h in hubs))
                assert sum(r.applied for r in reports) == 1
                lost += sum(r.lost for r in reports)
        assert lost > 0  # they did race: some compare-and-sets lost
        rows = await hubs[0].outbox()
        assert Counter(f"{r.payload['kind']} {r.target}" for r in rows) == expected_rows(CYCLES)
        passes = await asyncio.gather(*(h.alerting.deliver_due() for h in hubs))
        webhook_keys = sorted(r.key for r in rows if r.channel == "webhook")
        assert sum(p.delivered for p in passes) == len(webhook_keys)
        assert sum(p.skipped for p in passes) > 0  # claimed by another deliverer first
        assert sorted(receiver.keys()) == webhook_keys
        assert receiver.attempts == len(webhook_keys)

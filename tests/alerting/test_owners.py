"""Claims by owner, on both backends: a claim is held while its owner's heartbeat is fresh and
its lease runs; an owner silent for ``owner_timeout`` (killed) or forgotten (stopped
cleanly) is gone and its claims are free at once, lease or not; a sent row is marked
delivered through a store failure, so it is not sent again."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerting.deliverer import new_owner
from monitor.alerting.hub import Alerting
from monitor.alerting.notification import Notification
from monitor.config.alerting import AlertingSettings, DeliverySettings
from monitor.store import AlertStore, ResultStore
from monitor.store.alert_records import OutboxRecord
from monitor.store.engine import SQLITE_BUSY_TIMEOUT_MS
from tests.alerting.conftest import Clock, MakeHarness, at, loaded_config, result
from tests.alerting.test_alert_store import firing_write
from tests.alerting.test_engine import down
from tests.alerting.webhook import WebhookNotifier, WebhookReceiver
from tests.store.factory import table_rows

TIMEOUT = timedelta(seconds=10)
LEASE = timedelta(minutes=2)
A, B = "host-a/1/aaaa", "host-b/2/bbbb"


async def one_row(alerts: AlertStore) -> OutboxRecord:
    assert await alerts.apply(firing_write(None, "a" * 64))
    (row,) = await alerts.outbox_rows()
    return row


async def claim(alerts: AlertStore, row: OutboxRecord, owner: str, seconds: float) -> int | None:
    now = at(0) + timedelta(seconds=seconds)
    return await alerts.claim(
        row.id, now=now, until=now + LEASE, owner=owner, owner_timeout=TIMEOUT
    )


async def due(alerts: AlertStore, seconds: float) -> list[int]:
    now = at(0) + timedelta(seconds=seconds)
    rows = await alerts.due(now, channels={"webhook"}, owner_timeout=TIMEOUT)
    return [r.id for r in rows]


class TestClaimsByOwner:
    async def test_live_owner_keeps_its_claim(self, store: ResultStore) -> None:
        """While A's heartbeat is fresh and the lease runs, B neither sees nor takes A's row."""
        alerts = AlertStore(store)
        row = await one_row(alerts)
        await alerts.heartbeat(A, at=at(0))
        assert await claim(alerts, row, A, 0) == 1
        (claimed,) = await alerts.outbox_rows()
        assert claimed.claimed_by == A
        await alerts.heartbeat(A, at=at(0) + timedelta(seconds=8))
        assert await due(alerts, 15) == []
        assert await claim(alerts, row, B, 15) is None

    async def test_silent_owner_is_gone(self, store: ResultStore) -> None:
        """A's last heartbeat older than owner_timeout: its row is due and B takes it at once,
        long before the lease would run out; the attempt counts."""
        alerts = AlertStore(store)
        row = await one_row(alerts)
        await alerts.heartbeat(A, at=at(0))
        assert await claim(alerts, row, A, 0) == 1
        assert await due(alerts, 9) == []
        assert await due(alerts, 11) == [row.id]
        assert await claim(alerts, row, B, 11) == 2
        (taken,) = await alerts.outbox_rows()
        assert taken.claimed_by == B

    async def test_forgotten_owner_is_gone_at_once(self, store: ResultStore) -> None:
        """A stopped cleanly (its heartbeat removed): its leftover claim is free at once."""
        alerts = AlertStore(store)
        row = await one_row(alerts)
        await alerts.heartbeat(A, at=at(0))
        assert await claim(alerts, row, A, 0) == 1
        await alerts.forget_owner(A)
        assert await claim(alerts, row, B, 1) == 2

    async def test_claim_without_owner_waits_for_its_lease(self, store: ResultStore) -> None:
        """A claim naming no owner (made before owners existed) is held for its whole lease."""
        alerts = AlertStore(store)
        row = await one_row(alerts)
        assert await alerts.claim(row.id, now=at(0), until=at(0) + LEASE) == 1
        assert await claim(alerts, row, B, 60) is None
        assert await claim(alerts, row, B, LEASE.total_seconds() + 1) == 2

    async def test_finishing_clears_the_owner(self, store: ResultStore) -> None:
        """A retry or a failure releases the row: no owner, no lease."""
        alerts = AlertStore(store)
        row = await one_row(alerts)
        await alerts.heartbeat(A, at=at(0))
        assert await claim(alerts, row, A, 0) == 1
        await alerts.retry_later(row.id, at=at(0), error="503")
        (released,) = await alerts.outbox_rows()
        assert (released.claimed_by, released.claimed_until) == (None, None)

    async def test_prune_owners_drops_only_old_heartbeats(self, store: ResultStore) -> None:
        """Heartbeats older than the cut-off go; newer ones stay (and keep their claims)."""
        alerts = AlertStore(store)
        await alerts.heartbeat(A, at=at(0))
        await alerts.heartbeat(B, at=at(60))
        assert await alerts.prune_owners(at(30)) == 1
        assert await alerts.prune_owners(at(30)) == 0


class StallingNotifier:
    """A webhook notifier that never answers (the process is killed mid-send)."""

    channel = "webhook"

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, notification: Notification) -> None:
        self.started.set()
        await asyncio.sleep(3600)

    async def close(self) -> None:
        return None


class TestDeliverersHandOver:
    async def test_row_of_a_killed_deliverer_is_sent_within_owner_timeout(
        self, make_harness: MakeHarness, receiver: WebhookReceiver
    ) -> None:
        """Deliverer A claims the row and hangs mid-send (killed); B sends it once A's heartbeat
        is owner_timeout old, and not before; with the key the row was written with."""
        settings = AlertingSettings(delivery=DeliverySettings(owner_timeout=TIMEOUT))
        stalled = StallingNotifier()
        first = await make_harness(
            loaded_config(down()), notifiers={"webhook": stalled}, settings=settings
        )
        await first.add(result("api", "eu", 0, "fail"))
        await first.evaluate(0)
        killed = asyncio.create_task(first.alerting.deliver_due())
        await stalled.started.wait()
        killed.cancel()  # what SIGKILL leaves: the claim, the last heartbeat
        second = await make_harness(
            loaded_config(down()),
            notifiers={"webhook": WebhookNotifier(receiver.url)},
            settings=settings,
        )
        (row,) = await second.outbox()
        assert row.claimed_by == first.alerting.deliverer.owner
        second.clock.advance(seconds=9)
        assert (await second.alerting.deliver_due()).delivered == 0
        second.clock.advance(seconds=2)
        assert (await second.alerting.deliver_due()).delivered == 1
        assert receiver.keys() == [row.key]

    async def test_clean_stop_forgets_the_heartbeat(
        self, make_harness: MakeHarness, store_url: str
    ) -> None:
        """The deliver loop writes its heartbeat; stopping it removes the heartbeat."""
        harness = await make_harness(
            loaded_config(down()), notifiers={"webhook": StallingNotifier()}
        )
        owner = harness.alerting.deliverer.owner

        async def owners() -> list[str]:
            return [
                str(o) for (o,) in await table_rows(store_url, "SELECT owner FROM outbox_owners")
            ]

        await harness.alerting.start()
        for _ in range(200):
            if await owners():
                break
            await asyncio.sleep(0.05)
        assert await owners() == [owner]
        await harness.alerting.stop(grace_s=1.0)
        assert await owners() == []

    async def test_no_notifiers_no_heartbeat(
        self, make_harness: MakeHarness, store_url: str
    ) -> None:
        """A deliverer without notifiers claims nothing and writes no heartbeat."""
        harness = await make_harness(loaded_config(down()))
        await harness.alerting.start()
        await asyncio.sleep(0.5)  # a heartbeat would be written at once
        assert await table_rows(store_url, "SELECT owner FROM outbox_owners") == []
        await harness.alerting.stop(grace_s=1.0)


class TestOwnerIds:
    def test_each_deliverer_is_a_new_owner(self) -> None:
        """host/pid/random: two deliverers in one process are two owners."""
        one, two = new_owner(), new_owner()
        assert one != two
        assert one.rsplit("/", 1)[0] == two.rsplit("/", 1)[0]

    def test_owner_timeout_has_a_floor(self) -> None:
        """owner_timeout is at least 2 s (a heartbeat every half second at most)."""
        with pytest.raises(ValueError, match="owner_timeout must be at least 2s"):
            DeliverySettings.model_validate({"owner_timeout": "1s"})


class LockingNotifier:
    """Sends through ``inner``, then holds SQLite's write lock on ``path`` for ``hold_s`` (longer
    than the store's busy timeout): marking the row delivered fails at first."""

    channel = "webhook"

    def __init__(self, inner: WebhookNotifier, path: Path, hold_s: float) -> None:
        self._inner = inner
        self._path = path
        self._hold_s = hold_s
        self.thread: threading.Thread | None = None

    async def send(self, notification: Notification) -> None:
        await self._inner.send(notification)
        locked = threading.Event()

        def hold() -> None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("BEGIN IMMEDIATE")
                locked.set()
                time.sleep(self._hold_s)
                conn.rollback()
            finally:
                conn.close()

        self.thread = threading.Thread(target=hold)
        self.thread.start()
        assert await asyncio.to_thread(locked.wait, 10)

    async def close(self) -> None:
        await self._inner.close()


class TestMarking:
    async def test_sent_row_is_marked_through_a_store_failure(
        self, tmp_path: Path, log: Any, log_stream: io.StringIO, receiver: WebhookReceiver
    ) -> None:
        """The store refuses to mark a sent row (SQLite locked past its busy timeout): the mark
        is retried until it lands, so the row is never sent again (Slack could not tell)."""
        path = tmp_path / "results.db"
        notifier = LockingNotifier(
            WebhookNotifier(receiver.url), path, SQLITE_BUSY_TIMEOUT_MS / 1000 + 1
        )
        async with await ResultStore.open(f"sqlite:///{path}") as store:
            await store.add(result("api", "eu", 0, "fail"))
            hub = Alerting(
                loaded_config(down()),
                store,
                {"webhook": notifier},
                settings=AlertingSettings(),
                log=log,
                clock=Clock(),
            )
            await hub.evaluate()
            try:
                assert (await hub.deliver_due()).delivered == 1
            finally:
                await hub.stop(grace_s=1.0)
                if notifier.thread is not None:
                    notifier.thread.join()
            (row,) = await hub.alerts.outbox_rows()
        assert row.status == "delivered"
        assert receiver.keys() == [row.key]
        assert "alert.mark_retry" in log_stream.getvalue()

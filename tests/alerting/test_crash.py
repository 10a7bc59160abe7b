"""A process SIGKILLed between the state change and the delivery, mid-send, or after sending
but before marking: a fresh deliverer delivers the notification once (twice, with the same
key, only when the first send had reached the receiver)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.store import ResultStore
from tests.alerting.conftest import MakeHarness, at, loaded_config, result
from tests.alerting.test_engine import down
from tests.alerting.webhook import WebhookNotifier, WebhookReceiver
from tests.support.processes import with_pycache

REPO = Path(__file__).resolve().parents[2]
LINE_TIMEOUT_S = 60.0  # a cold interpreter imports the whole stack first


async def read_line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT_S)
    return line.decode().strip()


class TestCrash:
    @pytest.mark.parametrize(
        ("mode", "claimed", "receipts"),
        [("evaluate", False, 1), ("claim", True, 1), ("send", True, 2)],
        ids=[
            "killed-between-state-change-and-delivery",
            "killed-after-claiming-before-sending",
            "killed-after-sending-before-marking",
        ],
    )
    async def test_killed_then_delivered_by_a_fresh_deliverer(
        self,
        mode: str,
        claimed: bool,
        receipts: int,
        store_url: str,
        store: ResultStore,
        make_harness: MakeHarness,
        receiver: WebhookReceiver,
        pycache: Path,
    ) -> None:
        """After SIGKILL the transition is stored once and its notification reaches the receiver
        once, or (sent but not marked) again once the killed owner is gone, with the same key."""
        await store.add(result("api", "eu", 0, "fail"))
        release = receiver.hold() if mode == "send" else None
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.alerting.crash_worker",
            mode,
            store_url,
            receiver.url,
            at(0).isoformat(),
            cwd=REPO,
            env=with_pycache(dict(os.environ), pycache),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert await read_line(proc) == "written"
            if mode == "claim":
                assert await read_line(proc) == "sending"
            if mode == "send":
                assert await asyncio.to_thread(receiver.wait_arrival)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            if release is not None:
                release.set()
        assert proc.returncode == -signal.SIGKILL

        harness = await make_harness(
            loaded_config(down()), notifiers={"webhook": WebhookNotifier(receiver.url)}
        )
        (row,) = await harness.outbox()
        assert (row.status, row.claimed_until is not None) == ("pending", claimed)
        states = await harness.alerting.alerts.alert_states()
        assert [(s.alert_key, s.state, s.notified) for s in states] == [
            ("down/api/eu", "firing", "firing")
        ]
        # Nothing more to write: the transition was committed with its row.
        assert (await harness.evaluate(0)).applied == 0
        # The killed owner's heartbeat stops: its claim is free after owner_timeout, not the lease.
        gone = harness.alerting.settings.delivery.owner_timeout
        if claimed:
            harness.clock.now = at(0) + gone - timedelta(seconds=1)
            assert (await harness.alerting.deliver_due()).delivered == 0
        harness.clock.now = at(0) + (gone + timedelta(seconds=1) if claimed else timedelta(0))
        assert (await harness.alerting.deliver_due()).delivered == 1
        harness.clock.advance(hours=1)
        assert (await harness.alerting.deliver_due()).delivered == 0
        assert receiver.keys() == [row.key] * receipts
        assert len({str(r.body) for r in receiver.received}) == 1  # the very same notification
        assert (await harness.outbox())[0].status == "delivered"

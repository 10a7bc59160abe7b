"""``smokewatch serve`` (a subprocess) SIGKILLed at five moments of delivering an alert, then
started again: a real SMTP server (aiosmtpd) and a real webhook receiver on loopback each
see one distinct key per notification, and a notification cut off in flight arrives again,
with the same key, within seconds of the restart (the killed process's heartbeat is stale
after ``owner_timeout``), never after the 2-minute claim lease.

Each moment is reached without code hooks, by the receivers and the database:

* ``before-claim``: the rows are written, none claimed: a third "gate" webhook holds its
  request while ``concurrency: 1`` keeps the e-mail and webhook rows waiting (polled);
* ``after-claim``: both rows claimed (polled), the receivers accept connections and never
  read a byte, so nothing has reached them;
* ``during-send``: both receivers have the message and hold their answer;
* ``after-send``: the test takes SQLite's write lock, then lets both receivers answer: the
  sends are done and marking them delivered waits on the lock;
* ``after-mark``: both rows marked delivered (polled).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from examples.demo_target import TargetState
from tests.alerting.e2e_support import (
    EMAIL_TARGET,
    FROM_ADDRESS,
    Mailbox,
    outbox,
    until,
    write_config,
)
from tests.alerting.notifiers.servers import HOST, MailHandler, free_port
from tests.alerting.webhook import WebhookReceiver
from tests.service import conftest as service
from tests.service.conftest import ServeProcess, StartServe

pytestmark = pytest.mark.timeout(120)

# The service fixtures, for this module: `smokewatch serve` subprocesses on the demo target.
start_serve = service.start_serve
target_env = service.target_env

OPS, GATE = "webhook:ops", "webhook:gate"
OWNER_TIMEOUT_S = 2.0  # the floor: a killed process's claims are free 2 s after its last beat
LEASE_S = 120.0  # the default claim lease, which a restart no longer waits out
CHANNEL_TIMEOUT = "10s"  # longer than any hold here: no send times out on its own
MOMENT_TIMEOUT_S = 20.0  # serve started: a run, an evaluation, a claim
DELIVERY_TIMEOUT_S = 20.0  # restarted: every row delivered (well under the lease)
SETTLE_S = 3.0  # beyond owner_timeout and many polls: a late duplicate would show
ANSWER_S = 1.0  # after-send: time for both clients to read the answers they were let have
LOCK_TIMEOUT_S = 10.0


@dataclass
class HoldingMail(MailHandler):
    """aiosmtpd handler that keeps each message on arrival, then (while ``hold`` is unset)
    withholds its ``250`` answer; ``answered`` counts the answers given."""

    hold: asyncio.Event = field(default_factory=asyncio.Event)
    answered: int = 0

    async def handle_DATA(  # noqa: N802 -- aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        await self.hold.wait()
        self.answered += 1
        return reply

    def keys(self) -> list[str]:
        return [str(d.message["Message-ID"]).strip("<>").split("@")[0] for d in self.delivered]


class Silent:
    """Listens on a fixed loopback port and never reads or says a byte (nothing is received)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def up(self) -> None:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._release.wait()
            writer.close()

        self._server = await asyncio.start_server(hold, HOST, self.port)

    async def down(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@dataclass
class Scene:
    """One run of the story: the database, the receivers, the services started."""

    db_path: Path
    mailbox: Mailbox
    mail: HoldingMail
    ops_port: int
    ops: WebhookReceiver | None = None
    gate: WebhookReceiver | None = None
    silent: list[Silent] = field(default_factory=list)
    release_ops: threading.Event | None = None
    release_gate: threading.Event | None = None
    lock: sqlite3.Connection | None = None

    @property
    def db(self) -> str:
        return f"sqlite:///{self.db_path}"

    def rows(self) -> list[tuple[str, int, str | None, str | None]]:
        """(target, attempts, claimed_by, delivered_at) of every outbox row, oldest first."""
        with closing(sqlite3.connect(self.db_path, timeout=LOCK_TIMEOUT_S)) as conn:
            try:
                found = conn.execute(
                    "SELECT target, attempts, claimed_by, delivered_at FROM outbox ORDER BY id"
                ).fetchall()
            except sqlite3.OperationalError:
                return []  # not migrated yet
        return [(str(t), int(a), c, d) for t, a, c, d in found]

    def row(self, target: str) -> tuple[str, int, str | None, str | None] | None:
        return next((r for r in self.rows() if r[0] == target), None)

    def webhook_keys(self) -> list[str]:
        return self.ops.keys() if self.ops is not None else []

    async def close(self) -> None:
        self.mail.hold.set()
        for event in (self.release_ops, self.release_gate):
            if event is not None:
                event.set()
        for receiver in (self.ops, self.gate):
            if receiver is not None:
                receiver.stop()
        for silent in self.silent:
            await silent.down()
        await self.mailbox.down()
        if self.lock is not None:
            self.lock.close()


def claimed(scene: Scene, target: str) -> bool:
    row = scene.row(target)
    return row is not None and row[2] is not None and row[3] is None


def waiting(scene: Scene, target: str) -> bool:
    row = scene.row(target)
    return row is not None and (row[1], row[2], row[3]) == (0, None, None)


def delivered(scene: Scene, *targets: str) -> bool:
    rows = {r[0]: r for r in scene.rows()}
    return all(t in rows and rows[t][3] is not None for t in targets)


@dataclass(frozen=True)
class Moment:
    """How to stop at one moment, and how many times each receiver then sees the notification."""

    name: str
    receipts: int  # per channel: 2 when the first send had reached the receiver


MOMENTS = [
    Moment("before-claim", 1),
    Moment("after-claim", 1),
    Moment("during-send", 2),
    Moment("after-send", 2),
    Moment("after-mark", 1),
]


async def prepare(moment: str, scene: Scene) -> None:
    """Receivers as the moment needs them before the service starts."""
    scene.mail.hold.set()
    if moment == "after-claim":
        scene.silent = [Silent(scene.mailbox.port), Silent(scene.ops_port)]
        for silent in scene.silent:
            await silent.up()
        return
    await scene.mailbox.up()
    scene.ops = WebhookReceiver(scene.ops_port).start()
    if moment in ("during-send", "after-send"):
        scene.mail.hold.clear()
        scene.release_ops = scene.ops.hold()
    if moment == "before-claim":
        scene.gate = WebhookReceiver().start()
        scene.release_gate = scene.gate.hold()


async def reach(moment: str, scene: Scene, serve: ServeProcess) -> None:
    """Wait (bounded) for the moment; ``after-send`` also takes the lock and lets answers go."""

    async def wait(predicate: Callable[[], bool], what: str) -> None:
        await until(predicate, timeout_s=MOMENT_TIMEOUT_S, what=what, serve=serve)

    if moment == "before-claim":
        assert scene.gate is not None
        gate = scene.gate
        await wait(lambda: len(gate.received) == 1, "the gate's request held")
        assert waiting(scene, EMAIL_TARGET), scene.rows()
        assert waiting(scene, OPS), scene.rows()
    elif moment == "after-claim":
        await wait(lambda: claimed(scene, EMAIL_TARGET) and claimed(scene, OPS), "both claims")
    elif moment in ("during-send", "after-send"):
        await wait(
            lambda: len(scene.mail.delivered) == 1 and len(scene.webhook_keys()) == 1,
            "both messages arrived and held",
        )
        if moment == "after-send":
            scene.lock = await asyncio.to_thread(write_lock, scene.db_path)
            scene.mail.hold.set()
            assert scene.release_ops is not None
            scene.release_ops.set()
            await wait(lambda: scene.mail.answered == 1, "the SMTP answer")
            await asyncio.sleep(ANSWER_S)
    else:
        await wait(lambda: delivered(scene, EMAIL_TARGET, OPS), "both rows marked delivered")


def write_lock(path: Path) -> sqlite3.Connection:
    """SQLite's write lock on ``path``, held until the connection rolls back or closes."""
    conn = sqlite3.connect(
        path, timeout=LOCK_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute("BEGIN IMMEDIATE")
    return conn


async def resume(moment: str, scene: Scene) -> None:
    """After the kill: receivers answer at once (the real ones replace the silent ones)."""
    if scene.lock is not None:
        scene.lock.rollback()
        scene.lock.close()
        scene.lock = None
        # Sent, never marked: the lock kept the killed process from marking.
        assert claimed(scene, EMAIL_TARGET), scene.rows()
        assert claimed(scene, OPS), scene.rows()
    for silent in scene.silent:
        await silent.down()
    scene.silent = []
    if moment == "after-claim":
        await scene.mailbox.up()
        scene.ops = WebhookReceiver(scene.ops_port).start()
    scene.mail.hold.set()
    for event in (scene.release_ops, scene.release_gate):
        if event is not None:
            event.set()


async def kill(serve: ServeProcess) -> None:
    serve.proc.send_signal(signal.SIGKILL)
    assert await asyncio.to_thread(serve.proc.wait, 10) == -signal.SIGKILL


class TestKilledAtEachMoment:
    @pytest.mark.parametrize("moment", MOMENTS, ids=[m.name for m in MOMENTS])
    async def test_one_key_per_notification_and_redelivery_within_seconds(
        self, moment: Moment, tmp_path: Path, target: TargetState, start_serve: StartServe
    ) -> None:
        """Killed at the moment and started again: every row is delivered; the mailbox and the
        webhook each saw exactly the row's key (twice only when the first send had reached
        them), the redelivery within seconds of the restart, far under the lease."""
        target.set_faults(status=500, path_prefix="/health")
        mailbox = Mailbox()
        mail = HoldingMail()
        mailbox.handler = mail
        scene = Scene(tmp_path / "results.db", mailbox, mail, free_port())
        try:
            await prepare(moment.name, scene)
            channels: dict[str, Any] = {
                "email": {
                    "host": HOST,
                    "port": mailbox.port,
                    "security": "none",
                    "from_address": FROM_ADDRESS,
                    "timeout": CHANNEL_TIMEOUT,
                },
                "webhooks": {
                    "ops": {"url": f"http://{HOST}:{scene.ops_port}/", "timeout": CHANNEL_TIMEOUT}
                },
            }
            notify = [EMAIL_TARGET, OPS]
            delivery = {"owner_timeout": f"{OWNER_TIMEOUT_S:g}s"}
            if scene.gate is not None:
                channels["webhooks"]["gate"] = {"url": scene.gate.url, "timeout": CHANNEL_TIMEOUT}
                notify = [GATE, *notify]
                delivery["concurrency"] = "1"
            config = write_config(
                tmp_path, db=scene.db, channels=channels, notify=notify, delivery=delivery
            )
            first = await asyncio.to_thread(start_serve, config)
            await reach(moment.name, scene, first)
            await kill(first)
            killed_at = time.monotonic()
            before = (len(mail.delivered), len(scene.webhook_keys()))
            await resume(moment.name, scene)

            started_at = time.monotonic()
            second = await asyncio.to_thread(start_serve, config)
            up_at = time.monotonic()
            await until(
                lambda: delivered(scene, *notify),
                timeout_s=DELIVERY_TIMEOUT_S,
                what="every row delivered after the restart",
                serve=second,
            )
            done_at = time.monotonic()
            await asyncio.sleep(SETTLE_S)

            rows = {r.target: r for r in await outbox(scene.db)}
            assert sorted(rows) == sorted(notify)
            assert all(r.status == "delivered" for r in rows.values()), rows
            assert Counter(mail.keys()) == Counter({rows[EMAIL_TARGET].key: moment.receipts})
            assert Counter(scene.webhook_keys()) == Counter({rows[OPS].key: moment.receipts})
            assert rows[EMAIL_TARGET].key != rows[OPS].key
            if scene.gate is not None:
                assert set(scene.gate.keys()) == {rows[GATE].key}
            redelivered = before != (len(mail.delivered), len(scene.webhook_keys()))
            assert redelivered == (moment.name != "after-mark")
            assert done_at - up_at < LEASE_S / 4  # seconds, not the lease (startup aside)
            print(
                f"\nkill-figures {moment.name}: receipts mail={len(mail.delivered)} "
                f"webhook={len(scene.webhook_keys())} duplicates={moment.receipts - 1} "
                f"restart-to-up={up_at - started_at:.2f}s "
                f"delivered-after-up={done_at - up_at:.2f}s "
                f"delivered-after-kill={done_at - killed_at:.2f}s"
            )
        finally:
            await scene.close()

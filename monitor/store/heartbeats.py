"""Heartbeat pings in the result store: the API records them, the heartbeat probe reads them.

One row per heartbeat check (``heartbeats``), written by whichever replica's API a
job pinged and read by whichever replica runs the check, so a deployment of several
replicas judges every heartbeat the same way.  :class:`HeartbeatLedger` is the
:class:`probes.heartbeat.PingLedger` the runner hands the probe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select

from monitor.store.errors import StoreError
from monitor.store.rows import require_aware, upsert_insert
from monitor.store.schema import heartbeats
from monitor.store.store import ResultStore
from probes.heartbeat import LedgerUnavailable, Pings, Signal

MAX_MESSAGE_CHARS: Final = 1000  # what a job may say with its fail signal, kept


class HeartbeatLedger:
    """Reads and writes the ``heartbeats`` table through one :class:`ResultStore`."""

    __slots__ = ("_store",)

    def __init__(self, store: ResultStore) -> None:
        self._store = store

    async def record(self, check: str, signal: Signal, *, at: datetime, message: str = "") -> None:
        """Record one signal of ``check``'s job at ``at``; raises :class:`StoreError`.

        ``message`` (a fail signal's) is kept, clipped; a success clears it.
        """
        require_aware(at, "at")
        column = f"last_{signal}"
        said = message[:MAX_MESSAGE_CHARS] if signal == "fail" else ""
        changes: dict[str, object] = {column: at}
        if signal != "start":
            changes["fail_message"] = said
        async with self._store.connection(f"recording a {signal} ping", write=True) as conn:
            insert = upsert_insert(conn, heartbeats)
            await conn.execute(
                insert.values(check=check, first_seen=at, **changes).on_conflict_do_update(
                    index_elements=["check"], set_=changes
                )
            )

    async def pings(self, check: str, *, now: datetime) -> Pings:
        """``check``'s pings; the first read of a check records ``now`` as its ``first_seen``."""
        require_aware(now, "now")
        try:
            async with self._store.connection("reading heartbeat pings", write=True) as conn:
                await conn.execute(
                    upsert_insert(conn, heartbeats)
                    .values(check=check, first_seen=now)
                    .on_conflict_do_nothing(index_elements=["check"])
                )
                row = (
                    (await conn.execute(select(heartbeats).where(heartbeats.c.check == check)))
                    .mappings()
                    .one()
                )
        except StoreError as exc:
            raise LedgerUnavailable(str(exc)) from exc
        return Pings(
            first_seen=row["first_seen"],
            last_start=row["last_start"],
            last_success=row["last_success"],
            last_fail=row["last_fail"],
            fail_message=row["fail_message"],
        )

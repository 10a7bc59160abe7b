"""The heartbeat ledger (monitor.store.heartbeats) on SQLite and the real PostgreSQL."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from monitor.store import ResultStore
from monitor.store.heartbeats import MAX_MESSAGE_CHARS, HeartbeatLedger
from probes.base import ProbeContext, Status
from probes.heartbeat import HEARTBEAT_RESOURCE, PROBE, HeartbeatSpec, LedgerUnavailable, Pings
from probes.reasons import FailureReason

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


class TestLedger:
    async def test_the_first_read_starts_the_watch_and_later_reads_keep_it(
        self, store: ResultStore
    ) -> None:
        """first_seen is the first judgement's time, never moved by later ones."""
        ledger = HeartbeatLedger(store)
        assert await ledger.pings("job", now=T0) == Pings(first_seen=T0)
        assert await ledger.pings("job", now=T0 + timedelta(hours=1)) == Pings(first_seen=T0)

    async def test_signals_are_kept_per_kind_and_a_success_clears_the_fail_message(
        self, store: ResultStore
    ) -> None:
        """start, fail (with its message) and success each keep their latest time."""
        ledger = HeartbeatLedger(store)
        await ledger.record("job", "start", at=T0)
        await ledger.record("job", "fail", at=T0 + timedelta(minutes=1), message="disk full")
        pings = await ledger.pings("job", now=T0 + timedelta(minutes=2))
        assert pings == Pings(
            first_seen=T0,
            last_start=T0,
            last_fail=T0 + timedelta(minutes=1),
            fail_message="disk full",
        )
        await ledger.record("job", "success", at=T0 + timedelta(minutes=3))
        pings = await ledger.pings("job", now=T0 + timedelta(minutes=4))
        assert (pings.last_success, pings.fail_message) == (T0 + timedelta(minutes=3), "")
        assert pings.last_fail == T0 + timedelta(minutes=1)

    async def test_a_long_fail_message_is_clipped(self, store: ResultStore) -> None:
        """A job's message is kept up to MAX_MESSAGE_CHARS characters."""
        ledger = HeartbeatLedger(store)
        await ledger.record("job", "fail", at=T0, message="x" * 5000)
        pings = await ledger.pings("job", now=T0)
        assert len(pings.fail_message) == MAX_MESSAGE_CHARS

    async def test_a_ping_taken_by_one_replica_is_judged_by_another(self, store_url: str) -> None:
        """Two instances on one database: what one records, the other reads (no memory state)."""
        async with (
            await ResultStore.open(store_url) as api_replica,
            await ResultStore.open(store_url) as runner_replica,
        ):
            await HeartbeatLedger(api_replica).record("job", "success", at=T0)
            pings = await HeartbeatLedger(runner_replica).pings("job", now=T0)
        assert pings.last_success == T0


class TestUnavailable:
    async def test_a_store_that_cannot_be_read_is_an_error_not_a_verdict(self) -> None:
        """The pings cannot be read: the probe says error/store; nothing learnt of the job."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"postgresql://smokewatch@127.0.0.1:{port}/nowhere"
        async with await ResultStore.open(url, migrate=False) as down:
            ledger = HeartbeatLedger(down)
            with pytest.raises(LedgerUnavailable, match="reading heartbeat pings failed"):
                await ledger.pings("job", now=T0)
            spec = HeartbeatSpec(token="hb-0123456789abcdef", period="1h")
            async with httpx.AsyncClient() as client:
                ctx = ProbeContext(
                    client=client, check_name="job", resources={HEARTBEAT_RESOURCE: ledger}
                )
                result = await PROBE.run(spec, ctx)
        assert (result.status, result.reason) == (Status.ERROR, FailureReason.STORE)
        assert result.message.startswith("cannot read the pings: reading heartbeat pings failed")

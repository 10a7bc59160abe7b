"""Specifications of ``monitor.scheduling.leader.RegionLease``: one holder per region, kept
through a store outage, lost when it dies or another replica takes it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.scheduling.leader import LeaseError, RegionLease, lease_key
from monitor.store import database_url
from tests.support.postgres import (
    KILL_LEASE_SESSIONS,
    PostgresCluster,
    StoppableCluster,
    psql,
)


async def _kill_lease_sessions(admin: AsyncEngine) -> None:
    async with admin.connect() as conn:
        await conn.execute(text(KILL_LEASE_SESSIONS.format(database="current_database()")))


class TestLeaseKey:
    @pytest.mark.parametrize("region", ["local", "eu-west-1", "us-east-1", ""], ids=str)
    def test_is_a_stable_non_negative_bigint(self, region: str) -> None:
        """The advisory-lock key is the same every time and fits a signed 64-bit integer."""
        key = lease_key(region)
        assert key == lease_key(region)
        assert 0 <= key < 2**63

    def test_differs_between_regions(self) -> None:
        """Each region has its own lock."""
        assert len({lease_key(r) for r in ("local", "eu-west-1", "us-east-1", "ap-south-1")}) == 4


class TestMemoryLease:
    async def test_always_leads(self) -> None:
        """An in-memory store has nothing to share: every replica leads."""
        first, second = RegionLease("sqlite://", "local"), RegionLease("sqlite://", "local")
        assert first.kind == "memory"
        assert await first.acquire()
        assert await second.acquire()
        assert await first.verify()


class TestFileLease:
    async def test_one_holder_per_file_until_released(self, tmp_path: Path) -> None:
        """Two leases on one SQLite file: the first holds, the second waits, then takes over."""
        url = f"sqlite:///{tmp_path / 'results.db'}"
        first, second = RegionLease(url, "local"), RegionLease(url, "local")
        try:
            assert first.kind == "file"
            assert await first.acquire()
            assert not await second.acquire()
            assert (tmp_path / "results.db.lock").exists()
            await first.release()
            assert await second.acquire()
            assert not await first.acquire()
        finally:
            await first.release()
            await second.release()


@pytest.mark.postgres
class TestPostgresLease:
    async def test_one_holder_per_region(self, pg_database: str) -> None:
        """Two replicas of a region: one holds; another region's replica holds its own."""
        first, second = RegionLease(pg_database, "eu"), RegionLease(pg_database, "eu")
        other = RegionLease(pg_database, "us")
        try:
            assert first.kind == "postgres"
            assert await first.acquire()
            assert not await second.acquire()
            assert await other.acquire()
            assert await first.verify()
        finally:
            for lease in (first, second, other):
                await lease.release()

    async def test_released_lease_goes_to_the_standby(self, pg_database: str) -> None:
        """Releasing (closing the session) lets the standby take the lease at its next try."""
        first, second = RegionLease(pg_database, "eu"), RegionLease(pg_database, "eu")
        try:
            assert await first.acquire()
            assert not await second.acquire()
            await first.release()
            assert await second.acquire()
        finally:
            await first.release()
            await second.release()

    async def test_a_killed_session_is_noticed_at_once_and_taken_back(
        self, pg_database: str
    ) -> None:
        """When the holder's session dies, wait_lost returns at once; verify takes the lock back."""
        lease, standby = RegionLease(pg_database, "eu"), RegionLease(pg_database, "eu")
        admin = create_async_engine(database_url(pg_database))
        try:
            assert await lease.acquire()
            await _kill_lease_sessions(admin)
            t0 = time.monotonic()
            assert await lease.wait_lost(5.0)
            assert time.monotonic() - t0 < 1.0
            assert await lease.verify()
            assert (lease.held, lease.confirmed) == (True, True)
            assert not await standby.acquire()
        finally:
            await admin.dispose()
            await lease.release()
            await standby.release()

    async def test_a_death_found_by_verify_itself_is_counted_as_retaken(
        self, postgres_cluster: PostgresCluster, pg_database: str
    ) -> None:
        """A session killed while the event loop is busy (so the termination listener has not
        run) is found by verify's own query: the lock is taken back and counted in
        ``retaken``, so the service can say so."""
        lease = RegionLease(pg_database, "eu")
        database = make_url(pg_database).database
        try:
            assert await lease.acquire()
            assert lease.retaken == 0
            psql(postgres_cluster, KILL_LEASE_SESSIONS.format(database=f"'{database}'"))
            assert not lease.lost.is_set()  # the loop has not run since: nothing noticed yet
            assert await lease.verify()
            assert (lease.held, lease.confirmed, lease.retaken) == (True, True, 1)
            assert await lease.verify()
            assert lease.retaken == 1  # a live session is kept, not counted again
        finally:
            await lease.release()

    async def test_a_standby_that_took_it_first_ends_the_lease(self, pg_database: str) -> None:
        """The holder steps down only once it learns another replica holds the lock."""
        lease, standby = RegionLease(pg_database, "eu"), RegionLease(pg_database, "eu")
        admin = create_async_engine(database_url(pg_database))
        try:
            assert await lease.acquire()
            await _kill_lease_sessions(admin)
            assert await lease.wait_lost(5.0)
            assert await standby.acquire()
            assert not await lease.verify()
            assert not lease.held
        finally:
            await admin.dispose()
            await lease.release()
            await standby.release()

    async def test_kept_through_an_outage(self, stoppable_postgres: StoppableCluster) -> None:
        """With PostgreSQL stopped the holder keeps the lease, unconfirmed; it is confirmed
        again when the database is back, and a standby polling then finds it taken."""
        lease = RegionLease(stoppable_postgres.url, "eu")
        standby = RegionLease(stoppable_postgres.url, "eu")
        try:
            assert await lease.acquire()
            stoppable_postgres.stop()
            assert await lease.wait_lost(10.0)
            with pytest.raises(LeaseError):
                await lease.verify()
            assert (lease.held, lease.confirmed) == (True, False)
            assert not await lease.wait_lost(0.2)  # no busy loop: woken once per lost connection
            with pytest.raises(LeaseError):
                await lease.verify()
            assert lease.held
            stoppable_postgres.start()
            assert await lease.verify()
            assert lease.confirmed
            assert not await standby.acquire()
        finally:
            await lease.release()
            await standby.release()

    async def test_unreachable_database_is_a_lease_error(self) -> None:
        """A database that cannot be reached raises LeaseError, naming no password."""
        lease = RegionLease("postgresql://smoke:hunter2@127.0.0.1:1/none", "eu")
        with pytest.raises(LeaseError) as caught:
            async with asyncio.timeout(15):
                await lease.acquire()
        assert "hunter2" not in str(caught.value)
        assert not lease.held

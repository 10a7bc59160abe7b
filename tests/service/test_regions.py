"""Specifications of regions on one shared PostgreSQL: one scheduler per region, hot standbys."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import database_url
from tests.service.conftest import HEALTH, Running, StartService, WriteConfig, eventually
from tests.support.postgres import KILL_LEASE_SESSIONS

pytestmark = pytest.mark.postgres


def checks_done(running: Running) -> int:
    return len(running.events("check.done"))


class TestOneRegion:
    async def test_only_the_leader_runs_checks(
        self, write_config: WriteConfig, start_service: StartService, pg_database: str
    ) -> None:
        """Two replicas of one region on one PostgreSQL: one leads and runs checks, one waits."""
        config = write_config(HEALTH, interval="1s", db=pg_database)
        leader = await start_service(config)
        standby = await start_service(config)
        assert (leader.service.role, standby.service.role) == ("leader", "standby")

        async def three_stored() -> bool:
            return len(await leader.service.store.results("health")) >= 3

        await eventually(three_stored, timeout_s=6)
        assert checks_done(leader) >= 3
        assert checks_done(standby) == 0
        assert standby.service.scheduler is None

    async def test_the_standby_takes_over_when_the_leader_stops(
        self, write_config: WriteConfig, start_service: StartService, pg_database: str
    ) -> None:
        """When the leader goes, the standby takes the lease within a poll and runs the checks."""
        config = write_config(HEALTH, interval="1s", lease_poll="200ms", db=pg_database)
        leader = await start_service(config)
        standby = await start_service(config)
        await leader.service.stop()

        async def standby_runs() -> bool:
            return checks_done(standby) >= 1

        async def and_again() -> bool:
            return checks_done(standby) >= 2

        took = await eventually(standby_runs, timeout_s=3)
        assert took < 1.5
        assert standby.service.role == "leader"
        await eventually(and_again, timeout_s=4)

    async def test_a_leader_whose_session_dies_takes_it_back_or_hands_over(
        self, write_config: WriteConfig, start_service: StartService, pg_database: str
    ) -> None:
        """The leader's lease session killed: it takes the lock back on a new session at once,
        or steps down because the standby took it first; then exactly one replica leads."""
        config = write_config(HEALTH, interval="1h", lease_poll="200ms", db=pg_database)
        leader = await start_service(config)
        standby = await start_service(config)
        admin = create_async_engine(database_url(pg_database))
        try:
            async with admin.connect() as conn:
                await conn.execute(text(KILL_LEASE_SESSIONS.format(database="current_database()")))
        finally:
            await admin.dispose()

        async def handled() -> bool:
            return bool(leader.events("lease.lost") or leader.events("lease.retaken"))

        # However the death is noticed (asyncpg's listener or the next poll's query), the
        # leader says what it did.  No timing: the poll is 200 ms and CI may be slow.
        await eventually(handled, timeout_s=10)

        async def one_leads() -> bool:
            roles = [leader.service.role, standby.service.role]
            return roles.count("leader") == 1

        await eventually(one_leads, timeout_s=2)
        stepped_down = bool(leader.events("lease.lost"))
        assert leader.service.role == ("standby" if stepped_down else "leader")


class TestThreeRegions:
    async def test_each_region_leads_its_own_checks(
        self, write_config: WriteConfig, start_service: StartService, pg_database: str
    ) -> None:
        """Three regions on one PostgreSQL each hold their own lease and store their own results."""
        config = write_config(HEALTH, interval="1h", db=pg_database)
        services = [await start_service(config, region=r) for r in ("eu", "us", "ap")]
        assert [s.service.role for s in services] == ["leader"] * 3

        async def all_regions() -> bool:
            latest = await services[0].service.store.latest()
            return {r.region for r in latest} == {"eu", "us", "ap"}

        await eventually(all_regions, timeout_s=3)

"""Specifications of ``monitor.runtime.replay``: the spool drained into a real store, in order,
once."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; tests open raw sessions with it
import pytest
import structlog

from monitor.alerting.hub import Alerting
from monitor.config.alerting import AlertingSettings
from monitor.runtime.replay import REJECTED_SUFFIX, Replayer
from monitor.runtime.spool import Spool
from monitor.store import ResultStore
from tests.alerting.conftest import Clock, at, loaded_config, result
from tests.spool.test_spool import records
from tests.store.factory import table_rows
from tests.support.postgres import StoppableCluster

DOWN = """
alerts:
  - name: down
    condition: smoke_test.success < 0.5
    window: 5m
    notify: ["webhook:ops"]
"""


def quiet_log() -> Any:
    return structlog.wrap_logger(
        structlog.PrintLogger(io.StringIO()), processors=[structlog.processors.JSONRenderer()]
    )


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "results.db.spool")


class TestReplay:
    async def test_drains_in_spool_order(self, spool: Spool, store: ResultStore) -> None:
        """Every spooled result is stored, ids growing in spool order; the file is gone."""
        written = records(7)
        for r in written:
            spool.append(r)
        report = await Replayer(spool, log=quiet_log(), batch=3).replay(store)
        assert (report.replayed, report.left) == (7, 0)
        assert report.checks == {"c0", "c1", "c2"}
        rows = await table_rows(store_url_of(store), "SELECT run_id FROM results ORDER BY id")
        assert [row[0] for row in rows] == [r.run_id for r in written]
        assert not spool.path.exists()

    async def test_a_crash_after_storing_stores_nothing_twice(
        self, spool: Spool, store: ResultStore
    ) -> None:
        """Results stored before a crash (still in the spool) are replayed without duplicates."""
        written = records(5)
        for r in written:
            spool.append(r)
        for r in written[:3]:  # stored, then the process died before dropping them
            await store.add(r)
        spool.close()
        restarted = Spool(spool.path)
        report = await Replayer(restarted, log=quiet_log()).replay(store)
        assert (report.replayed, report.left) == (5, 0)
        rows = await table_rows(store_url_of(store), "SELECT run_id FROM results ORDER BY id")
        assert [row[0] for row in rows] == [r.run_id for r in written]

    async def test_an_empty_spool_touches_nothing(self, spool: Spool, store: ResultStore) -> None:
        """Nothing spooled: no file, no lock file, nothing replayed."""
        report = await Replayer(spool, log=quiet_log()).replay(store)
        assert (report.replayed, report.left) == (0, 0)
        assert [p for p in spool.path.parent.iterdir() if ".spool" in p.name] == []


class TestAlertsAfterReplay:
    async def test_rules_over_the_replayed_checks_are_evaluated(
        self, spool: Spool, store: ResultStore
    ) -> None:
        """Failures spooled during an outage fire their alert once replayed."""
        loaded = loaded_config(DOWN)
        hub = Alerting(
            loaded, store, {}, settings=AlertingSettings(), log=quiet_log(), clock=Clock(at(1))
        )
        try:
            # Two failing runs: the default confirmation (2 of the last 3, min_samples 2).
            spool.append(result("api", "eu", 0, "fail"))
            spool.append(result("api", "eu", 0.5, "fail"))
            spool.append(result("status", "eu", 0, "pass"))
            report = await Replayer(spool, log=quiet_log()).replay(store, hub)
            outbox = await hub.alerts.outbox_rows(limit=10)
        finally:
            await hub.stop(grace_s=1.0)
        assert report.checks == {"api", "status"}
        assert [(r.alert_key, r.payload["kind"]) for r in outbox] == [("down/api/eu", "firing")]


@pytest.mark.postgres
class TestRejected:
    async def test_a_result_the_store_refuses_is_set_aside(
        self, spool: Spool, pg_database: str
    ) -> None:
        """PostgreSQL refuses a NUL in text while it answers: that result goes to
        ``<spool>.rejected`` and the rest are stored."""
        good = records(3)
        bad = dataclasses.replace(good[1], message="nul \x00 byte")
        for r in (good[0], bad, good[2]):
            spool.append(r)
        async with await ResultStore.open(pg_database) as store:
            report = await Replayer(spool, log=quiet_log()).replay(store)
            stored = {r.run_id for name in ("c0", "c1", "c2") for r in await store.results(name)}
        assert (report.replayed, report.left) == (2, 0)
        assert stored == {good[0].run_id, good[2].run_id}
        assert rejected_lines(spool) == 1

    async def test_rejected_lines_keep_the_result(self, spool: Spool, pg_database: str) -> None:
        """The set-aside line is the refused result itself."""
        bad = dataclasses.replace(records(1)[0], message="nul \x00 byte")
        spool.append(bad)
        async with await ResultStore.open(pg_database) as store:
            await Replayer(spool, log=quiet_log()).replay(store)
        assert bad.run_id in rejected_text(spool)

    async def test_a_result_refused_once_then_taken_is_stored(
        self, spool: Spool, pg_database: str
    ) -> None:
        """A refusal that passes by itself (here a trigger that fails the first insert
        only, as a server finishing its start-up refuses the first session) costs no
        result: it is tried again once the store answers, and nothing is set aside."""
        written = records(3)
        for r in written:
            spool.append(r)
        async with await ResultStore.open(pg_database) as store:
            await run_sql(pg_database, FAIL_FIRST_INSERT)
            report = await Replayer(spool, log=quiet_log()).replay(store)
        rows = await table_rows(pg_database, "SELECT run_id FROM results ORDER BY id")
        assert (report.replayed, report.left) == (3, 0)
        assert [row[0] for row in rows] == [r.run_id for r in written]
        assert not any_set_aside(spool)


@pytest.mark.postgres
class TestReplayWhilePostgresStarts:
    async def test_restarts_under_a_busy_replay_set_nothing_aside(
        self, spool: Spool, stoppable_postgres: StoppableCluster
    ) -> None:
        """PostgreSQL restarted three times while the replay tries every few milliseconds:
        each start answers "the database system is starting up" for a moment (and
        ``SELECT 1`` just after).  Every result is stored once, in order, none set aside."""
        url = stoppable_postgres.url
        written = records(RESTARTS * 4)
        replayer = Replayer(spool, log=quiet_log())
        async with await ResultStore.open(url) as store:
            for restart in range(RESTARTS):
                stoppable_postgres.stop()
                for r in written[restart * 4 : (restart + 1) * 4]:
                    spool.append(r)
                starting = asyncio.create_task(asyncio.to_thread(stoppable_postgres.start))
                async with asyncio.timeout(60):
                    while spool.pending or not starting.done():
                        await replayer.replay(store)
                        await asyncio.sleep(0.002)
                await starting
        rows = await table_rows(url, "SELECT run_id FROM results ORDER BY id")
        assert [row[0] for row in rows] == [r.run_id for r in written]
        assert not any_set_aside(spool)


RESTARTS = 3
# Fails the first insert into ``results`` after it is created, and none after: a sequence
# is not rolled back with the transaction that failed.
FAIL_FIRST_INSERT = [
    "CREATE SEQUENCE refusals",
    """CREATE FUNCTION refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF nextval('refusals') = 1 THEN
            RAISE EXCEPTION 'refused once, for the test';
        END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER refuse_once BEFORE INSERT ON results "
    "FOR EACH ROW EXECUTE FUNCTION refuse_once()",
]


async def run_sql(url: str, statements: list[str]) -> None:
    session = await asyncpg.connect(url)
    try:
        for statement in statements:
            await session.execute(statement)
    finally:
        await session.close()


def any_set_aside(spool: Spool) -> bool:
    return Path(str(spool.path) + REJECTED_SUFFIX).exists()


def rejected_text(spool: Spool) -> str:
    return Path(str(spool.path) + REJECTED_SUFFIX).read_text()


def rejected_lines(spool: Spool) -> int:
    return len(rejected_text(spool).splitlines())


def store_url_of(store: ResultStore) -> str:
    return store._url.render_as_string(hide_password=False)

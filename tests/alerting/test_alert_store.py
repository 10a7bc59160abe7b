"""AlertStore on both backends: the compare-and-set write, the API's reads, silences, pruning,
and migration 0003 up and down."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from monitor.alerting.state import Group, initial
from monitor.config.rules import AlertRule
from monitor.store import AlertStore, ResultStore, database_url
from monitor.store.alert_records import IncidentChange, OutboxEntry, StateWrite
from monitor.store.engine import create_engine
from monitor.store.migrate import alembic_config
from tests.alerting.conftest import at
from tests.store.factory import table_rows
from tests.support.stores import head_revision

RULE = AlertRule.model_validate({"name": "down", "condition": "smoke_test.success < 0.5"})


def entry(key: str, target: str = "webhook:ops") -> OutboxEntry:
    return OutboxEntry(key, "down/api/eu", "webhook", target, {"kind": "firing"})


def firing_write(expected: int | None, *keys: str) -> StateWrite:
    base = initial(Group(RULE, "api", "eu"), at(0))
    state = replace(base, state="firing", since=at(0), notified="firing", seq=1, version=1)
    return StateWrite(
        state, expected, tuple(entry(k) for k in keys), IncidentChange("open", "api", "eu", at(0))
    )


class TestApply:
    async def test_compare_and_set(self, store: ResultStore) -> None:
        """A write applies only over the version it read; a loser writes no row and no incident."""
        alerts = AlertStore(store)
        assert await alerts.apply(firing_write(None, "a" * 64))
        assert not await alerts.apply(firing_write(None, "b" * 64))  # the row exists now
        assert not await alerts.apply(firing_write(7, "c" * 64))  # stale version
        later = replace(firing_write(1, "d" * 64), incident=None)
        assert await alerts.apply(replace(later, state=replace(later.state, version=2)))
        assert [r.key for r in await alerts.outbox_rows()] == ["d" * 64, "a" * 64]
        assert (await alerts.states())["down/api/eu"].version == 2
        assert len(await store.incidents()) == 1

    async def test_duplicate_key_is_one_row(self, store: ResultStore) -> None:
        """The same outbox key written twice stays one row."""
        alerts = AlertStore(store)
        assert await alerts.apply(firing_write(None, "a" * 64, "a" * 64))
        assert len(await alerts.outbox_rows()) == 1


class TestReads:
    async def test_alert_states_active_only(self, store: ResultStore) -> None:
        """active_only keeps pending and firing groups, ordered by rule, check, region."""
        alerts = AlertStore(store)
        base = initial(Group(RULE, "api", "eu"), at(0))
        groups = {
            "down/api/us": replace(base, alert_key="down/api/us", region="us", state="pending"),
            "down/api/eu": replace(base, state="firing"),
            "down/api/ap": replace(base, alert_key="down/api/ap", region="ap"),
            "down/api/za": replace(base, alert_key="down/api/za", region="za", no_data=True),
        }
        for state in groups.values():
            assert await alerts.apply(StateWrite(state, None))
        assert [s.alert_key for s in await alerts.alert_states()] == [
            "down/api/eu",
            "down/api/us",
        ]
        assert len(await alerts.alert_states(active_only=False)) == 4

    async def test_outbox_rows_and_status(self, store: ResultStore) -> None:
        """outbox_rows lists newest first; pending_only drops delivered and failed rows."""
        alerts = AlertStore(store)
        await alerts.apply(firing_write(None, "a" * 64, "b" * 64, "c" * 64))
        ids = {r.key[0]: r.id for r in await alerts.outbox_rows()}
        await alerts.delivered(ids["a"], at=at(1))
        await alerts.failed(ids["b"], at=at(1), error="x" * 900)
        rows = await alerts.outbox_rows()
        assert [(r.key[0], r.status) for r in rows] == [
            ("c", "pending"),
            ("b", "failed"),
            ("a", "delivered"),
        ]
        assert len(rows[1].last_error or "") == 500
        assert [r.key[0] for r in await alerts.outbox_rows(pending_only=True)] == ["c"]
        assert len(await alerts.outbox_rows(limit=1)) == 1
        with pytest.raises(ValueError, match="limit"):
            await alerts.outbox_rows(limit=0)

    async def test_prune_outbox(self, store: ResultStore) -> None:
        """Pruning deletes delivered and failed rows from before the cutoff, never pending ones."""
        alerts = AlertStore(store)
        await alerts.apply(firing_write(None, "a" * 64, "b" * 64, "c" * 64))
        ids = {r.key[0]: r.id for r in await alerts.outbox_rows()}
        await alerts.delivered(ids["a"], at=at(1))
        await alerts.failed(ids["b"], at=at(1), error="gone")
        assert await alerts.prune_outbox(at(0)) == 0
        assert await alerts.prune_outbox(at(10)) == 2
        assert [r.key[0] for r in await alerts.outbox_rows()] == ["c"]


class TestSilences:
    async def test_add_list_expire(self, store: ResultStore) -> None:
        """Silences are listed newest first, filtered by when they are in force, and expire once."""
        alerts = AlertStore(store)
        first = await alerts.add_silence(
            matchers={"check": "api"}, starts_at=at(0), ends_at=at(60), author="ann", comment="c"
        )
        second = await alerts.add_silence(
            matchers={"rule": "down"}, starts_at=at(30), ends_at=at(90), author="bob"
        )
        assert [s.id for s in await alerts.silences()] == [second, first]
        assert [s.id for s in await alerts.silences(active_at=at(10))] == [first]
        assert [s.id for s in await alerts.silences(active_at=at(45))] == [second, first]
        assert [s.id for s in await alerts.silences(active_at=at(60))] == [second]
        assert await alerts.expire_silence(second, at=at(40))
        assert not await alerts.expire_silence(second, at=at(41))
        assert not await alerts.expire_silence(first, at=at(61))  # already over
        assert not await alerts.expire_silence(999, at=at(0))
        assert [s.id for s in await alerts.silences(active_at=at(45))] == [first]
        (stored,) = [s for s in await alerts.silences() if s.id == first]
        assert (stored.matchers, stored.author, stored.comment) == ({"check": "api"}, "ann", "c")
        assert stored.active_at(at(0))
        assert not stored.active_at(at(60))

    @pytest.mark.parametrize(
        ("matchers", "starts_at", "ends_at", "message"),
        [
            ({}, at(0), at(1), "matcher"),
            ({"check": "api"}, at(1), at(0), "after"),
            ({"check": "api"}, datetime(2025, 1, 1), at(0), "tz-aware"),
        ],
        ids=["no-matchers", "backwards", "naive"],
    )
    async def test_add_refuses(
        self,
        store: ResultStore,
        matchers: dict[str, str],
        starts_at: datetime,
        ends_at: datetime,
        message: str,
    ) -> None:
        """An empty, backwards or naive silence is a ValueError saying why."""
        with pytest.raises(ValueError, match=message):
            await AlertStore(store).add_silence(
                matchers=matchers, starts_at=starts_at, ends_at=ends_at, author="x"
            )


class TestMigration:
    async def test_0003_down_and_up(self, store_url: str) -> None:
        """0003 adds the alerting tables; downgrading drops only them, upgrading restores them."""
        async with await ResultStore.open(store_url):
            pass
        assert await table_rows(store_url, "SELECT version_num FROM alembic_version") == [
            (head_revision(),)
        ]
        engine = create_engine(make_url(database_url(store_url)))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0002"))
                with pytest.raises(DBAPIError, match="outbox"):
                    async with conn.begin_nested():
                        await conn.execute(text("SELECT count(*) FROM outbox"))
        finally:
            await engine.dispose()
        async with await ResultStore.open(store_url) as reopened:
            assert await AlertStore(reopened).outbox_rows() == []
            assert await AlertStore(reopened).alert_states(active_only=False) == []

    async def test_0005_keeps_states_and_adds_the_evidence_columns(self, store_url: str) -> None:
        """A state stored before 0005 reads back after it with no outage and no flips; the new
        columns round-trip, and downgrading to 0004 drops them and keeps the row."""
        async with await ResultStore.open(store_url) as store:
            await AlertStore(store).apply(firing_write(None))
        engine = create_engine(make_url(database_url(store_url)))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0004"))
                with pytest.raises(DBAPIError, match="flips"):
                    async with conn.begin_nested():
                        await conn.execute(text("SELECT flips FROM alert_states"))
        finally:
            await engine.dispose()
        async with await ResultStore.open(store_url) as reopened:
            alerts = AlertStore(reopened)
            (state,) = await alerts.alert_states()
            assert (state.state, state.outage_started_at, state.flips) == ("firing", None, ())
            later = replace(
                state,
                state="recovering",
                version=2,
                outage_started_at=at(0),
                outage_ended_at=at(3),
                flips=(at(0), at(1)),
                flapping_since=at(1),
            )
            assert await alerts.apply(StateWrite(later, expected_version=1))
            assert await alerts.alert_states() == [later]

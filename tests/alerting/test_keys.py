"""Notification keys unique across time and space: the installation id made with the schema
and the incident's identity are in every key, so fresh databases (SQLite and PostgreSQL)
alerting on the same rule at the same moment never share a key, nor do two incidents of
one alert group, even when the group's notification count starts again."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from monitor.alerting.notification import Notification
from monitor.alerting.outbox import incident_id, outbox_key
from monitor.store import AlertStore, OutboxRecord, ResultStore, database_url
from monitor.store.engine import create_engine
from monitor.store.migrate import alembic_config
from monitor.store.schema import alert_states
from tests.alerting.conftest import Harness, MakeHarness, loaded_config, result
from tests.alerting.test_engine import down
from tests.store.factory import table_rows
from tests.support.postgres import PostgresCluster, psql

DATABASES = 5  # the count: five fresh databases, five equal keys before the fix
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def fresh_urls(
    store_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[list[str]]:
    """``store_url`` and more empty databases on the same backend (files, or databases of the
    session's PostgreSQL cluster, dropped afterwards)."""
    if store_url.startswith("sqlite"):
        yield [store_url] + [f"sqlite:///{tmp_path / f'other-{i}.db'}" for i in range(1, DATABASES)]
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    names = [f"test_{uuid.uuid4().hex}" for _ in range(1, DATABASES)]
    for name in names:
        psql(cluster, f'CREATE DATABASE "{name}"')
    try:
        yield [store_url] + [
            f"postgresql://postgres@127.0.0.1:{cluster.port}/{name}" for name in names
        ]
    finally:
        for name in names:
            psql(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_stores(fresh_urls: list[str]) -> AsyncIterator[list[ResultStore]]:
    """One open, migrated store per fresh database."""
    opened = [await ResultStore.open(url) for url in fresh_urls]
    try:
        yield opened
    finally:
        for s in opened:
            await s.close()


async def fire(harness: Harness, minutes: float) -> list[OutboxRecord]:
    """A failed run at ``minutes`` fires ``down`` on api/eu: its new outbox rows."""
    before = {r.id for r in await harness.outbox()}
    await harness.add(result("api", "eu", minutes, "fail"))
    await harness.evaluate(minutes)
    return [r for r in await harness.outbox() if r.id not in before]


def recomputed(installation: str, row: OutboxRecord, seq: int) -> str:
    """The row's key made again from the installation id, the group's notification number
    and what the row says."""
    n = Notification.from_json(row.payload)
    incident = incident_id(installation, n.alert_key, n.since)
    assert n.incident == incident
    return outbox_key(incident, seq, n.kind, n.target)


class TestInstallation:
    async def test_id_is_made_with_the_schema_and_kept(self, store_url: str) -> None:
        """Migrating makes one random 32-hex id; reopening the database keeps it."""
        async with await ResultStore.open(store_url) as first:
            made = await AlertStore(first).installation_id()
        async with await ResultStore.open(store_url) as again:
            assert await AlertStore(again).installation_id() == made
        assert HEX32.match(made)
        assert await table_rows(store_url, "SELECT id, installation_id FROM installation") == [
            (1, made)
        ]

    async def test_0007_down_and_up_makes_a_new_installation(self, store_url: str) -> None:
        """Downgrading 0007 drops the installation, the heartbeats and the claim owners;
        upgrading again makes a new id (a new installation: its keys are new too)."""
        async with await ResultStore.open(store_url) as first:
            made = await AlertStore(first).installation_id()
        engine = create_engine(make_url(database_url(store_url)))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0006"))
                tables = await conn.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
                columns = await conn.run_sync(
                    lambda sync: {c["name"] for c in sync.dialect.get_columns(sync, "outbox")}
                )
        finally:
            await engine.dispose()
        assert not {"installation", "outbox_owners"} & tables
        assert "claimed_by" not in columns
        async with await ResultStore.open(store_url) as reopened:
            remade = await AlertStore(reopened).installation_id()
        assert HEX32.match(remade)
        assert remade != made


class TestKeysAcrossDatabases:
    async def test_fresh_databases_alerting_alike_share_no_key(
        self, make_harness: MakeHarness, fresh_stores: list[ResultStore]
    ) -> None:
        """The same rule firing on the same group at the same moment in five fresh databases
        (each notification number 1): five installation ids, five incidents, five keys."""
        keys, incidents, installations = set(), set(), set()
        for s in fresh_stores:
            harness = await make_harness(loaded_config(down()), on=s)
            (row,) = await fire(harness, 0)
            installation = await harness.alerting.alerts.installation_id()
            assert row.key == recomputed(installation, row, 1)
            keys.add(row.key)
            incidents.add(row.payload["incident"])
            installations.add(installation)
        assert len(keys) == len(incidents) == len(installations) == DATABASES

    async def test_incidents_of_one_group_share_no_key_when_numbering_restarts(
        self, make_harness: MakeHarness, store: ResultStore
    ) -> None:
        """Fired, resolved, its state row dropped (the group's count starts again at 0), fired
        again later: the second incident's key differs from the first's, its id too."""
        harness = await make_harness(loaded_config(down()))
        (first,) = await fire(harness, 0)
        await harness.add(result("api", "eu", 10, "pass"))
        await harness.evaluate(10)
        (resolved,) = (await harness.outbox())[1:]
        assert resolved.payload["incident"] == first.payload["incident"]  # one incident
        async with store.connection("dropping the group's state", write=True) as conn:
            await conn.execute(delete(alert_states))
        (second,) = await fire(harness, 60)
        assert (second.payload["kind"], second.target) == (first.payload["kind"], first.target)
        assert second.payload["incident"] != first.payload["incident"]
        assert second.key != first.key
        installation = await harness.alerting.alerts.installation_id()
        assert [
            recomputed(installation, r, n) for r, n in ((first, 1), (resolved, 2), (second, 1))
        ] == [
            first.key,
            resolved.key,
            second.key,
        ]

"""The result store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; tests open raw sessions with it
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import (
    ResultStore,
    StoreError,
    StoreUnavailable,
    database_url,
)
from monitor.store.migrate import HEAD_REVISION, upgrade
from probes.base import Status
from tests.store.factory import T0, record
from tests.support.postgres import PostgresCluster, StoppableCluster, psql
from tests.support.stores import head_revision, previous_revision

SECRET = "s3cret-Pa55"  # a fake password that must never show up in errors


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def refusing_new_sessions(url: str, timeout_s: float = 10.0) -> None:
    """Wait until the server answers a new session with "cannot connect now" (57P03)."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                session = await asyncpg.connect(url)
            except asyncpg.CannotConnectNowError:
                return
            await session.close()
            await asyncio.sleep(0.05)


class TestRoundTrip:
    async def test_every_field_comes_back(self, store: ResultStore) -> None:
        """A stored record reads back equal, its start time as the same instant in UTC."""
        original = record(
            run_id="9f" * 16,
            check="homepage",
            kind="browser",
            region="eu-west",
            started_at=datetime(
                2025, 3, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))
            ),
            duration_ms=2345.678,
            wall_ms=9120.5,
            wait_ms=6500.25,
            status=Status.DEGRADED,
            attempts=3,
            message="load: expected < 3000 ms, got 3120.5 ms — ✓ retried",
            timings={"ttfb": 0.1, "dcl": 812.25, "load": 3120.5, "total": 3300.0},
            assertions=[
                {"name": "load time", "passed": False, "expected": "< 3000", "actual": "3120.5"},
                {"name": "selector #app visible", "passed": True, "expected": "1", "actual": "1"},
            ],
            details={
                "url": "https://example.com/",
                "console_errors": 0,
                "nested": {"a": [1, None]},
            },
            artifacts=["artifacts/homepage/screenshot.png", "artifacts/homepage/trace.zip"],
        )
        record_id = await store.add(original)
        (got,) = await store.results("homepage")
        assert got == dataclasses.replace(
            original, id=record_id, started_at=datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
        )
        assert got.started_at.utcoffset() == timedelta(0)
        assert type(got.status) is Status

    async def test_naive_datetime_is_refused(self, store: ResultStore) -> None:
        """A start time without a zone is a caller bug, not a guess."""
        with pytest.raises(ValueError, match="tz-aware"):
            await store.add(record(started_at=datetime(2025, 3, 1, 12, 0)))

    async def test_ids_grow(self, store: ResultStore) -> None:
        """Each add returns a larger id than the one before."""
        ids = [await store.add(record()) for _ in range(3)]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3


class TestLatest:
    async def test_newest_per_check_and_region(self, store: ResultStore) -> None:
        """One result per (check, region), the most recently stored, ordered by check and region."""
        await store.add(record("api", "eu", status=Status.FAIL))
        newest_api_eu = await store.add(record("api", "eu", T0 + timedelta(minutes=30)))
        newest_api_us = await store.add(record("api", "us"))
        await store.add(record("home", "eu"))
        newest_home_eu = await store.add(record("home", "eu", T0 + timedelta(minutes=30)))
        latest = await store.latest()
        assert [(r.check, r.region, r.id) for r in latest] == [
            ("api", "eu", newest_api_eu),
            ("api", "us", newest_api_us),
            ("home", "eu", newest_home_eu),
        ]
        assert latest[0].status is Status.PASS

    async def test_region_filter(self, store: ResultStore) -> None:
        """With a region, only that region's latest results come back."""
        await store.add(record("api", "eu"))
        only_us = await store.add(record("api", "us"))
        latest = await store.latest(region="us")
        assert [r.id for r in latest] == [only_us]

    async def test_empty_store(self, store: ResultStore) -> None:
        """No results yet means an empty list."""
        assert await store.latest() == []


class TestResults:
    async def test_newest_first_for_one_check(self, store: ResultStore) -> None:
        """Results of the named check only, newest first."""
        first = await store.add(record("api"))
        await store.add(record("home"))
        second = await store.add(record("api"))
        assert [r.id for r in await store.results("api")] == [second, first]

    async def test_keyset_pagination(self, store: ResultStore) -> None:
        """Passing a page's smallest id as before_id yields the next older page, then nothing."""
        ids = [await store.add(record(started_at=T0 + timedelta(minutes=i))) for i in range(5)]
        pages: list[list[int | None]] = []
        before: int | None = None
        while True:
            page = await store.results("api-health", before_id=before, limit=2)
            if not page:
                break
            pages.append([r.id for r in page])
            before = page[-1].id
        assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]

    async def test_since_is_inclusive(self, store: ResultStore) -> None:
        """Since keeps results started at or after it, whatever the caller's time zone."""
        await store.add(record(started_at=T0 - timedelta(seconds=1)))
        at = await store.add(record(started_at=T0))
        after = await store.add(record(started_at=T0 + timedelta(hours=1)))
        since = T0.astimezone(timezone(timedelta(hours=-5)))
        assert [r.id for r in await store.results("api-health", since=since)] == [after, at]

    async def test_region_filter(self, store: ResultStore) -> None:
        """With a region, only that region's results come back."""
        await store.add(record(region="eu"))
        us = await store.add(record(region="us"))
        assert [r.id for r in await store.results("api-health", region="us")] == [us]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"limit": 0}, "limit"),
            ({"since": datetime(2025, 1, 1)}, "since"),  # naive on purpose
        ],
        ids=["zero-limit", "naive-since"],
    )
    async def test_bad_arguments(
        self, store: ResultStore, kwargs: dict[str, Any], match: str
    ) -> None:
        """A zero limit or a naive since is refused with the argument named."""
        with pytest.raises(ValueError, match=match):
            await store.results("api-health", **kwargs)


class TestPrune:
    async def test_deletes_only_older_rows(self, store: ResultStore) -> None:
        """Prune removes results started before the cutoff, counts them, and keeps the rest."""
        for days in (3, 2, 1):
            await store.add(record(started_at=T0 - timedelta(days=days)))
        kept = [await store.add(record(started_at=T0)), await store.add(record())]
        assert await store.prune(T0) == 3
        assert [r.id for r in await store.results("api-health")] == kept[::-1]
        assert await store.prune(T0) == 0

    async def test_ids_keep_growing_after_emptying(self, store: ResultStore) -> None:
        """Ids are never reused, even once prune has emptied the table."""
        old = await store.add(record())
        assert await store.prune(T0 + timedelta(days=1)) == 1
        assert await store.add(record()) > old


class TestAvailability:
    async def test_ping_on_a_live_store(self, store: ResultStore) -> None:
        """A reachable database answers ping."""
        await store.ping()  # raises StoreUnavailable when it is not

    async def test_unreachable_postgres_on_ping(self) -> None:
        """Ping on a database nobody listens for raises StoreUnavailable, password hidden."""
        url = f"postgresql://smoke:{SECRET}@127.0.0.1:{closed_port()}/smoke"
        store = await ResultStore.open(url, migrate=False)
        try:
            with pytest.raises(StoreUnavailable) as caught:
                await store.ping()
        finally:
            await store.close()
        assert SECRET not in str(caught.value)
        assert "smoke:***@127.0.0.1" in str(caught.value)

    async def test_unreachable_postgres_on_open(self) -> None:
        """Opening (and so migrating) an unreachable database raises StoreUnavailable."""
        url = f"postgres://smoke:{SECRET}@127.0.0.1:{closed_port()}/smoke"
        with pytest.raises(StoreUnavailable, match="migrating") as caught:
            await ResultStore.open(url)
        assert SECRET not in str(caught.value)

    @pytest.mark.postgres
    async def test_database_gone_after_open(
        self, pg_database: str, postgres_cluster: PostgresCluster
    ) -> None:
        """When the database disappears under an open store, ping raises StoreUnavailable."""
        with_password = pg_database.replace("postgres@", f"postgres:{SECRET}@")
        store = await ResultStore.open(with_password)  # trust auth ignores the password
        try:
            await store.ping()
            name = pg_database.rsplit("/", 1)[1]
            psql(postgres_cluster, f'DROP DATABASE "{name}" WITH (FORCE)')
            with pytest.raises(StoreUnavailable) as caught:
                await store.ping()
        finally:
            await store.close()
        assert SECRET not in str(caught.value)

    @pytest.mark.postgres
    async def test_a_server_refusing_new_sessions_for_now_is_unavailable(
        self, stoppable_postgres: StoppableCluster
    ) -> None:
        """PostgreSQL shutting down (or starting up) answers a new session with SQLSTATE
        57P03, "cannot connect now", which reaches SQLAlchemy as a plain DBAPIError: it is
        StoreUnavailable, so the writer tries the burst again and the replay waits, rather
        than a refusal that sets a spooled result aside for good."""
        url = stoppable_postgres.url
        async with await ResultStore.open(url):
            pass  # the schema exists; no pooled session survives into the shutdown
        holder = await asyncpg.connect(url)
        try:
            stoppable_postgres.stop_smart()  # waits for our open session: refuses new ones
            await refusing_new_sessions(url)
            store = await ResultStore.open(url, migrate=False)
            try:
                with pytest.raises(StoreUnavailable, match="shutting down"):
                    await store.add(record("api"))
            finally:
                await store.close()
        finally:
            await holder.close()

    async def test_sqlite_path_that_cannot_exist(self, tmp_path: Path) -> None:
        """A SQLite path under a regular file cannot be opened: StoreUnavailable."""
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        with pytest.raises(StoreUnavailable, match="cannot open store"):
            await ResultStore.open(str(blocker / "sub" / "results.db"))


class TestMigrations:
    async def test_open_twice_keeps_data(self, store_url: str) -> None:
        """Reopening a migrated database is a no-op migration that keeps every row."""
        async with await ResultStore.open(store_url) as first:
            record_id = await first.add(record())
        async with await ResultStore.open(store_url) as second:
            assert [r.id for r in await second.results("api-health")] == [record_id]
        assert await alembic_versions(store_url) == [head_revision()]

    async def test_concurrent_opens(self, store_url: str) -> None:
        """Several instances opening one fresh database at once all migrate it safely."""
        stores = await asyncio.gather(*(ResultStore.open(store_url) for _ in range(3)))
        try:
            ids = [await s.add(record()) for s in stores]
        finally:
            for s in stores:
                await s.close()
        assert len(set(ids)) == 3
        assert await alembic_versions(store_url) == [head_revision()]

    def test_head_revision_is_the_newest_migration(self) -> None:
        """The revision a store checks before loading alembic is alembic's head."""
        assert head_revision() == HEAD_REVISION

    async def test_a_store_one_revision_behind_is_upgraded(self, store_url: str) -> None:
        """A database at the revision before the head (an older smokewatch's) is migrated
        to the head on open, through alembic as before."""
        engine = create_async_engine(database_url(store_url))
        try:
            await upgrade(engine, revision=previous_revision())
        finally:
            await engine.dispose()
        assert await alembic_versions(store_url) == [previous_revision()]
        async with await ResultStore.open(store_url) as store:
            await store.add(record())
        assert await alembic_versions(store_url) == [head_revision()]

    async def test_without_migrations_writes_fail(self, store_url: str) -> None:
        """migrate=False on an empty database leaves no table: writing raises StoreError."""
        async with await ResultStore.open(store_url, migrate=False) as store:
            with pytest.raises(StoreError, match="storing a result"):
                await store.add(record())


class TestSqliteFile:
    async def test_creates_parent_dir_and_uses_wal(self, tmp_path: Path) -> None:
        """The file's missing parent directories are created and the file is in WAL mode."""
        path = tmp_path / "a" / "b" / "results.db"
        async with await ResultStore.open(f"sqlite:///{path}") as store:
            await store.add(record())
        with sqlite3.connect(path) as conn:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        conn.close()
        assert mode == "wal"


class TestDatabaseUrl:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("sqlite:///results.db", "sqlite+aiosqlite:///results.db"),
            (
                "sqlite:////var/lib/smokewatch/results.db",
                "sqlite+aiosqlite:////var/lib/smokewatch/results.db",
            ),
            ("results.db", "sqlite+aiosqlite:///results.db"),
            ("data/results.db", "sqlite+aiosqlite:///data/results.db"),
            (
                "/var/lib/smokewatch/results.db",
                "sqlite+aiosqlite:////var/lib/smokewatch/results.db",
            ),
            ("sqlite+aiosqlite:///results.db", "sqlite+aiosqlite:///results.db"),
            ("postgresql://u:p@db:5432/smoke", "postgresql+asyncpg://u:p@db:5432/smoke"),
            ("postgres://u@db/smoke", "postgresql+asyncpg://u@db/smoke"),
            ("PostgreSQL://db/smoke", "postgresql+asyncpg://db/smoke"),
            (
                "postgresql+asyncpg://db/smoke?ssl=require",
                "postgresql+asyncpg://db/smoke?ssl=require",
            ),
        ],
        ids=[
            "sqlite-relative",
            "sqlite-absolute",
            "bare-file",
            "bare-relative-path",
            "bare-absolute-path",
            "already-async-sqlite",
            "postgresql",
            "postgres-alias",
            "scheme-case",
            "already-asyncpg",
        ],
    )
    def test_normalises(self, raw: str, expected: str) -> None:
        """Supported URLs and bare paths map to the async driver URL."""
        assert database_url(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "named"),
        [
            (f"mysql://root:{SECRET}@db/smoke", "'mysql'"),
            (f"postgresql+psycopg2://u:{SECRET}@db/smoke", "'postgresql+psycopg2'"),
            ("  ", "empty"),
        ],
        ids=["mysql", "other-postgres-driver", "blank"],
    )
    def test_rejects(self, raw: str, named: str) -> None:
        """Anything else is a ValueError naming the scheme, never the password."""
        with pytest.raises(ValueError, match=r"scheme|empty") as caught:
            database_url(raw)
        assert named in str(caught.value)
        assert SECRET not in str(caught.value)


async def alembic_versions(url: str) -> list[str]:
    """The revisions recorded in alembic's version table."""
    engine = create_async_engine(database_url(url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


def test_cluster_fixture_is_postgres(postgres_cluster: PostgresCluster, postgres_url: str) -> None:
    """The session fixture hands out a URL to the cluster it started."""
    assert postgres_url == f"postgresql://postgres@127.0.0.1:{postgres_cluster.port}/postgres"

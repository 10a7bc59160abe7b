"""A new SQLite store is made from the schema snapshot, and is the store the migrations make."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import ResultStore, rewrite_snapshot
from monitor.store.fresh import SNAPSHOT, build, parse, render, schema_of
from monitor.store.migrate import HEAD_REVISION, migrate_with_alembic
from tests.store.factory import record

REWRITE = "uv run python -m monitor.store.rewrite_snapshot"


async def by_alembic(path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate_with_alembic(engine)
    finally:
        await engine.dispose()


async def by_snapshot(path: Path) -> None:
    async with await ResultStore.open(f"sqlite:///{path}"):
        pass


def master(path: Path) -> list[tuple[str, str, str, str | None]]:
    """Every object SQLite records, implicit indexes included, in a stable order."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return sorted(rows, key=lambda row: (row[0], row[1]))


def contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Per table, its rows' column types (the values of a new installation are random)."""
    with sqlite3.connect(path) as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found: dict[str, list[tuple[object, ...]]] = {}
        for table in tables:
            columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
            typed = ", ".join(f'typeof("{c}"), length("{c}")' for c in columns)
            found[table] = sorted(db.execute(f'SELECT {typed} FROM "{table}"').fetchall())
    return found


class TestSnapshot:
    async def test_the_snapshot_is_what_the_migrations_leave(self, tmp_path: Path) -> None:
        """The file holds, for the head revision, the statements the migrations leave in
        sqlite_master; a new migration without a rewritten snapshot fails here."""
        await by_alembic(tmp_path / "migrated.db")
        engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        with engine.connect() as connection:
            expected = schema_of(connection)
        engine.dispose()
        revision, statements = parse(SNAPSHOT.read_text(encoding="utf-8"))
        assert (revision, statements) == (HEAD_REVISION, expected), f"run `{REWRITE}`"

    async def test_a_new_store_is_the_migrated_store(self, tmp_path: Path) -> None:
        """Same tables, columns, indexes and constraints, and the same rows: the
        installation's id and the alembic version."""
        await by_alembic(tmp_path / "migrated.db")
        await by_snapshot(tmp_path / "new.db")
        assert master(tmp_path / "new.db") == master(tmp_path / "migrated.db")
        assert contents(tmp_path / "new.db") == contents(tmp_path / "migrated.db")
        with sqlite3.connect(tmp_path / "new.db") as db:
            assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (HEAD_REVISION,)
            ]
            assert db.execute("SELECT id FROM installation").fetchall() == [(1,)]

    async def test_a_new_store_works(self, tmp_path: Path) -> None:
        """Results go in and come back, and a second open finds it at the head."""
        async with await ResultStore.open(f"sqlite:///{tmp_path / 'new.db'}") as store:
            added = await store.add(record())
        async with await ResultStore.open(f"sqlite:///{tmp_path / 'new.db'}") as store:
            assert [r.id for r in await store.results("api-health")] == [added]

    def test_a_new_store_does_not_load_alembic(self, tmp_path: Path) -> None:
        """The point of the snapshot: opening a new store costs no alembic import."""
        code = textwrap.dedent(f"""
            import asyncio, sys
            from monitor.store import ResultStore, rewrite_snapshot
            async def main():
                async with await ResultStore.open("sqlite:///{tmp_path / "new.db"}"):
                    pass
            asyncio.run(main())
            print(sorted(m for m in sys.modules if m.split(".")[0] == "alembic"))
        """)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "[]"

    async def test_another_revision_is_left_to_alembic(self, tmp_path: Path) -> None:
        """A snapshot is replayed only for the revision it was taken at; an empty
        database asked for another stays empty for alembic to migrate."""
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        try:
            async with engine.begin() as connection:
                assert not await connection.run_sync(build, "0012")
                assert await connection.run_sync(schema_of) == []
        finally:
            await engine.dispose()

    async def test_a_database_with_tables_is_left_to_alembic(self, tmp_path: Path) -> None:
        """Only an empty database is made from the snapshot; one holding anything (here a
        user's own table) is never replayed into."""
        with sqlite3.connect(tmp_path / "used.db") as db:
            db.execute("CREATE TABLE mine (x INTEGER)")
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'used.db'}")
        try:
            async with engine.begin() as connection:
                assert not await connection.run_sync(build, HEAD_REVISION)
                assert await connection.run_sync(schema_of) == ["CREATE TABLE mine (x INTEGER)"]
        finally:
            await engine.dispose()

    def test_a_statement_with_a_semicolon_is_refused(self) -> None:
        """The file is split on ';': a statement holding one could not be read back."""
        with pytest.raises(ValueError, match="cannot be split back"):
            render(HEAD_REVISION, ["CREATE TABLE t (x TEXT DEFAULT ';')"])

    def test_the_rewrite_command_writes_the_committed_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``python -m monitor.store.rewrite_snapshot`` (here into a temporary file) writes
        exactly what is committed: the file was made by it, not by hand."""
        target = tmp_path / "sqlite_head.sql"
        monkeypatch.setattr(rewrite_snapshot, "SNAPSHOT", target)
        rewrite_snapshot.main()
        assert target.read_text(encoding="utf-8") == SNAPSHOT.read_text(encoding="utf-8")

    def test_render_and_parse_round_trip(self) -> None:
        statements = ["CREATE TABLE a (x INTEGER)", "CREATE INDEX ix ON a (x)"]
        assert parse(render("0042", statements)) == ("0042", statements)

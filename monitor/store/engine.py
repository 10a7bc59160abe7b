"""Build the async engine: driver options, and SQLite made safe for several writers."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.store.urls import sqlite_file

SQLITE_BUSY_TIMEOUT_MS = 5_000
POSTGRES_CONNECT_TIMEOUT_S = 10.0

# Execution option asking the SQLite begin hook for ``BEGIN IMMEDIATE`` (take the
# write lock up front), so two processes migrating one file wait instead of failing.
SQLITE_IMMEDIATE = "smokewatch_sqlite_immediate"


def create_engine(url: URL) -> AsyncEngine:
    """An engine for ``url`` (already normalised to an async driver).

    SQLite: the file's parent directory is created, and every connection uses WAL
    and a busy timeout.  PostgreSQL: a bounded connect timeout, and pooled connections
    are checked before use, so a database restart costs one failed ``ping`` at most.
    A SQLite file has no server to restart: no ping (it was 4 of the 19 driver calls,
    each a hop to aiosqlite's thread and back, of storing one result).
    """
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {}
    postgres = url.get_backend_name() == "postgresql"
    if postgres:
        connect_args["timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    engine = create_async_engine(url, pool_pre_ping=postgres, connect_args=connect_args)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", sqlite_on_begin)
    return engine


def sqlite_on_connect(dbapi_connection: Any, connection_record: object) -> None:
    # The sqlite3 module's own transaction handling skips BEGIN before DDL, which
    # makes migrations non-transactional; we emit BEGIN ourselves in sqlite_on_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode")
        (mode,) = cursor.fetchone()
        if str(mode).lower() != "wal":
            _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        # Switching modes needs an exclusive lock and SQLite does not wait for it:
        # another connection holds the file (and is switching it too).  WAL is a
        # property of the file, so whichever connection wins switches it for all.
        if "locked" not in str(exc):
            raise


def sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

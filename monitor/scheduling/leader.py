"""One scheduler per region: a lease that at most one replica of a region holds.

    lease = RegionLease(config.storage.url, "eu-west-1")
    if await lease.acquire():        # non-blocking: True if this replica now leads
        ...
        await lease.wait_lost(5.0)   # True as soon as the lease's connection is lost
        await lease.verify()         # False only once another replica holds the lease
    await lease.release()

A leader keeps leading through a store outage.  When the connection that holds the
lock dies (the database stopped, restarted or cannot be reached), :meth:`verify`
re-takes the lock on a new connection: still unreachable raises :class:`LeaseError`
and the replica goes on leading (``confirmed`` is ``False``); the lock taken again
confirms it; the lock held by another replica ends the lease.  The service calls
``verify`` every ``scheduler.lease_poll``, so when the store comes back and a standby
takes the lock first, the two replicas run the region's checks together for at most
one ``lease_poll``.  A leader cut off from the store while a standby can reach it
leads until it reaches the store again: runs are doubled for that long (results
are not: each replica's runs have their own run ids).

Where the lease lives follows the store:

- PostgreSQL: a session-level ``pg_try_advisory_lock`` on one dedicated connection,
  held for the lease's life.  The lock dies with the session, so a replica that is
  killed loses it at once and the database hands it to a standby.  A dead held
  connection wakes :meth:`wait_lost` at once, and ``verify`` tries to take it back.
- SQLite file: an exclusive ``flock`` on ``<db file>.lock`` (two processes, or two
  services in one process, on one file).  The kernel drops it when the process dies.
- SQLite in memory: nothing to share, this replica always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from monitor.errors import MonitorError
from monitor.store import database_url
from monitor.store.urls import safe_url, sqlite_file

LEASE_NAMESPACE = "smokewatch:scheduler:"
CONNECT_TIMEOUT_S = 10.0
VERIFY_TIMEOUT_S = 5.0


def lease_key(region: str) -> int:
    """A stable, non-negative 63-bit advisory-lock key for ``region`` (fits a PostgreSQL bigint)."""
    digest = hashlib.sha256((LEASE_NAMESPACE + region).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class LeaseError(MonitorError):
    """The lease could not be tried (the database is unreachable); try again later."""


class _Backend(Protocol):
    kind: str

    async def try_acquire(self) -> bool: ...

    async def verify(self) -> bool: ...

    async def reset(self) -> None: ...

    async def release(self) -> None: ...


class RegionLease:
    """The right to run a region's checks.  Not re-entrant; one instance per replica."""

    def __init__(self, storage_url: str, region: str) -> None:
        self.region = region
        self.lost = asyncio.Event()
        url = make_url(database_url(storage_url))
        self.held = False
        self.confirmed = False  # held on a live connection (False: store unreachable)
        self.retaken = 0  # times the held lease was taken again on a new session
        self._backend = _backend_for(url, region, self._connection_lost)

    @property
    def kind(self) -> str:
        """``postgres``, ``file`` or ``memory``."""
        return self._backend.kind

    async def acquire(self) -> bool:
        """Try once, without waiting; ``True`` if this replica holds the lease now.

        Raises :class:`LeaseError` when the database cannot be reached.
        """
        if not self.held:
            self.lost.clear()
            self.held = self.confirmed = await self._backend.try_acquire()
        return self.held

    async def verify(self) -> bool:
        """Whether this replica still leads; ``False`` only once another replica holds the lease.

        A held lease whose connection died is taken again on a new connection (counted in
        :attr:`retaken`, however the death was noticed: by asyncpg's termination listener
        or by this call's own query failing).  Raises
        :class:`LeaseError` when the database cannot be reached: the lease is then kept,
        unconfirmed, and tried again at the next call.
        """
        if not self.held:
            return False
        if not self.lost.is_set() and await self._backend.verify():
            self.confirmed = True
            return True
        self.lost.clear()  # woken once per lost connection, not in a loop
        self.confirmed = False
        await self._backend.reset()
        if not await self._backend.try_acquire():  # LeaseError: unreachable, keep leading
            self.held = False
            self.lost.set()
            return False
        self.confirmed = True
        self.retaken += 1
        return True

    async def wait_lost(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; ``True`` as soon as a held lease is known to be lost."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.lost.wait()
        return self.lost.is_set()

    async def release(self) -> None:
        """Give the lease up (a standby may take it at its next poll) and free its resources."""
        self.held = self.confirmed = False
        await self._backend.release()

    def _connection_lost(self) -> None:
        if self.held:
            self.lost.set()


def _backend_for(url: URL, region: str, on_lost: Callable[[], None]) -> _Backend:
    if url.get_backend_name() == "postgresql":
        return _PostgresLease(url, lease_key(region), on_lost)
    path = sqlite_file(url)
    if path is None:
        return _MemoryLease()
    return _FileLease(path.with_name(path.name + ".lock"))


class _MemoryLease:
    kind = "memory"

    async def try_acquire(self) -> bool:
        return True

    async def verify(self) -> bool:
        return True

    async def reset(self) -> None:
        return None

    async def release(self) -> None:
        return None


class _FileLease:
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    async def verify(self) -> bool:
        return self._fd is not None

    async def reset(self) -> None:
        return None  # the kernel holds the flock for as long as the descriptor is open

    async def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock


class _PostgresLease:
    kind = "postgres"

    def __init__(self, url: URL, key: int, on_lost: Callable[[], None]) -> None:
        self.url = url
        self.key = key
        self._on_lost = on_lost
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        try:
            conn = await self._connection()
            async with asyncio.timeout(VERIFY_TIMEOUT_S):
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            await self._drop()
            raise LeaseError(f"cannot try the scheduler lease on {safe_url(self.url)}") from exc
        return bool(got)

    async def verify(self) -> bool:
        if self._conn is None or self._conn.closed:
            return False
        try:
            async with asyncio.timeout(VERIFY_TIMEOUT_S):
                await self._conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            await self._drop()
            return False
        return True

    async def reset(self) -> None:
        await self._drop()  # the next try opens a new session

    async def release(self) -> None:
        await self._drop()

    async def _connection(self) -> AsyncConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        await self._drop()
        # One unpooled connection, in autocommit so no transaction stays open on it for
        # hours (an idle transaction would hold back vacuum).  The lock is the session's.
        self._engine = create_async_engine(
            self.url, poolclass=NullPool, connect_args={"timeout": CONNECT_TIMEOUT_S}
        )
        conn = await self._engine.connect()
        self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        raw = await self._conn.get_raw_connection()
        driver: Any = raw.driver_connection  # asyncpg's Connection: untyped
        # asyncpg calls this when the server ends the session or the socket drops:
        # the lease is gone at that moment, not at the next poll.
        driver.add_termination_listener(lambda _connection: self._on_lost())
        return self._conn

    async def _drop(self) -> None:
        conn, engine = self._conn, self._engine
        self._conn, self._engine = None, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                async with asyncio.timeout(VERIFY_TIMEOUT_S):
                    await conn.close()
        if engine is not None:
            await engine.dispose()

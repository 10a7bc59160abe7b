"""A SQLite file's hot reads and writes on threads of the store's own: one hop off the
event loop each.

Through aiosqlite every driver call is a hop to its thread and back (storing one result
took 15, reading a page of results 8), each waking the event loop.  Here the whole
transaction runs on a thread, through the standard ``sqlite3`` driver, and the loop is
woken once when it has ended.  Waiting for SQLite's write lock (the busy timeout) waits
on that thread too, never on the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection

from monitor.store.engine import SQLITE_IMMEDIATE, sqlite_on_begin, sqlite_on_connect

P = ParamSpec("P")
T = TypeVar("T")


class SqliteThreads:
    """Runs functions of a sync :class:`Connection` on ``workers`` threads.

    ``write``: each in a ``BEGIN IMMEDIATE`` transaction, committed when it returns;
    give one worker, and they run one at a time in the order asked.  Otherwise each
    reads in a transaction of its own, rolled back when it returns.

    A caller cancelled while its function runs does not stop it: the transaction
    commits or rolls back as it would have.  Writes through it are idempotent where
    that matters (a result is stored once per run).
    """

    def __init__(self, url: URL, *, write: bool, workers: int = 1) -> None:
        # The same file through the standard library's driver; a file database gets a
        # pool whose connections may be used from a thread other than their creator's.
        self._engine = create_engine(url.set(drivername="sqlite"), pool_pre_ping=False)
        event.listen(self._engine, "connect", sqlite_on_connect)
        event.listen(self._engine, "begin", sqlite_on_begin)
        self._write = write
        self._workers = workers
        self._threads: ThreadPoolExecutor | None = None  # started on first use

    async def run(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(connection, *args, **kwargs)`` in one transaction on a thread; its answer."""
        call = functools.partial(self._transaction, fn, *args, **kwargs)
        if self._threads is None:
            name = "smokewatch-sqlite-" + ("writer" if self._write else "reader")
            self._threads = ThreadPoolExecutor(self._workers, thread_name_prefix=name)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def _transaction(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self._engine.connect() as conn:
            if not self._write:
                return fn(conn, *args, **kwargs)
            conn.execution_options(**{SQLITE_IMMEDIATE: True})
            with conn.begin():
                return fn(conn, *args, **kwargs)

    async def close(self) -> None:
        """Close the pooled connections once every function asked for has ended.

        Like an engine's ``dispose``: a later :meth:`run` starts a thread afresh."""
        threads, self._threads = self._threads, None
        try:
            if threads is not None:
                await asyncio.to_thread(threads.shutdown, wait=True)
        finally:
            self._engine.dispose()

"""The result store: every completed check run, in SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, TypeVarTuple

from sqlalchemy import Select, func, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from monitor.store.engine import SQLITE_IMMEDIATE, create_engine
from monitor.store.errors import StoreError, StoreUnavailable, describe, is_unavailable
from monitor.store.incidents import list_incidents, open_incident, resolve_incident
from monitor.store.migrate import upgrade
from monitor.store.records import (
    IncidentRecord,
    Period,
    ResultRecord,
    StatsBucket,
    UptimeSummary,
)
from monitor.store.rollups import prune, record_rollups
from monitor.store.rows import dialect_insert, from_row, require_aware, to_row
from monitor.store.schema import latest_results, results
from monitor.store.sqlite_thread import SqliteThreads
from monitor.store.summaries import stats, uptime
from monitor.store.urls import database_url, safe_url, sqlite_file
from probes.base import Status

PING_TIMEOUT_S = 5.0
READER_THREADS = 2  # a SQLite file's reads at once, beside aiosqlite's for the others

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class ResultStore:
    """Persists :class:`ResultRecord` rows and reads them back.  Open with :meth:`open`.

    Reads go through their own engine (``reader``; an in-memory SQLite database has
    one engine, as a second would be another database): a writer waiting for SQLite's
    write lock holds a connection of the writing pool only, so the API's reads never
    queue behind a write burst for a pooled connection.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        url: URL,
        reader: AsyncEngine | None = None,
        threads: tuple[SqliteThreads, SqliteThreads] | None = None,
    ) -> None:
        self._engine = engine
        self._reader = engine if reader is None else reader
        # A SQLite file's (writer, readers): results stored and read in one hop each.
        self._threads = threads
        self._url = url
        self.newest_added_id = 0  # the largest id :meth:`add` has returned (readers' freshness)

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> ResultStore:
        """Connect to ``url`` (normalised by :func:`database_url`) and migrate to the newest schema.

        Raises ``ValueError`` for an unsupported URL and :class:`StoreUnavailable`
        when the database cannot be reached or migrated.
        """
        parsed = make_url(database_url(url))
        in_memory = parsed.get_backend_name() == "sqlite" and sqlite_file(parsed) is None
        try:
            engine = create_engine(parsed)
            reader = None if in_memory else create_engine(parsed)
            threads = None
            if sqlite_file(parsed) is not None:
                threads = (
                    SqliteThreads(parsed, write=True),
                    SqliteThreads(parsed, write=False, workers=READER_THREADS),
                )
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot open store {safe_url(parsed)}: {describe(exc, parsed)}"
            ) from exc
        store = cls(engine, parsed, reader, threads)
        if migrate:
            try:
                with store._translate("migrating", unavailable=True):
                    await upgrade(engine)
            except BaseException:
                await store.close()
                raise
        return store

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return safe_url(self._url)

    async def add(self, record: ResultRecord) -> int:
        """Store one result and update the rollups in one transaction; returns its id.

        Idempotent on ``(run_id, check, region)``: adding a result already stored (a
        spool replay after a write whose commit was not acknowledged) changes nothing
        and returns the stored row's id.  Ids grow with every insert.
        """
        (result_id,) = await self.add_many([record])
        return result_id

    async def add_many(self, records: Sequence[ResultRecord]) -> list[int]:
        """Store a burst of results, in order, and their rollups in one transaction.

        Returns their ids in the same order; all or none are stored.  Idempotent per
        result as :meth:`add` is: only the newly inserted ones are counted in the rollups.
        """
        for record in records:
            require_aware(record.started_at, "started_at")
        if not records:
            return []
        action = "storing a result" if len(records) == 1 else f"storing {len(records)} results"
        ids, inserted = await self._sync(action, _store_burst, records, write=True)
        if inserted:
            # After the commit: a reader rebuilding an answer before it would not see these
            # results yet and would cache that answer under their version.
            newest = max(result_id for result_id, _ in inserted)
            self.newest_added_id = max(self.newest_added_id, newest)
        return ids

    async def latest(self, *, region: str | None = None) -> list[ResultRecord]:
        """The newest result of each (check, region), ordered by check then region."""
        query = (
            select(results)
            .join(latest_results, results.c.id == latest_results.c.result_id)
            .order_by(results.c.check, results.c.region)
        )
        if region is not None:
            query = query.where(latest_results.c.region == region)
        return await self._sync("reading the latest results", _records, query)

    async def newest_result_id(self) -> int:
        """The id of the newest stored result (0 for none): one index lookup, so readers can
        tell cheaply whether anything was stored since they last looked."""
        return await self._sync("reading the newest result id", _newest_id)

    async def results(
        self,
        check: str,
        *,
        region: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
        statuses: Collection[Status] | None = None,
    ) -> list[ResultRecord]:
        """Results of one check, newest first.

        Keyset pagination: pass the smallest ``id`` of a page as ``before_id`` to
        get the next (older) page.  ``since`` keeps results started at or after it,
        ``statuses`` those of these statuses.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query = select(results).where(results.c.check == check)
        if statuses is not None:
            query = query.where(results.c.status.in_([Status(s).value for s in statuses]))
        if region is not None:
            query = query.where(results.c.region == region)
        if since is not None:
            require_aware(since, "since")
            query = query.where(results.c.started_at >= since)
        if before_id is not None:
            query = query.where(results.c.id < before_id)
        query = query.order_by(results.c.id.desc()).limit(limit)
        return await self._sync(f"reading results of {check!r}", _records, query)

    async def prune(self, older_than: datetime) -> int:
        """Delete results started before ``older_than``; returns how many went.

        Stats buckets wholly before ``older_than`` go too; a (check, region) left
        without results has no latest result.
        """
        require_aware(older_than, "older_than")
        async with self._connect("pruning results", write=True) as conn:
            return await prune(conn, older_than)

    async def stats(
        self,
        *,
        period: Period,
        since: datetime,
        check: str | None = None,
        region: str | None = None,
        checks: Collection[str] | None = None,
    ) -> list[StatsBucket]:
        """Hourly or daily buckets from the one ``since`` falls in on, ordered by (check, start).

        Regions are summed unless ``region`` is given; ``checks`` (at most 1,000) keeps
        only those checks' buckets.
        """
        require_aware(since, "since")
        async with self._connect(f"reading {period} stats") as conn:
            return await stats(
                conn, period=period, since=since, check=check, region=region, checks=checks
            )

    async def uptime(
        self, check: str, *, since: datetime, region: str | None = None
    ) -> UptimeSummary:
        """Uptime, mean, p50/p95/p99 (nearest-rank) and max of results started since ``since``."""
        require_aware(since, "since")
        async with self._connect(f"summarising {check!r}") as conn:
            return await uptime(conn, check, since=since, region=region)

    async def open_incident(
        self, check: str, region: str, *, started_at: datetime, message: str
    ) -> int:
        """Open an incident for (check, region); idempotent: returns the open one's id if any."""
        require_aware(started_at, "started_at")
        async with self._connect(f"opening an incident for {check!r}", write=True) as conn:
            return await open_incident(conn, check, region, started_at=started_at, message=message)

    async def resolve_incident(self, check: str, region: str, *, resolved_at: datetime) -> bool:
        """Resolve the open incident of (check, region); ``False`` if none was open."""
        require_aware(resolved_at, "resolved_at")
        async with self._connect(f"resolving an incident of {check!r}", write=True) as conn:
            return await resolve_incident(conn, check, region, resolved_at=resolved_at)

    async def incidents(
        self,
        *,
        since: datetime | None = None,
        check: str | None = None,
        open_only: bool = False,
        limit: int = 50,
    ) -> list[IncidentRecord]:
        """Incidents newest first; ``since`` keeps those open or resolved at or after it."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if since is not None:
            require_aware(since, "since")
        async with self._connect("reading incidents") as conn:
            return await list_incidents(
                conn, since=since, check=check, open_only=open_only, limit=limit
            )

    async def ping(self, *, timeout_s: float = PING_TIMEOUT_S) -> None:
        """Check the database answers ``SELECT 1``; raises :class:`StoreUnavailable` if not."""
        with self._translate("pinging", unavailable=True):
            async with asyncio.timeout(timeout_s), self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection.  The store cannot be used afterwards."""
        for threads in self._threads or ():
            await threads.close()
        await self._engine.dispose()
        if self._reader is not self._engine:
            await self._reader.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def connection(
        self, action: str, *, write: bool = False
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for companion stores (``AlertStore``): in one transaction when
        ``write`` (SQLite: ``BEGIN IMMEDIATE``); errors become store errors naming ``action``."""
        return self._connect(action, write=write)

    @asynccontextmanager
    async def _connect(self, action: str, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        with self._translate(action):
            if write:
                async with self._engine.connect() as conn:
                    # SQLite: take the write lock up front (BEGIN IMMEDIATE), so a second
                    # writer waits out the busy timeout instead of failing with "database
                    # is locked" when its transaction would upgrade from reading to writing.
                    await conn.execution_options(**{SQLITE_IMMEDIATE: True})
                    async with conn.begin():
                        yield conn
            else:
                async with self._reader.connect() as conn:
                    yield conn

    async def _sync(
        self,
        action: str,
        fn: Callable[[Connection, *_Ts], _T],
        *args: *_Ts,
        write: bool = False,
    ) -> _T:
        """``fn(connection, *args)``, in one write transaction when ``write``: for a SQLite
        file on the store's writer or a reader thread (one hop off the loop), otherwise
        on a connection of the writing or the reading pool."""
        if self._threads is not None:
            writer, readers = self._threads
            with self._translate(action):
                return await (writer if write else readers).run(fn, *args)
        async with self._connect(action, write=write) as conn:
            return await conn.run_sync(fn, *args)

    @contextmanager
    def _translate(self, action: str, *, unavailable: bool = False) -> Iterator[None]:
        """Turn driver and SQLAlchemy errors into store errors, password hidden."""
        try:
            yield
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            message = f"{action} failed on {self.url}: {describe(exc, self._url)}"
            if unavailable or is_unavailable(exc):
                raise StoreUnavailable(message) from exc
            raise StoreError(message) from exc


def _records(conn: Connection, query: Select[Any]) -> list[ResultRecord]:
    return [from_row(row) for row in conn.execute(query).mappings()]


def _newest_id(conn: Connection) -> int:
    return int(conn.scalar(select(func.max(results.c.id))) or 0)


def _key(record: ResultRecord) -> tuple[str, str, str]:
    return (record.run_id, record.check, record.region)


def _store_burst(
    conn: Connection, records: Sequence[ResultRecord]
) -> tuple[list[int], list[tuple[int, ResultRecord]]]:
    """Store ``records`` and count the new ones in the rollups, in the caller's transaction:
    every result's id, in order, and the (id, result) pairs that were inserted."""
    new_ids = _insert_all(conn, records)
    ids: list[int] = []
    inserted: list[tuple[int, ResultRecord]] = []
    for record in records:
        result_id = new_ids.pop(_key(record), None)
        if result_id is None:
            result_id = _existing(conn, record)
        else:
            inserted.append((result_id, record))
        ids.append(result_id)
    record_rollups(conn, inserted)
    return ids, inserted


def _insert_all(
    conn: Connection, records: Sequence[ResultRecord]
) -> dict[tuple[str, str, str], int]:
    """Insert the results not stored yet, in order, in one statement per page of rows
    (SQLAlchemy's "insertmanyvalues"): the new ids by ``(run_id, check, region)``.

    A result whose run is already stored is skipped (``ON CONFLICT DO NOTHING``) and
    missing from the answer, as is the second of two equal keys in one burst.
    """
    statement = _insert_results(conn.dialect.name)
    rows = conn.execute(statement, [to_row(record) for record in records])
    return {(run_id, check, region): int(id_) for id_, run_id, check, region in rows}


@functools.cache
def _insert_results(dialect: str) -> Executable:
    """The results' insert of :func:`_insert_all`, built once per dialect (~0.2 ms)."""
    return (
        dialect_insert(dialect, results)
        .on_conflict_do_nothing(index_elements=["run_id", "check", "region"])
        .returning(results.c.id, results.c.run_id, results.c.check, results.c.region)
    )


def _existing(conn: Connection, record: ResultRecord) -> int:
    existing = conn.scalar(
        select(results.c.id).where(
            results.c.run_id == record.run_id,
            results.c.check == record.check,
            results.c.region == record.region,
        )
    )
    if existing is None:
        raise StoreError(f"storing the result of {record.check!r} returned no id")
    return int(existing)

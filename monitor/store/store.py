"""The result store: every completed check run, in SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import RowMapping, delete, func, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.engine import create_engine
from monitor.store.errors import StoreError, StoreUnavailable
from monitor.store.migrate import upgrade
from monitor.store.records import ResultRecord
from monitor.store.schema import results
from monitor.store.urls import database_url, safe_url
from probes.base import Status

PING_TIMEOUT_S = 5.0

# Errors that mean "cannot reach the database", as opposed to "the database said no".
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, OSError, TimeoutError)


class ResultStore:
    """Persists :class:`ResultRecord` rows and reads them back.  Open with :meth:`open`."""

    def __init__(self, engine: AsyncEngine, url: URL) -> None:
        self._engine = engine
        self._url = url

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> ResultStore:
        """Connect to ``url`` (normalised by :func:`database_url`) and migrate to the newest schema.

        Raises ``ValueError`` for an unsupported URL and :class:`StoreUnavailable`
        when the database cannot be reached or migrated.
        """
        parsed = make_url(database_url(url))
        try:
            engine = create_engine(parsed)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot open store {safe_url(parsed)}: {_describe(exc, parsed)}"
            ) from exc
        store = cls(engine, parsed)
        if migrate:
            try:
                with store._translate("migrating", unavailable=True):
                    await upgrade(engine)
            except BaseException:
                await engine.dispose()
                raise
        return store

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return safe_url(self._url)

    async def add(self, record: ResultRecord) -> int:
        """Store one result; returns its id.  Ids grow with every insert."""
        _require_aware(record.started_at, "started_at")
        values = _to_row(record)
        async with self._connect("storing a result", write=True) as conn:
            outcome = await conn.execute(insert(results).values(**values))
            key = outcome.inserted_primary_key
        if key is None:
            raise StoreError(f"storing a result in {self.url} returned no id")
        return int(key[0])

    async def latest(self, *, region: str | None = None) -> list[ResultRecord]:
        """The newest result of each (check, region), ordered by check then region."""
        newest = select(func.max(results.c.id).label("id")).group_by(
            results.c.check, results.c.region
        )
        if region is not None:
            newest = newest.where(results.c.region == region)
        subquery = newest.subquery()
        query = (
            select(results)
            .join(subquery, results.c.id == subquery.c.id)
            .order_by(results.c.check, results.c.region)
        )
        async with self._connect("reading the latest results") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_from_row(row) for row in rows]

    async def results(
        self,
        check: str,
        *,
        region: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[ResultRecord]:
        """Results of one check, newest first.

        Keyset pagination: pass the smallest ``id`` of a page as ``before_id`` to
        get the next (older) page.  ``since`` keeps results started at or after it.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query = select(results).where(results.c.check == check)
        if region is not None:
            query = query.where(results.c.region == region)
        if since is not None:
            _require_aware(since, "since")
            query = query.where(results.c.started_at >= since)
        if before_id is not None:
            query = query.where(results.c.id < before_id)
        query = query.order_by(results.c.id.desc()).limit(limit)
        async with self._connect(f"reading results of {check!r}") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_from_row(row) for row in rows]

    async def prune(self, older_than: datetime) -> int:
        """Delete results started before ``older_than``; returns how many went."""
        _require_aware(older_than, "older_than")
        async with self._connect("pruning results", write=True) as conn:
            outcome = await conn.execute(delete(results).where(results.c.started_at < older_than))
        return outcome.rowcount

    async def ping(self, *, timeout_s: float = PING_TIMEOUT_S) -> None:
        """Check the database answers ``SELECT 1``; raises :class:`StoreUnavailable` if not."""
        with self._translate("pinging", unavailable=True):
            async with asyncio.timeout(timeout_s), self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection.  The store cannot be used afterwards."""
        await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _connect(self, action: str, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        with self._translate(action):
            if write:
                async with self._engine.begin() as conn:
                    yield conn
            else:
                async with self._engine.connect() as conn:
                    yield conn

    @contextmanager
    def _translate(self, action: str, *, unavailable: bool = False) -> Iterator[None]:
        """Turn driver and SQLAlchemy errors into store errors, password hidden."""
        try:
            yield
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            message = f"{action} failed on {self.url}: {_describe(exc, self._url)}"
            if unavailable or _is_unavailable(exc):
                raise StoreUnavailable(message) from exc
            raise StoreError(message) from exc


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNAVAILABLE)


def _describe(exc: BaseException, url: URL) -> str:
    """One line about ``exc``: SQLAlchemy appends the SQL and its parameters on later lines."""
    lines = str(exc).strip().splitlines()
    summary = lines[0] if lines else type(exc).__name__
    if url.password:
        summary = summary.replace(str(url.password), "***")
    return summary


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a tz-aware datetime, got {value.isoformat()}")


def _to_row(record: ResultRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "check": record.check,
        "kind": record.kind,
        "region": record.region,
        "started_at": record.started_at,
        "duration_ms": record.duration_ms,
        "status": Status(record.status).value,
        "attempts": record.attempts,
        "message": record.message,
        "timings": record.timings,
        "assertions": record.assertions,
        "details": record.details,
        "artifacts": record.artifacts,
    }


def _from_row(row: RowMapping) -> ResultRecord:
    return ResultRecord(
        id=row["id"],
        run_id=row["run_id"],
        check=row["check"],
        kind=row["kind"],
        region=row["region"],
        started_at=row["started_at"],
        duration_ms=row["duration_ms"],
        status=Status(row["status"]),
        attempts=row["attempts"],
        message=row["message"],
        timings=row["timings"],
        assertions=row["assertions"],
        details=row["details"],
        artifacts=row["artifacts"],
    )

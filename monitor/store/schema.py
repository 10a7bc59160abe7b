"""The tables as the running code sees them.  Migrations own the DDL (``migrations/versions``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware timestamp stored as UTC, read back as tz-aware UTC on every backend.

    SQLite keeps no offset, so we normalise to UTC going in and attach UTC coming
    out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass a tz-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


results = Table(
    "results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("check", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("message", Text(), nullable=False),
    Column("timings", JSON(), nullable=False),
    Column("assertions", JSON(), nullable=False),
    Column("details", JSON(), nullable=False),
    Column("artifacts", JSON(), nullable=False),
    # Ids only grow, even after prune empties the table: keyset cursors and
    # "latest = max(id)" rely on it.
    sqlite_autoincrement=True,
)

# The latest-per-(check, region) query groups by (check, region) and takes max(id):
# SQLite indexes carry the rowid, PostgreSQL needs INCLUDE (id) for an index-only scan.
Index(
    "ix_results_check_region_started_at",
    results.c.check,
    results.c.region,
    results.c.started_at,
    postgresql_include=["id"],
)
Index("ix_results_started_at", results.c.started_at)

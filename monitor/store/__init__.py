"""The result store: every completed check run, in SQLite (default) or a shared PostgreSQL.

    store = await ResultStore.open(database_url("smokewatch.db"))
    record_id = await store.add(record)
    await store.latest(region="eu")
    await store.close()

The schema is owned by alembic migrations in ``migrations/``, applied on open.
"""

from __future__ import annotations

from monitor.store.errors import StoreError, StoreUnavailable
from monitor.store.records import ResultRecord
from monitor.store.store import ResultStore
from monitor.store.urls import database_url

__all__ = ["ResultRecord", "ResultStore", "StoreError", "StoreUnavailable", "database_url"]

"""The result store: every completed check run, in SQLite (default) or a shared PostgreSQL.

    store = await ResultStore.open(database_url("smokewatch.db"))
    record_id = await store.add(record)
    await store.latest(region="eu")
    await store.stats(period="day", since=ninety_days_ago)
    await store.uptime("homepage", since=a_week_ago)
    await store.close()

``AlertStore(store)`` reads and writes alerting's tables (states, outbox, silences).
The schema is owned by alembic migrations in ``migrations/``, applied on open.
"""

from __future__ import annotations

from monitor.store.alerts import (
    AlertStateRecord,
    AlertStore,
    OutboxRecord,
    SilenceRecord,
)
from monitor.store.errors import StoreError, StoreUnavailable
from monitor.store.records import (
    IncidentRecord,
    Period,
    ResultRecord,
    StatsBucket,
    UptimeSummary,
)
from monitor.store.store import ResultStore
from monitor.store.urls import database_url

__all__ = [
    "AlertStateRecord",
    "AlertStore",
    "IncidentRecord",
    "OutboxRecord",
    "Period",
    "ResultRecord",
    "ResultStore",
    "SilenceRecord",
    "StatsBucket",
    "StoreError",
    "StoreUnavailable",
    "UptimeSummary",
    "database_url",
]

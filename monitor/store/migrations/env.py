"""Alembic environment: run by ``monitor.store.migrate`` on a connection it hands in.

Online mode needs ``config.attributes["connection"]`` (a sync ``Connection`` from
``AsyncConnection.run_sync``) and runs inside that connection's transaction.
Offline mode (``alembic upgrade --sql``) renders SQL for ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from monitor.store.schema import metadata


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; autogenerate batch operations for it.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run migrations through monitor.store.migrate.upgrade(), which hands in a connection"
        )
    run_online(connection)

"""``store_url`` and ``store``: one per backend, a SQLite file and the real PostgreSQL.

Used by the store and alerting tests; the PostgreSQL side comes from ``tests.support.postgres``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from monitor.store import ResultStore
from monitor.store.migrate import alembic_config

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[ResultStore]:
    """An open, migrated store on each backend."""
    opened = await ResultStore.open(store_url)
    try:
        yield opened
    finally:
        await opened.close()


def head_revision() -> str:
    """The newest migration's revision (what a freshly opened store must be at)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def previous_revision() -> str:
    """The revision just before the newest (a store an older smokewatch left behind)."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision())
    assert script is not None
    assert isinstance(script.down_revision, str)
    return script.down_revision

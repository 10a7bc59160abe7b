"""Database URLs: normalise what users write to the async drivers we ship."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import URL

from monitor.dburl import POSTGRES, SQLITE, database_url, sqlite_database

if TYPE_CHECKING:
    from pathlib import Path

# database_url lives with the standard-library reading of URLs; here for its callers.
__all__ = ["POSTGRES", "SQLITE", "database_url", "safe_url", "sqlite_file"]


def safe_url(url: URL) -> str:
    """The URL as it may appear in logs and errors: password hidden."""
    return url.render_as_string(hide_password=True)


def sqlite_file(url: URL) -> Path | None:
    """The SQLite database file a URL names, or ``None`` (in-memory, or not SQLite)."""
    if url.get_backend_name() != "sqlite":
        return None
    return sqlite_database(url.database or "")

"""Database URLs as text, with the standard library only: what ``validate`` checks offline.

``database_url`` normalises what users write to the async drivers we ship;
``sqlite_path`` names the file a SQLite URL points to.  SQLAlchemy (which takes a
third of a second to import) parses the same URLs when a store opens
(:mod:`monitor.store.urls`); a test holds the two readings together.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

SQLITE = "sqlite+aiosqlite"
POSTGRES = "postgresql+asyncpg"

# What users write -> the async driver URL scheme.  The normalised forms map to
# themselves, so normalising twice is harmless.
_SCHEMES = {
    "sqlite": SQLITE,
    SQLITE: SQLITE,
    "postgresql": POSTGRES,
    "postgres": POSTGRES,  # Heroku-style
    POSTGRES: POSTGRES,
}


def database_url(raw: str) -> str:
    """Normalise a configured database URL, or a bare SQLite file path, to an async driver URL.

    ``sqlite:///x.db`` and ``x.db`` become ``sqlite+aiosqlite:///x.db``;
    ``postgresql://`` and ``postgres://`` become ``postgresql+asyncpg://``.
    Any other scheme is a ``ValueError`` naming the scheme (never the whole URL,
    which may carry a password).
    """
    text = raw.strip()
    if not text:
        raise ValueError("database URL is empty")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return f"{SQLITE}:///{text}"
    driver = _SCHEMES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH, a file path, "
            "or postgresql://USER:PASSWORD@HOST:PORT/DB"
        )
    return f"{driver}://{rest}"


def sqlite_path(url: str) -> Path | None:
    """The SQLite file a normalised URL names, or ``None`` (in-memory, or not SQLite).

    ``ValueError`` when the URL's port is not a number.
    """
    parts = urlsplit(url)
    _ = parts.port  # a port that is not a number raises here
    if not parts.scheme.startswith("sqlite"):
        return None
    return sqlite_database(unquote(parts.path.removeprefix("/")))


def sqlite_database(database: str) -> Path | None:
    """The file of a SQLite URL's database part, or ``None`` for an in-memory database."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)

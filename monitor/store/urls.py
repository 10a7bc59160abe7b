"""Database URLs: normalise what users write to the async drivers we ship."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

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


def safe_url(url: URL) -> str:
    """The URL as it may appear in logs and errors: password hidden."""
    return url.render_as_string(hide_password=True)


def sqlite_file(url: URL) -> Path | None:
    """The SQLite database file a URL names, or ``None`` (in-memory, or not SQLite)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)

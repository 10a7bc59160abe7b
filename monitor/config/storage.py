"""Is ``storage.url`` usable?  Offline: its scheme and, for SQLite, its path.  Online: reach it.

    storage_problem("mysql://db/x")            # -> "unsupported database URL scheme 'mysql': ..."
    storage_problem("sqlite:////etc/hostname/x.db")  # -> "cannot create ...: not a directory"
    await reach_store("postgresql://u:p@db:5432/x", timeout_s=5)  # -> None, or one line why not

``validate`` runs the offline check; ``validate --online`` and ``serve`` (before binding
its port or starting anything) also reach the store, read-only.  Messages never carry
the password.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.dburl import database_url, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

REACH_TIMEOUT_S = 10.0


def storage_problem(raw: str) -> str | None:
    """What is wrong with ``raw`` as a store URL without connecting, or ``None``.

    The standard library reads the URL here (``validate`` stays fast); SQLAlchemy reads
    it the same way when the store opens.
    """
    try:
        url = database_url(raw)
        path = sqlite_path(url)
    except ValueError as exc:
        if "scheme" in str(exc) or "empty" in str(exc):
            return str(exc)
        return "the port of the database URL is not a number"
    if path is not None:
        return _sqlite_problem(path)
    return None


async def reach_store(raw: str, *, timeout_s: float = REACH_TIMEOUT_S) -> str | None:
    """Connect to the store read-only (SQLite: prove the file can be written); why not, or None."""
    problem = storage_problem(raw)
    if problem is not None:
        return problem
    # SQLAlchemy and the store load only to connect (validate --online, serve).
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    from monitor.store.urls import sqlite_file  # noqa: PLC0415

    try:
        url = make_url(database_url(raw))
    except ArgumentError:
        return (
            "not a database URL: use sqlite:///PATH, a file path, "
            "or postgresql://USER:PASSWORD@HOST:PORT/DB"
        )
    path = sqlite_file(url)
    if path is not None:
        return _sqlite_write_problem(path)
    if url.get_backend_name() != "postgresql":
        return None  # in-memory SQLite: nothing to reach
    return await _postgres_problem(url, timeout_s)


async def _postgres_problem(url: URL, timeout_s: float) -> str | None:
    import asyncio  # noqa: PLC0415 -- 20 ms that only an online check pays

    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from monitor.store.engine import create_engine  # noqa: PLC0415
    from monitor.store.errors import describe  # noqa: PLC0415
    from monitor.store.urls import safe_url  # noqa: PLC0415

    engine = create_engine(url)
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return f"cannot reach the store at {safe_url(url)}: no answer within {timeout_s:g}s"
    except (SQLAlchemyError, OSError) as exc:
        return f"cannot reach the store at {safe_url(url)}: {describe(exc, url)}"
    finally:
        await engine.dispose()
    return None


def _sqlite_problem(path: Path) -> str | None:
    path = path.absolute()
    if path.exists():
        if path.is_dir():
            return f"SQLite path {path} is a directory, not a file"
        if not os.access(path, os.R_OK | os.W_OK):
            return f"SQLite file {path} is not writable"
        return _dir_problem(path, path.parent)
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    return _dir_problem(path, ancestor)


def _dir_problem(path: Path, directory: Path) -> str | None:
    if not directory.is_dir():
        return f"cannot create SQLite file {path}: {directory} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"cannot create SQLite file {path}: directory {directory} is not writable"
    return None


def _sqlite_write_problem(path: Path) -> str | None:
    """Prove writability by doing it: root passes every permission check, not a read-only mount."""
    path = path.absolute()
    try:
        if path.exists():
            with path.open("r+b"):
                pass
        else:
            directory = path.parent
            while not directory.exists():
                directory = directory.parent
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".smokewatch-probe-"):
                pass
    except OSError as exc:
        return f"cannot write SQLite file {path}: {exc.strerror}"
    return None

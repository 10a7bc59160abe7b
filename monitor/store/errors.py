"""The result store's errors.

    SmokewatchError          (monitor.errors)
    └── StoreError           an operation failed (a bad query, a constraint, a missing table)
        └── StoreUnavailable the database cannot be reached or opened (down, refused, locked)

SQLAlchemy and driver exceptions are translated where they leave the store
(``raise StoreUnavailable(...) from exc``); callers only catch these.  Messages
name the database with its password hidden.
"""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from monitor.errors import SmokewatchError

# Errors that mean "cannot reach the database", as opposed to "the database said no".
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, OSError, TimeoutError)
# PostgreSQL's SQLSTATEs for a server that is there but not taking work for now: asyncpg's
# errors for them reach SQLAlchemy as a plain ``DBAPIError``.  Class 08 is a connection
# exception; 57P01-57P03 are an administrator's or a crash's shutdown and "the database
# system is starting up" (or shutting down), which every restart answers for a moment; 53300
# is too many connections.  Each passes by itself, so a write is tried again or spooled.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08",)
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


class StoreError(SmokewatchError):
    """An operation on the result store failed."""


class StoreUnavailable(StoreError):  # noqa: N818 -- the name the rest of smokewatch uses
    """The result store's database cannot be reached: ``/ready`` reports not ready."""


def is_unavailable(exc: BaseException) -> bool:
    """Does ``exc`` mean the database cannot be reached (rather than that it refused)?"""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None)
        if isinstance(state, str) and (
            state in _UNAVAILABLE_SQLSTATES or state.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
        ):
            return True
    return isinstance(exc, _UNAVAILABLE)


def describe(exc: BaseException, url: URL) -> str:
    """One line about ``exc``: SQLAlchemy appends the SQL and its parameters on later lines."""
    lines = str(exc).strip().splitlines()
    summary = lines[0] if lines else type(exc).__name__
    if url.password:
        summary = summary.replace(str(url.password), "***")
    return summary

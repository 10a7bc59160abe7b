"""The result store's errors.

    SmokewatchError          (monitor.errors)
    └── StoreError           an operation failed (a bad query, a constraint, a missing table)
        └── StoreUnavailable the database cannot be reached or opened (down, refused, locked)

SQLAlchemy and driver exceptions are translated where they leave the store
(``raise StoreUnavailable(...) from exc``); callers only catch these.  Messages
name the database with its password hidden.
"""

from __future__ import annotations

from monitor.errors import SmokewatchError


class StoreError(SmokewatchError):
    """An operation on the result store failed."""


class StoreUnavailable(StoreError):  # noqa: N818 -- the name the rest of smokewatch uses
    """The result store's database cannot be reached: ``/ready`` reports not ready."""

"""The newest stored result's id, as the answer cache's version: cheap enough per request.

Results this process stores are seen at once (``ResultStore.newest_added_id``, no I/O).
Results other processes store (other regions, a standby's reader, ``run --once`` into
the same database) are seen by asking the store for its newest id at most once per
:data:`POLL_S`; concurrent requests share one lookup.  So an answer is never older than
a result stored here, and at most ``POLL_S`` older than one stored elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from monitor.store import ResultStore, StoreError

POLL_S = 0.5


class NewestResult:
    """Tracks the newest result id of a store (one per app, never global)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen = 0
        self._asked_at: float | None = None
        self._asking: asyncio.Task[int] | None = None

    async def id(self, store: ResultStore) -> int:
        """The newest id known, asking ``store`` if the last answer is older than POLL_S.

        A store that cannot answer leaves the last known id (its readers will fail or
        serve what they have)."""
        now = self._clock()
        due = self._asked_at is None or now - self._asked_at >= POLL_S
        if due and (self._asking is None or self._asking.done()):
            self._asked_at = now
            self._asking = asyncio.create_task(store.newest_result_id())
        if self._asking is not None and (due or not self._asking.done()):
            try:
                # shield: a requester that goes away must not cancel the others' lookup.
                self._seen = max(self._seen, await asyncio.shield(self._asking))
            except StoreError:
                self._asked_at = None  # ask again on the next request
        return max(self._seen, store.newest_added_id)

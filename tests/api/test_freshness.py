"""Specifications of the answer cache's version: the newest stored result's id, cheaply.

Real stores (SQLite and the session's PostgreSQL); two store objects on one database
stand for this process and another region writing to it.
"""

from __future__ import annotations

import asyncio

from monitor.api.freshness import POLL_S, NewestResult
from monitor.store import ResultStore
from tests.api.conftest import result


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Counting(ResultStore):
    """Counts how often the newest id is looked up."""

    lookups = 0

    async def newest_result_id(self) -> int:
        self.lookups += 1
        return await super().newest_result_id()


async def test_own_writes_at_once_others_within_the_poll(store: ResultStore) -> None:
    """A result this process stores is seen at once; one stored by another process on the
    same database once POLL_S has passed, not before (no lookup per request)."""
    clock = Clock()
    here = Counting(store._engine, store._url)  # the same database, another store object
    newest = NewestResult(clock)
    assert await newest.id(here) == 0
    mine = await here.add(result())
    assert await newest.id(here) == mine  # no lookup needed
    theirs = await store.add(result())
    assert await newest.id(here) == mine  # within POLL_S: not asked again
    clock.now += POLL_S
    assert await newest.id(here) == theirs
    assert here.lookups == 2


async def test_concurrent_requests_share_one_lookup(store: ResultStore) -> None:
    """Fifty requests at once ask the store once, and all wait for its answer."""
    here = Counting(store._engine, store._url)
    await store.add(result())
    newest = NewestResult(Clock())
    seen = await asyncio.gather(*(newest.id(here) for _ in range(50)))
    assert seen == [1] * 50
    assert here.lookups == 1

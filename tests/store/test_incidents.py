"""Incidents: one open per (check, region), opened by a fail, resolved by a pass or degraded."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from monitor.store import IncidentRecord, ResultStore
from tests.store.factory import T0


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class TestOpenAndResolve:
    async def test_open_is_idempotent(self, store: ResultStore) -> None:
        """Opening again while one is open returns its id and leaves it as it was."""
        first = await store.open_incident("api", "eu", started_at=at(0), message="down")
        again = await store.open_incident("api", "eu", started_at=at(5), message="still down")
        assert again == first
        assert await store.incidents() == [IncidentRecord(first, "api", "eu", at(0), None, "down")]

    async def test_resolve_then_reopen(self, store: ResultStore) -> None:
        """Resolving closes the open incident once; a later open starts a new one."""
        first = await store.open_incident("api", "eu", started_at=at(0), message="down")
        assert await store.resolve_incident("api", "eu", resolved_at=at(10)) is True
        assert await store.resolve_incident("api", "eu", resolved_at=at(20)) is False
        second = await store.open_incident("api", "eu", started_at=at(30), message="again")
        newer, older = await store.incidents()
        assert (newer.id, newer.open) == (second, True)
        assert (older.id, older.resolved_at, older.open) == (first, at(10), False)

    async def test_regions_are_separate(self, store: ResultStore) -> None:
        """Each (check, region) has its own incident; resolving one leaves the other open."""
        eu = await store.open_incident("api", "eu", started_at=at(0), message="eu down")
        us = await store.open_incident("api", "us", started_at=at(1), message="us down")
        await store.resolve_incident("api", "eu", resolved_at=at(5))
        assert eu != us
        assert [i.id for i in await store.incidents(open_only=True)] == [us]

    async def test_concurrent_opens_share_one(self, store_url: str) -> None:
        """Instances opening the same incident at once all get the one open incident's id."""
        async with (
            await ResultStore.open(store_url) as one,
            await ResultStore.open(store_url) as two,
        ):
            ids = await asyncio.gather(
                *(
                    s.open_incident("api", "eu", started_at=at(i), message=f"down {i}")
                    for i in range(4)
                    for s in (one, two)
                )
            )
            assert len(await one.incidents()) == 1
        assert len(set(ids)) == 1

    async def test_resolve_without_incident(self, store: ResultStore) -> None:
        """Resolving when nothing is open does nothing and says so."""
        assert await store.resolve_incident("api", "eu", resolved_at=at(0)) is False
        assert await store.incidents() == []


class TestListing:
    @pytest.fixture
    async def history(self, store: ResultStore) -> ResultStore:
        """api/eu resolved long ago, home/eu resolved recently, api/us open."""
        await store.open_incident("api", "eu", started_at=at(-3000), message="old")
        await store.resolve_incident("api", "eu", resolved_at=at(-2900))
        await store.open_incident("home", "eu", started_at=at(-100), message="recent")
        await store.resolve_incident("home", "eu", resolved_at=at(-50))
        await store.open_incident("api", "us", started_at=at(-10), message="ongoing")
        return store

    @pytest.mark.parametrize(
        ("kwargs", "messages"),
        [
            ({}, ["ongoing", "recent", "old"]),
            ({"since": at(-60)}, ["ongoing", "recent"]),
            ({"since": at(0)}, ["ongoing"]),
            ({"check": "api"}, ["ongoing", "old"]),
            ({"open_only": True}, ["ongoing"]),
            ({"limit": 2}, ["ongoing", "recent"]),
        ],
        ids=["all", "since-keeps-overlapping", "since-keeps-open", "check", "open-only", "limit"],
    )
    async def test_filters(
        self, history: ResultStore, kwargs: dict[str, Any], messages: list[str]
    ) -> None:
        """Newest first; since keeps incidents open or resolved at or after it."""
        got = await history.incidents(**kwargs)
        assert [i.message for i in got] == messages

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [({"limit": 0}, "limit"), ({"since": datetime(2025, 1, 1)}, "since")],
        ids=["zero-limit", "naive-since"],
    )
    async def test_bad_arguments(
        self, store: ResultStore, kwargs: dict[str, Any], match: str
    ) -> None:
        """A zero limit or a naive since is refused with the argument named."""
        with pytest.raises(ValueError, match=match):
            await store.incidents(**kwargs)

    async def test_naive_times_refused(self, store: ResultStore) -> None:
        """Opening or resolving with a naive time is refused."""
        naive = datetime(2025, 3, 1, 12, 0)
        with pytest.raises(ValueError, match="started_at"):
            await store.open_incident("api", "eu", started_at=naive, message="x")
        with pytest.raises(ValueError, match="resolved_at"):
            await store.resolve_incident("api", "eu", resolved_at=naive)

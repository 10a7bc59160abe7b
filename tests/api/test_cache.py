"""Specifications of the answer cache behind the status answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from monitor.api.cache import REBUILD_FACTOR, SLOW_ANSWER_S, AnswerCache
from probes.base import Status
from tests.api.conftest import StartApi, result, seed


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Counts computations; each answer is the count so far."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return str(self.calls).encode()


class CostlySource(Source):
    """Each answer takes ``cost`` seconds of ``clock`` to make (a status of thousands of
    checks)."""

    def __init__(self, clock: Clock, cost: float) -> None:
        super().__init__()
        self.clock, self.cost = clock, cost

    async def __call__(self) -> bytes:
        self.clock.now += self.cost
        return await super().__call__()


class TestAnswerCache:
    async def test_fresh_answers_are_reused(self) -> None:
        """Within the ttl the first answer is served without computing again."""
        clock, source = Clock(), Source()
        cache = AnswerCache(clock)
        answers = [await cache.get("k", 2.0, source) for _ in range(3)]
        assert (answers, source.calls) == ([b"1"] * 3, 1)

    async def test_concurrent_misses_share_one_computation(self) -> None:
        """Fifty requests arriving together on an empty cache cause one computation."""
        source = Source(delay=0.01)
        cache = AnswerCache(Clock())
        answers = await asyncio.gather(*(cache.get("k", 2.0, source) for _ in range(50)))
        assert (set(answers), source.calls) == ({b"1"}, 1)

    async def test_a_recently_expired_answer_is_served_while_refreshing(self) -> None:
        """Just after expiry the old answer comes back at once while a new one is computed."""
        clock, source = Clock(), Source()
        cache = AnswerCache(clock)
        await cache.get("k", 2.0, source)
        clock.now += 3.0  # expired, but less than another ttl ago
        assert await cache.get("k", 2.0, source) == b"1"
        await asyncio.sleep(0.01)  # let the refresh finish
        assert await cache.get("k", 2.0, source) == b"2"

    async def test_a_long_expired_answer_is_recomputed_first(self) -> None:
        """Well past expiry the caller waits for a fresh answer."""
        clock, source = Clock(), Source()
        cache = AnswerCache(clock)
        await cache.get("k", 2.0, source)
        clock.now += 10.0
        assert await cache.get("k", 2.0, source) == b"2"

    @pytest.mark.parametrize(
        "ttl", [pytest.param(0.0, id="zero"), pytest.param(-1.0, id="negative")]
    )
    async def test_no_ttl_means_no_caching(self, ttl: float) -> None:
        """A ttl of zero computes every time."""
        source = Source()
        cache = AnswerCache(Clock())
        assert [await cache.get("k", ttl, source) for _ in range(2)] == [b"1", b"2"]

    async def test_clear_forgets_everything(self) -> None:
        """After clear() the next request computes a new answer."""
        source = Source()
        cache = AnswerCache(Clock())
        await cache.get("k", 60.0, source)
        cache.clear()
        assert await cache.get("k", 60.0, source) == b"2"

    async def test_failures_are_not_cached(self) -> None:
        """A failed computation reaches the caller and the next request tries again."""
        calls = 0

        async def flaky() -> bytes:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("store down")
            return b"ok"

        cache = AnswerCache(Clock())
        with pytest.raises(ConnectionError):
            await cache.get("k", 60.0, flaky)
        assert await cache.get("k", 60.0, flaky) == b"ok"


class TestCachedStatusOverHttp:
    def test_status_is_served_from_memory_until_a_result_is_stored(
        self, start_api: StartApi
    ) -> None:
        """With api.cache set, /api/v1/status answers from memory while nothing new is stored;
        a newly stored result is on the very next answer, whatever the cache duration."""
        api = start_api(api="cache: 60s\n")
        with api.client() as client:
            first = client.get("/api/v1/status").json()
            again = client.get("/api/v1/status").json()
            seed(api, result("health", "eu", Status.FAIL))
            after = client.get("/api/v1/status").json()
        assert again == first  # the same answer, timestamp and all: from memory
        assert first["services"]["health"] == "unknown"
        assert after["services"]["health"] == "down"

    def test_the_page_is_never_older_than_the_newest_result(self, start_api: StartApi) -> None:
        """With api.page_cache at 30 s, a result stored after the page was built shows at once."""
        api = start_api(api="page_cache: 30s\n")
        with api.client() as client:
            before = client.get("/").text
            seed(api, result("health", "eu", Status.FAIL, started_at=datetime.now(UTC)))
            after = client.get("/").text
        assert 'eu: <span class="label' not in before
        assert 'eu: <span class="label major">Failing</span>' in after


class TestAnswerVersions:
    async def test_an_answer_of_an_older_version_is_never_served(self) -> None:
        """Fresh or stale, an answer made before the newest result is recomputed first."""
        clock, source = Clock(), Source()
        cache = AnswerCache(clock)
        assert await cache.get("k", 60.0, source, version=1) == b"1"
        assert await cache.get("k", 60.0, source, version=1) == b"1"
        assert await cache.get("k", 60.0, source, version=2) == b"2"
        clock.now += 90.0  # stale, not expired: served only at its own version
        assert await cache.get("k", 60.0, source, version=3) == b"3"

    async def test_a_costly_answer_is_rebuilt_at_most_once_per_ten_times_its_cost(
        self,
    ) -> None:
        """Results stored every few milliseconds must not keep a core rebuilding an answer
        that takes a second: until ten times its cost has passed it is served as it is,
        then served once more while it is rebuilt in the background."""
        clock = Clock()
        source = CostlySource(clock, cost=1.0)
        cache = AnswerCache(clock)
        await cache.get("k", 60.0, source, version=0)  # a first answer: its cost not counted
        assert await cache.get("k", 60.0, source, version=1) == b"2"
        clock.now += REBUILD_FACTOR * 1.0 - 0.5
        assert await cache.get("k", 60.0, source, version=2) == b"2"
        assert source.calls == 2
        clock.now += 0.5
        assert await cache.get("k", 60.0, source, version=3) == b"2"  # while rebuilding
        await asyncio.sleep(0.01)
        assert await cache.get("k", 60.0, source, version=3) == b"3"
        assert source.calls == 3

    async def test_a_cheap_answer_is_rebuilt_for_every_newer_result(self) -> None:
        """Under SLOW_ANSWER_S to make: the next request after a new result gets a new answer."""
        clock = Clock()
        source = CostlySource(clock, cost=SLOW_ANSWER_S / 2)
        cache = AnswerCache(clock)
        answers = [await cache.get("k", 60.0, source, version=v) for v in (1, 2, 3, 4)]
        assert (answers, source.calls) == ([b"1", b"2", b"3", b"4"], 4)

    async def test_a_costly_answer_long_past_its_ttl_is_rebuilt_first(self) -> None:
        """Costly or not, an answer older than twice its ttl and its rebuild window is
        never served for a newer result."""
        clock = Clock()
        source = CostlySource(clock, cost=1.0)
        cache = AnswerCache(clock)
        await cache.get("k", 2.0, source, version=0)
        await cache.get("k", 2.0, source, version=1)
        clock.now += REBUILD_FACTOR * 1.0 + 5.0
        assert await cache.get("k", 2.0, source, version=2) == b"3"

"""Outage spans: an incident lasts from its first failing run to its first passing run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitor.store import IncidentRecord, ResultStore
from monitor.store.outages import OutageSpan, outage_spans
from probes.base import Status
from tests.store.factory import T0, record

# One run a minute from T0: P pass, D degraded, F fail, E error, . no run.
RUN = {"P": Status.PASS, "D": Status.DEGRADED, "F": Status.FAIL, "E": Status.ERROR}


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


async def store_runs(store: ResultStore, runs: str, *, region: str = "eu") -> None:
    for minute, mark in enumerate(runs):
        if mark in RUN:
            await store.add(record("api", region, at(minute), RUN[mark]))


async def span_of(
    store: ResultStore, opened: int, resolved: int | None, *, region: str = "eu"
) -> OutageSpan:
    incident = IncidentRecord(
        1, "api", region, at(opened), None if resolved is None else at(resolved), "down"
    )
    return (await outage_spans(store, [incident]))[1]


class TestOutageSpan:
    @pytest.mark.parametrize(
        ("runs", "opened", "resolved", "expected"),
        [
            ("PPFFFPPP", 3, 6, (2, 5)),  # fires on the 2nd fail, resolves on the 2nd pass
            ("PPFFFPPP", 3, 5, (2, 5)),  # resolve_after 1: the resolving run is the end
            ("PFPPFFFPP", 5, 8, (4, 7)),  # an earlier blip is not part of this outage
            ("PPFEFEPP", 4, 6, (2, 6)),  # errors say nothing either way
            ("PPFFPFFPP", 3, 8, (2, 7)),  # a pass between fails: the outage ends at the last
            ("FFFPP", 1, 3, (0, 3)),  # no pass before: the first fail starts it
            ("PPDFFDD", 4, 5, (3, 5)),  # degraded is up
            ("PPFFF", 3, None, (2, None)),  # open and still failing: not over yet
            ("PPFFFP", 3, None, (2, 5)),  # open, passing again: over, recovery unconfirmed
            ("PPFFFPF", 3, None, (2, None)),  # open, relapsed: not over
        ],
        ids=[
            "two-of-three",
            "resolve-at-once",
            "earlier-blip",
            "errors",
            "relapse",
            "from-start",
            "degraded-is-up",
            "open",
            "open-recovering",
            "open-relapsed",
        ],
    )
    async def test_first_failing_to_first_passing_run(
        self,
        store: ResultStore,
        runs: str,
        opened: int,
        resolved: int | None,
        expected: tuple[int, int | None],
    ) -> None:
        """The outage runs from the first fail after the last good run to the first good one."""
        await store_runs(store, runs)
        start, end = expected
        assert await span_of(store, opened, resolved) == OutageSpan(
            at(start), None if end is None else at(end)
        )

    async def test_without_failing_runs_the_incident_times_stand(self, store: ResultStore) -> None:
        """An incident without stored failures (a response-time alert) keeps its own times."""
        await store_runs(store, "PPPPPP")
        assert await span_of(store, 2, 4) == OutageSpan(at(2), at(4))

    async def test_other_regions_do_not_count_unless_aggregated(self, store: ResultStore) -> None:
        """A region's incident reads its region; one over regions (``*``) reads them all."""
        await store_runs(store, "PPPFFPP", region="eu")
        await store_runs(store, "PFFFFPP", region="us")
        assert await span_of(store, 4, 5, region="eu") == OutageSpan(at(3), at(5))
        assert await span_of(store, 4, 5, region="*") == OutageSpan(at(1), at(5))

    async def test_length_runs_to_now_while_open(self) -> None:
        """An open outage's length is measured up to now."""
        assert OutageSpan(at(0), None).seconds(at(3)) == 180.0
        assert OutageSpan(at(0), at(2)).seconds(at(3)) == 120.0

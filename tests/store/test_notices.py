"""Specifications of the notice store: incidents and maintenance written by people, with
their updates, on SQLite and the real PostgreSQL (the 0012 migration on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.store import ResultStore
from monitor.store.notices import NoticeStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class TestNoticeStore:
    async def test_an_incident_keeps_every_update_in_order(self, store: ResultStore) -> None:
        """Each update is stored with its time; monitoring and resolution times are kept."""
        notices = NoticeStore(store)
        made = await notices.create(
            "incident",
            name="Checkout errors",
            status="investigating",
            impact="major",
            components=["pay-api", "group:Payments"],
            body="Looking.",
            at=T0,
        )
        steps = [("identified", 1), ("monitoring", 2), ("resolved", 3)]
        for status, minutes in steps:
            await notices.add_update(
                made.id, status=status, body=status, at=T0 + timedelta(minutes=minutes)
            )
        found = await notices.get(made.id)
        assert found is not None
        assert (found.status, found.impact, found.components) == (
            "resolved",
            "major",
            ("pay-api", "group:Payments"),
        )
        assert [(u.status, u.created_at) for u in found.updates] == [
            ("investigating", T0),
            *((s, T0 + timedelta(minutes=m)) for s, m in steps),
        ]
        assert found.monitoring_at == T0 + timedelta(minutes=2)
        assert found.resolved_at == T0 + timedelta(minutes=3)
        assert found.closed

    async def test_reopening_clears_the_resolution(self, store: ResultStore) -> None:
        """An update after the resolution that is not a closing one reopens the incident."""
        notices = NoticeStore(store)
        made = await notices.create(
            "incident", name="x", status="resolved", impact="minor", components=[], body="y", at=T0
        )
        reopened = await notices.add_update(
            made.id, status="investigating", body="Back.", at=T0 + timedelta(minutes=5)
        )
        assert made.resolved_at == T0
        assert reopened is not None
        assert reopened.resolved_at is None

    async def test_lists_by_kind_newest_first_and_open_only(self, store: ResultStore) -> None:
        """Listing filters by kind and by still open, newest first."""
        notices = NoticeStore(store)
        first = await notices.create(
            "incident", name="a", status="investigating", impact="minor", components=[],
            body="y", at=T0,
        )  # fmt: skip
        second = await notices.create(
            "incident", name="b", status="resolved", impact="minor", components=[],
            body="y", at=T0 + timedelta(minutes=1),
        )  # fmt: skip
        upkeep = await notices.create(
            "maintenance", name="m", status="scheduled", impact="maintenance", components=[],
            body="y", at=T0, scheduled_for=T0 + timedelta(days=1),
            scheduled_until=T0 + timedelta(days=1, hours=1),
        )  # fmt: skip
        incidents = [n.id for n in await notices.list("incident")]
        still_open = [n.id for n in await notices.list("incident", open_only=True)]
        maintenances = await notices.list("maintenance")
        assert incidents == [second.id, first.id]
        assert still_open == [first.id]
        assert [m.id for m in maintenances] == [upkeep.id]
        assert maintenances[0].started_at == T0 + timedelta(days=1)
        assert maintenances[0].scheduled_until == T0 + timedelta(days=1, hours=1)

    async def test_unknown_ids_and_kinds_are_none(self, store: ResultStore) -> None:
        """An unknown id, or an id of the other kind, finds nothing and updates nothing."""
        notices = NoticeStore(store)
        made = await notices.create(
            "incident", name="x", status="investigating", impact="minor", components=[],
            body="y", at=T0,
        )  # fmt: skip
        assert await notices.get(made.id + 1) is None
        assert await notices.get(made.id, "maintenance") is None
        assert await notices.add_update(made.id + 1, status="resolved", body="z", at=T0) is None

    async def test_naive_times_are_refused(self, store: ResultStore) -> None:
        """A time without a zone is refused, not guessed."""
        moment = T0.replace(tzinfo=None)
        with pytest.raises(ValueError, match="tz-aware"):
            await NoticeStore(store).create(
                "incident", name="x", status="investigating", impact="minor", components=[],
                body="y", at=moment,
            )  # fmt: skip

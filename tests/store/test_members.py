"""Members and run claims (monitor.store.members) on SQLite and the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from monitor.store import ResultStore
from monitor.store.members import MemberStore

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


class TestMembers:
    async def test_live_members_are_those_with_a_recent_heartbeat(self, store: ResultStore) -> None:
        """A heartbeat registers or refreshes a member; live() keeps those beating since then."""
        members = MemberStore(store)
        await members.beat("eu", "a", role="all", started_at=T0, now=T0)
        await members.beat("eu", "b", role="browser", started_at=T0, now=T0)
        await members.beat("us", "c", role="all", started_at=T0, now=T0)
        later = T0 + timedelta(seconds=10)
        await members.beat("eu", "a", role="all", started_at=T0, now=later)
        live = await members.live("eu", since=T0 + timedelta(seconds=5))
        assert [(m.member, m.role, m.heartbeat_at) for m in live] == [("a", "all", later)]
        assert [m.member for m in await members.live("eu", since=T0)] == ["a", "b"]

    async def test_a_member_that_leaves_is_gone_at_once(self, store: ResultStore) -> None:
        """leave() removes the member's row: the others stop counting it at their next read."""
        members = MemberStore(store)
        await members.beat("eu", "a", role="all", started_at=T0, now=T0)
        await members.leave("eu", "a")
        assert await members.live("eu", since=T0) == []


class TestClaims:
    async def test_a_due_time_is_claimed_once_even_by_racing_members(
        self, store: ResultStore
    ) -> None:
        """Of several members claiming one due time at once, exactly one wins; the next due
        time is a claim of its own."""
        members = MemberStore(store)
        won = await asyncio.gather(
            *(
                members.claim("eu", "home", due_at=T0, member=m, now=T0, run_id=f"run{m}")
                for m in "abcd"
            )
        )
        assert sorted(won) == [False, False, False, True]
        step = T0 + timedelta(minutes=1)
        assert await members.claim("eu", "home", due_at=step, member="a", now=step, run_id="r2")
        assert await members.claim("us", "home", due_at=T0, member="c", now=T0, run_id="r3")
        claims = await members.claims("eu", since=T0)
        assert [(c.check, c.due_at) for c in claims] == [("home", T0), ("home", step)]
        winner = "abcd"[won.index(True)]
        assert (claims[0].member, claims[0].run_id) == (winner, f"run{winner}")

    async def test_old_claims_are_pruned(self, store: ResultStore) -> None:
        """prune_claims drops claims due before the cut-off and keeps the rest."""
        members = MemberStore(store)
        for minutes in (0, 90):
            due = T0 + timedelta(minutes=minutes)
            await members.claim("eu", "home", due_at=due, member="a", now=due, run_id=f"r{minutes}")
        assert await members.prune_claims(before=T0 + timedelta(hours=1)) == 1
        assert [c.run_id for c in await members.claims("eu", since=T0)] == ["r90"]

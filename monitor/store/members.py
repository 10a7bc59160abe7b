"""Members of a region and their run claims, in the result store (issue 17).

    members = MemberStore(store)
    await members.beat(region, member, role=role, started_at=t0, now=now)   # register / heartbeat
    alive = await members.live(region, since=now - timeout)
    if await members.claim(region, check, due_at=due, member=member, now=now):
        ...                                                        # this replica runs that due time
    await members.leave(region, member)

A claim is one row per (region, check, due time): the first replica to insert it runs
that due time, any other finds it taken and skips.  That makes a run twice impossible
whatever two replicas believe about ownership, so a hand-over may overlap freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from monitor.store.rows import require_aware, upsert_insert
from monitor.store.schema import members, run_claims
from monitor.store.store import ResultStore


@dataclass(frozen=True, slots=True)
class Member:
    """One replica of a region, as its last heartbeat left it."""

    member: str
    role: str
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """One scheduled run's claim: which member ran ``check``'s due time, and as which run."""

    check: str
    due_at: datetime
    member: str
    claimed_at: datetime
    run_id: str


class MemberStore:
    """Reads and writes ``members`` and ``run_claims`` through one :class:`ResultStore`."""

    __slots__ = ("_store",)

    def __init__(self, store: ResultStore) -> None:
        self._store = store

    async def beat(
        self, region: str, member: str, *, role: str, started_at: datetime, now: datetime
    ) -> None:
        """Register ``member`` or refresh its heartbeat; raises :class:`StoreError`."""
        require_aware(now, "now")
        async with self._store.connection("writing a member heartbeat", write=True) as conn:
            insert = upsert_insert(conn, members).values(
                region=region, member=member, role=role, started_at=started_at, heartbeat_at=now
            )
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["region", "member"], set_={"heartbeat_at": now, "role": role}
                )
            )

    async def live(self, region: str, *, since: datetime) -> list[Member]:
        """The members of ``region`` whose last heartbeat is at or after ``since``."""
        async with self._store.connection("reading members") as conn:
            rows = await conn.execute(
                select(members)
                .where(members.c.region == region, members.c.heartbeat_at >= since)
                .order_by(members.c.member)
            )
            return [Member(r.member, r.role, r.started_at, r.heartbeat_at) for r in rows.mappings()]

    async def leave(self, region: str, member: str) -> None:
        """Remove ``member``: the others stop counting it at their next heartbeat."""
        async with self._store.connection("removing a member", write=True) as conn:
            await conn.execute(
                delete(members).where(members.c.region == region, members.c.member == member)
            )

    async def claim(
        self, region: str, check: str, *, due_at: datetime, member: str, now: datetime, run_id: str
    ) -> bool:
        """``True`` when ``member`` now holds ``check``'s run due at ``due_at`` (no one did);
        that run's results carry ``run_id``."""
        require_aware(due_at, "due_at")
        async with self._store.connection("claiming a run", write=True) as conn:
            insert = upsert_insert(conn, run_claims).values(
                region=region,
                check=check,
                due_at=due_at,
                member=member,
                claimed_at=now,
                run_id=run_id,
            )
            done = await conn.execute(
                insert.on_conflict_do_nothing(index_elements=["region", "check", "due_at"])
            )
            return bool(done.rowcount)

    async def prune_claims(self, *, before: datetime) -> int:
        """Drop claims due before ``before`` (only recent ones can still be contended)."""
        async with self._store.connection("pruning run claims", write=True) as conn:
            done = await conn.execute(delete(run_claims).where(run_claims.c.due_at < before))
            return int(done.rowcount or 0)

    async def claims(self, region: str, *, since: datetime) -> list[Claim]:
        """Every claim of ``region`` due at or after ``since``, by check and due time."""
        async with self._store.connection("reading run claims") as conn:
            rows = await conn.execute(
                select(run_claims)
                .where(run_claims.c.region == region, run_claims.c.due_at >= since)
                .order_by(run_claims.c.check, run_claims.c.due_at)
            )
            return [
                Claim(r.check, r.due_at, r.member, r.claimed_at, r.run_id) for r in rows.mappings()
            ]

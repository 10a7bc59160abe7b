"""Which replica of a region runs which check: rendezvous hashing over the live members.

    shard = Shard("pod-a", role="all", heartbeat_s=5.0)
    owned = shard.assign(checks, live_members, now)   # the checks this replica schedules

Every replica of a region (PostgreSQL store) writes a heartbeat every ``heartbeat_s / 2``
and reads the member list at the same time.  A member is live while its last heartbeat
is at most ``1.5 * heartbeat_s`` old, so a dead replica drops out of every other
replica's list within ``1.5 + 0.5 = 2`` heartbeat intervals of its last beat.

A check belongs to the live member, among those whose role takes the check's kind, with
the highest ``sha256(member, check)`` (rendezvous hashing): every replica that sees the
same list computes the same owner, and a member joining or leaving moves only its share.

Hand-over: a replica keeps scheduling a check for ``heartbeat_s`` after it stopped owning
it (``keep``), long enough for the new owner to have read the new list.  Both may then
fire the same due time; the run claim (:mod:`monitor.store.members`) lets exactly one
run it.  So no due time is skipped by a join or a clean leave, and none runs twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from monitor.config.models import CheckCommon
from monitor.store.members import Member

Role = Literal["all", "http", "browser"]
ROLES: tuple[Role, ...] = ("all", "http", "browser")
LIVE_FACTOR = 1.5  # heartbeats: how old a member's last beat may be while it counts as live


def takes(role: str, kind: str) -> bool:
    """Whether a replica of ``role`` runs checks of ``kind`` (``http``: every non-browser kind)."""
    if role == "browser":
        return kind == "browser"
    if role == "http":
        return kind != "browser"
    return True


def owner(check: CheckCommon, members: Sequence[Member]) -> str | None:
    """The member that runs ``check``; ``None`` when no live member's role takes its kind."""
    best: tuple[bytes, str] | None = None
    for m in members:
        if not takes(m.role, check.kind):
            continue
        score = hashlib.sha256(f"{m.member}\0{check.name}".encode()).digest()
        if best is None or score > best[0]:
            best = (score, m.member)
    return None if best is None else best[1]


class Shard:
    """This replica's share of its region's checks."""

    def __init__(self, member: str, *, role: Role, heartbeat_s: float) -> None:
        self.member = member
        self.role: Role = role
        self.heartbeat_s = heartbeat_s
        self.members: list[Member] = []
        self.owners: dict[str, str | None] = {}  # check -> its owner under the last list
        self.owned: set[str] = set()
        self._lost: dict[str, datetime] = {}  # checks handed over, and since when

    @property
    def tick_s(self) -> float:
        return self.heartbeat_s / 2

    def live_since(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.heartbeat_s * LIVE_FACTOR)

    def assign(
        self, checks: Iterable[CheckCommon], members: Sequence[Member], now: datetime
    ) -> set[str]:
        """The checks to schedule here: owned under ``members`` plus those in hand-over."""
        checks = list(checks)
        self.members = list(members)
        self.owners = {c.name: owner(c, self.members) for c in checks}
        owned = {name for name, who in self.owners.items() if who == self.member}
        for name in list(self._lost):
            if name in owned or name not in self.owners:
                del self._lost[name]
        keep = timedelta(seconds=self.heartbeat_s)
        for name in self.owned - owned:
            if name in self.owners:
                self._lost.setdefault(name, now)
        self._lost = {n: t for n, t in self._lost.items() if now - t < keep}
        self.owned = owned
        return owned | set(self._lost)

    def counts(self) -> dict[str, int]:
        """How many checks each live member owns (``""``: checks without an owner)."""
        out = {m.member: 0 for m in self.members}
        for who in self.owners.values():
            key = "" if who is None else who
            out[key] = out.get(key, 0) + 1
        return out

    @property
    def unowned(self) -> int:
        return sum(1 for who in self.owners.values() if who is None)

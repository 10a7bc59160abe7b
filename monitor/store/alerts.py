"""Alerting's tables: alert group states, the notification outbox, and silences.

    alerts = AlertStore(store)                  # shares the ResultStore's engine
    states = await alerts.states(["smoke_test_failure"])
    applied = await alerts.apply(write)         # CAS on version + outbox rows + incident, one tx
    await alerts.heartbeat(owner, at=now)      # the deliverer is alive (every few seconds)
    rows = await alerts.due(now, channels={"slack"}, owner_timeout=timeout)
    if await alerts.claim(row.id, now=now, until=now + lease, owner=owner,
                          owner_timeout=timeout) is not None: ...send...
    await alerts.delivered(row.id, at=now)

Every state change is a compare-and-set on ``alert_states.version`` in the same
transaction as its outbox rows, so evaluators racing on one database (several
regions on one PostgreSQL) apply each transition once: the loser updates no row
and writes nothing.  Outbox rows are claimed with a lease before sending, so
deliverers racing on one database send each row once (and again only if the
sender died after sending but before marking it delivered).  A claim names its owner
(one id per deliverer process); an owner writes a heartbeat every few seconds, and a
claim whose owner's heartbeat is older than ``owner_timeout`` (or gone) is free at
once, lease or not: a killed process's rows are sent again within seconds.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, insert, or_, select, update

from monitor.store.alert_records import (
    AlertStateRecord,
    IncidentChange,
    OutboxEntry,
    OutboxRecord,
    SilenceRecord,
    StateWrite,
)
from monitor.store.alert_rows import (
    apply_incident,
    insert_outbox,
    outbox_of,
    silence_of,
    state_of,
    state_values,
)
from monitor.store.errors import StoreError
from monitor.store.records import ResultRecord
from monitor.store.rows import from_row, require_aware, upsert_insert
from monitor.store.schema import (
    alert_states,
    installation,
    outbox,
    outbox_owners,
    results,
    silences,
)
from monitor.store.store import ResultStore

ERROR_MAX_CHARS = 500

__all__ = [
    "AlertStateRecord",
    "AlertStore",
    "IncidentChange",
    "OutboxEntry",
    "OutboxRecord",
    "SilenceRecord",
    "StateWrite",
]


class AlertStore:
    """Alert states, outbox and silences in the :class:`ResultStore`'s database."""

    def __init__(self, store: ResultStore) -> None:
        self._store = store
        self._installation_id: str | None = None

    # -- what the engine reads and writes -------------------------------------------

    async def window_results(
        self, checks: Collection[str], *, since: datetime, until: datetime
    ) -> list[ResultRecord]:
        """Results of ``checks`` started in ``[since, until]``, oldest first."""
        require_aware(since, "since")
        require_aware(until, "until")
        if not checks:
            return []
        r = results.c
        query = (
            select(results)
            .where(r.check.in_(sorted(checks)), r.started_at >= since, r.started_at <= until)
            .order_by(r.started_at, r.id)
        )
        async with self._store.connection("reading results for alert rules") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [from_row(row) for row in rows]

    async def recent_results(
        self, check: str, region: str, since: datetime, *, limit: int = 500
    ) -> list[ResultRecord]:
        """One check's runs in one region since ``since``, newest first, at most ``limit``."""
        return await self._store.results(check, region=region, since=since, limit=limit)

    async def states(self, rules: Collection[str] | None = None) -> dict[str, AlertStateRecord]:
        """The stored state of every group of ``rules`` (all rules when ``None``), by alert key."""
        query = select(alert_states)
        if rules is not None:
            query = query.where(alert_states.c.rule.in_(sorted(rules)))
        async with self._store.connection("reading alert states") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {row["alert_key"]: state_of(row) for row in rows}

    async def apply(self, write: StateWrite) -> bool:
        """Apply one group's change if nobody changed the group since it was read.

        Returns ``False`` (and writes nothing) when the compare-and-set on ``version``
        loses: another evaluator applied this or a later change first.
        """
        new = write.state
        values = state_values(new)
        async with self._store.connection(f"updating alert {new.alert_key!r}", write=True) as conn:
            if write.expected_version is None:
                outcome = await conn.execute(
                    upsert_insert(conn, alert_states)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=[alert_states.c.alert_key])
                )
            else:
                outcome = await conn.execute(
                    update(alert_states)
                    .where(
                        alert_states.c.alert_key == new.alert_key,
                        alert_states.c.version == write.expected_version,
                    )
                    .values(**values)
                )
            if outcome.rowcount != 1:
                return False
            if write.outbox:
                await insert_outbox(conn, write.outbox, created_at=new.updated_at)
            if write.incident is not None:
                await apply_incident(conn, write.incident)
        return True

    # -- what the deliverer reads and writes ----------------------------------------

    async def due(
        self,
        now: datetime,
        *,
        channels: Collection[str],
        limit: int = 50,
        owner_timeout: timedelta | None = None,
    ) -> list[OutboxRecord]:
        """Rows of ``channels`` due by ``now``: not delivered, failed or claimed (a claim of an
        owner silent for ``owner_timeout`` does not count); oldest first."""
        require_aware(now, "now")
        o = outbox.c
        query = (
            select(outbox)
            .where(
                o.delivered_at.is_(None),
                o.failed_at.is_(None),
                o.next_attempt_at <= now,
                _claimable(now, owner_timeout),
                o.channel.in_(sorted(channels)),
            )
            .order_by(o.next_attempt_at, o.id)
            .limit(limit)
        )
        async with self._store.connection("reading due notifications") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [outbox_of(row) for row in rows]

    async def pending(self, *, channels: Collection[str] | None = None) -> list[OutboxRecord]:
        """Every row neither delivered nor failed (of ``channels``, when given), oldest first."""
        o = outbox.c
        query = (
            select(outbox)
            .where(o.delivered_at.is_(None), o.failed_at.is_(None))
            .order_by(o.next_attempt_at, o.id)
        )
        if channels is not None:
            query = query.where(o.channel.in_(sorted(channels)))
        async with self._store.connection("reading pending notifications") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [outbox_of(row) for row in rows]

    async def claim(
        self,
        row_id: int,
        *,
        now: datetime,
        until: datetime,
        owner: str | None = None,
        owner_timeout: timedelta | None = None,
    ) -> int | None:
        """Take row ``row_id`` for sending until ``until`` (as ``owner``), counting an attempt.

        Returns the attempts made so far (this one included), or ``None`` when the row
        is not free: delivered, failed, or claimed by a sender whose lease still runs and
        (with ``owner_timeout``) whose owner heartbeat is younger than ``owner_timeout``.
        """
        require_aware(now, "now")
        require_aware(until, "until")
        o = outbox.c
        query = (
            update(outbox)
            .where(o.id == row_id, o.delivered_at.is_(None), o.failed_at.is_(None))
            .where(_claimable(now, owner_timeout))
            .values(claimed_until=until, claimed_by=owner, attempts=o.attempts + 1)
            .returning(o.attempts)
        )
        async with self._store.connection("claiming a notification", write=True) as conn:
            attempts = (await conn.execute(query)).scalar_one_or_none()
        return None if attempts is None else int(attempts)

    # -- installation and deliverer owners --------------------------------------------

    async def installation_id(self) -> str:
        """The random id of this installation (made with the schema), part of every key."""
        if self._installation_id is None:
            query = select(installation.c.installation_id).where(installation.c.id == 1)
            async with self._store.connection("reading the installation id") as conn:
                found = (await conn.execute(query)).scalar_one_or_none()
            if found is None:
                raise StoreError("the installation row is missing: was migration 0007 applied?")
            self._installation_id = str(found)
        return self._installation_id

    async def heartbeat(self, owner: str, *, at: datetime) -> None:
        """Record that deliverer ``owner`` is alive at ``at``."""
        require_aware(at, "at")
        async with self._store.connection("recording a deliverer heartbeat", write=True) as conn:
            await conn.execute(
                upsert_insert(conn, outbox_owners)
                .values(owner=owner, heartbeat_at=at)
                .on_conflict_do_update(
                    index_elements=[outbox_owners.c.owner], set_={"heartbeat_at": at}
                )
            )

    async def forget_owner(self, owner: str) -> None:
        """Remove ``owner``'s heartbeat (a clean stop): its leftover claims are free at once."""
        query = delete(outbox_owners).where(outbox_owners.c.owner == owner)
        async with self._store.connection("removing a deliverer heartbeat", write=True) as conn:
            await conn.execute(query)

    async def prune_owners(self, older_than: datetime) -> int:
        """Delete heartbeats of owners silent since before ``older_than``; returns how many."""
        require_aware(older_than, "older_than")
        query = delete(outbox_owners).where(outbox_owners.c.heartbeat_at < older_than)
        async with self._store.connection("pruning deliverer heartbeats", write=True) as conn:
            return (await conn.execute(query)).rowcount

    async def delivered(self, row_id: int, *, at: datetime) -> None:
        """Mark row ``row_id`` delivered."""
        await self._finish(row_id, "marking a notification delivered", delivered_at=at)

    async def retry_later(self, row_id: int, *, at: datetime, error: str) -> None:
        """Release row ``row_id`` for another attempt at ``at``, recording why this one failed."""
        await self._finish(
            row_id,
            "rescheduling a notification",
            next_attempt_at=at,
            claimed_until=None,
            claimed_by=None,
            last_error=error[:ERROR_MAX_CHARS],
        )

    async def failed(self, row_id: int, *, at: datetime, error: str) -> None:
        """Give up on row ``row_id``: it stays visible with ``failed_at`` and the last error."""
        await self._finish(
            row_id,
            "marking a notification failed",
            failed_at=at,
            claimed_until=None,
            claimed_by=None,
            last_error=error[:ERROR_MAX_CHARS],
        )

    async def prune_outbox(self, older_than: datetime) -> int:
        """Delete delivered and failed rows created before ``older_than``; returns how many."""
        require_aware(older_than, "older_than")
        o = outbox.c
        query = delete(outbox).where(
            o.created_at < older_than,
            or_(o.delivered_at.is_not(None), o.failed_at.is_not(None)),
        )
        async with self._store.connection("pruning the outbox", write=True) as conn:
            return (await conn.execute(query)).rowcount

    async def _finish(self, row_id: int, action: str, **values: Any) -> None:
        for name, value in values.items():
            if isinstance(value, datetime):
                require_aware(value, name)
        async with self._store.connection(action, write=True) as conn:
            await conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))

    # -- what the API reads and writes -----------------------------------------------

    async def alert_states(self, *, active_only: bool = True) -> list[AlertStateRecord]:
        """Alert groups by rule, check, region; ``active_only``: all but inactive ones (a
        flapping group counts as active whatever its state)."""
        a = alert_states.c
        query = select(alert_states).order_by(a.rule, a.check, a.region)
        if active_only:
            query = query.where(or_(a.state != "inactive", a.flapping_since.is_not(None)))
        async with self._store.connection("reading alerts") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [state_of(row) for row in rows]

    async def outbox_rows(
        self, *, pending_only: bool = False, limit: int = 100
    ) -> list[OutboxRecord]:
        """Outbox rows newest first; ``pending_only``: neither delivered nor failed."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        o = outbox.c
        query = select(outbox).order_by(o.id.desc()).limit(limit)
        if pending_only:
            query = query.where(o.delivered_at.is_(None), o.failed_at.is_(None))
        async with self._store.connection("reading the outbox") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [outbox_of(row) for row in rows]

    async def silences(self, *, active_at: datetime | None = None) -> list[SilenceRecord]:
        """Stored silences newest first; with ``active_at``, only those in force then."""
        s = silences.c
        query = select(silences).order_by(s.id.desc())
        if active_at is not None:
            require_aware(active_at, "active_at")
            query = query.where(
                s.starts_at <= active_at,
                s.ends_at > active_at,
                or_(s.expired_at.is_(None), s.expired_at > active_at),
            )
        async with self._store.connection("reading silences") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [silence_of(row) for row in rows]

    async def add_silence(
        self,
        *,
        matchers: dict[str, str],
        starts_at: datetime,
        ends_at: datetime,
        author: str,
        comment: str = "",
        created_at: datetime | None = None,
    ) -> int:
        """Store a silence; returns its id.  ``ValueError`` for an empty or backwards one."""
        require_aware(starts_at, "starts_at")
        require_aware(ends_at, "ends_at")
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        if ends_at <= starts_at:
            raise ValueError("ends_at must be after starts_at")
        created = created_at if created_at is not None else starts_at
        require_aware(created, "created_at")
        query = insert(silences).values(
            matchers=dict(matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            author=author,
            comment=comment,
            created_at=created,
            expired_at=None,
        )
        async with self._store.connection("adding a silence", write=True) as conn:
            key = (await conn.execute(query)).inserted_primary_key
        if key is None:
            raise RuntimeError("adding a silence returned no id")
        return int(key[0])

    async def expire_silence(self, silence_id: int, *, at: datetime) -> bool:
        """End silence ``silence_id`` at ``at``; ``False`` if unknown, expired or already over."""
        require_aware(at, "at")
        s = silences.c
        query = (
            update(silences)
            .where(s.id == silence_id, s.expired_at.is_(None), s.ends_at > at)
            .values(expired_at=at)
        )
        async with self._store.connection("expiring a silence", write=True) as conn:
            return (await conn.execute(query)).rowcount == 1


def _claimable(now: datetime, owner_timeout: timedelta | None) -> ColumnElement[bool]:
    """Unclaimed, lease run out, or (with ``owner_timeout``) claimed by an owner with no
    heartbeat since ``now - owner_timeout`` (gone, or stopped cleanly)."""
    o = outbox.c
    free = [o.claimed_until.is_(None), o.claimed_until < now]
    if owner_timeout is not None:
        w = outbox_owners.c
        alive = exists().where(w.owner == o.claimed_by, w.heartbeat_at >= now - owner_timeout)
        free.append(and_(o.claimed_by.is_not(None), ~alive))
    return or_(*free)

"""Alerting's tables: alert group states, the notification outbox, and silences.

    alerts = AlertStore(store)                  # shares the ResultStore's engine
    states = await alerts.states(["smoke_test_failure"])
    applied = await alerts.apply(write)         # CAS on version + outbox rows + incident, one tx
    rows = await alerts.due(now, channels={"slack"})
    if await alerts.claim(row.id, now=now, until=now + lease) is not None: ...send...
    await alerts.delivered(row.id, at=now)

Every state change is a compare-and-set on ``alert_states.version`` in the same
transaction as its outbox rows, so evaluators racing on one database (several
regions on one PostgreSQL) apply each transition once: the loser updates no row
and writes nothing.  Outbox rows are claimed with a lease before sending, so
deliverers racing on one database send each row once (and again only if the
sender died after sending but before marking it delivered).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

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
from monitor.store.records import ResultRecord
from monitor.store.rows import from_row, require_aware, upsert_insert
from monitor.store.schema import alert_states, outbox, results, silences
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
        self, now: datetime, *, channels: Collection[str], limit: int = 50
    ) -> list[OutboxRecord]:
        """Rows of ``channels`` due by ``now``: not delivered, failed or claimed; oldest first."""
        require_aware(now, "now")
        o = outbox.c
        query = (
            select(outbox)
            .where(
                o.delivered_at.is_(None),
                o.failed_at.is_(None),
                o.next_attempt_at <= now,
                or_(o.claimed_until.is_(None), o.claimed_until < now),
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

    async def claim(self, row_id: int, *, now: datetime, until: datetime) -> int | None:
        """Take row ``row_id`` for sending until ``until``, counting an attempt.

        Returns the attempts made so far (this one included), or ``None`` when the row
        is not free: delivered, failed, or claimed by a sender whose lease still runs.
        """
        require_aware(now, "now")
        require_aware(until, "until")
        o = outbox.c
        query = (
            update(outbox)
            .where(
                o.id == row_id,
                o.delivered_at.is_(None),
                o.failed_at.is_(None),
                or_(o.claimed_until.is_(None), o.claimed_until < now),
            )
            .values(claimed_until=until, attempts=o.attempts + 1)
            .returning(o.attempts)
        )
        async with self._store.connection("claiming a notification", write=True) as conn:
            attempts = (await conn.execute(query)).scalar_one_or_none()
        return None if attempts is None else int(attempts)

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
            last_error=error[:ERROR_MAX_CHARS],
        )

    async def failed(self, row_id: int, *, at: datetime, error: str) -> None:
        """Give up on row ``row_id``: it stays visible with ``failed_at`` and the last error."""
        await self._finish(
            row_id,
            "marking a notification failed",
            failed_at=at,
            claimed_until=None,
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
        """Alert groups by rule, check, region; ``active_only``: pending, firing or inhibited."""
        a = alert_states.c
        query = select(alert_states).order_by(a.rule, a.check, a.region)
        if active_only:
            query = query.where(a.state.in_(("pending", "firing", "inhibited")))
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

"""Rows of alerting's tables to records and back, and the writes that go with a state change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.alert_records import (
    FIRING_STATES,
    AlertStateRecord,
    IncidentChange,
    OutboxEntry,
    OutboxRecord,
    SilenceRecord,
)
from monitor.store.incidents import open_incident, resolve_incident
from monitor.store.rows import upsert_insert
from monitor.store.schema import alert_states, outbox


async def insert_outbox(
    conn: AsyncConnection, entries: Sequence[OutboxEntry], *, created_at: datetime
) -> None:
    rows = [
        {
            "key": e.key,
            "alert_key": e.alert_key,
            "channel": e.channel,
            "target": e.target,
            "payload": e.payload,
            "created_at": created_at,
            "next_attempt_at": created_at,
            "attempts": 0,
            "claimed_until": None,
            "delivered_at": None,
            "failed_at": None,
            "last_error": None,
        }
        for e in entries
    ]
    # The key is unique per (alert, transition, kind, target): a row written twice is one row.
    await conn.execute(
        upsert_insert(conn, outbox).on_conflict_do_nothing(index_elements=[outbox.c.key]), rows
    )


async def apply_incident(conn: AsyncConnection, change: IncidentChange) -> None:
    if change.action == "open":
        await open_incident(
            conn, change.check, change.region, started_at=change.at, message=change.message
        )
        return
    # Another rule may still be firing for the same (check, region): its incident stays open.
    a = alert_states.c
    region = a.region.is_(None) if change.region == "*" else a.region == change.region
    firing = await conn.scalar(
        select(func.count()).where(
            a.check == change.check, region, a.state.in_(sorted(FIRING_STATES))
        )
    )
    if not firing:
        await resolve_incident(conn, change.check, change.region, resolved_at=change.at)


def state_values(state: AlertStateRecord) -> dict[str, Any]:
    values = asdict(state)
    values["regions"] = list(state.regions)
    values["flips"] = [at.isoformat() for at in state.flips]
    return values


def state_of(row: RowMapping) -> AlertStateRecord:
    return AlertStateRecord(
        alert_key=row["alert_key"],
        rule=row["rule"],
        check=row["check"],
        region=row["region"],
        state=row["state"],
        since=row["since"],
        value=row["value"],
        regions=tuple(row["regions"]),
        good_count=row["good_count"],
        evidence=row["evidence"],
        notified=row["notified"],
        last_notified_at=row["last_notified_at"],
        seq=row["seq"],
        version=row["version"],
        updated_at=row["updated_at"],
        no_data=bool(row["no_data"]),
        severity=row["severity"],
        summary=row["summary"],
        outage_started_at=row["outage_started_at"],
        outage_ended_at=row["outage_ended_at"],
        flips=tuple(datetime.fromisoformat(at) for at in row["flips"] or ()),
        flapping_since=row["flapping_since"],
    )


def outbox_of(row: RowMapping) -> OutboxRecord:
    return OutboxRecord(
        id=int(row["id"]),
        key=row["key"],
        alert_key=row["alert_key"],
        channel=row["channel"],
        target=row["target"],
        payload=dict(row["payload"]),
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        attempts=row["attempts"],
        claimed_until=row["claimed_until"],
        delivered_at=row["delivered_at"],
        failed_at=row["failed_at"],
        last_error=row["last_error"],
        claimed_by=row["claimed_by"],
    )


def silence_of(row: RowMapping) -> SilenceRecord:
    return SilenceRecord(
        id=int(row["id"]),
        matchers=dict(row["matchers"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        author=row["author"],
        comment=row["comment"],
        created_at=row["created_at"],
        expired_at=row["expired_at"],
    )

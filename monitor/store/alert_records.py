"""Records of alerting's tables, and the write the engine hands the store for one group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

AlertState = Literal["inactive", "pending", "firing", "recovering"]
Notified = Literal["none", "firing", "flapping"]
FIRING_STATES = frozenset({"firing", "recovering"})  # notified, and holding an incident open


@dataclass(frozen=True, slots=True)
class AlertStateRecord:
    """One alert group (rule x check, x region unless ``min_regions`` aggregates regions).

    ``since``: pending/firing, the first bad evaluation; inactive, when it went inactive.
    ``value`` is the last evaluated value in base units (ratio, seconds), ``None`` when
    the window had no data.  ``regions`` were bad at the last bad evaluation.
    ``good_count`` is the good runs in a row behind a firing or recovering alert (the
    fewest among its regions), toward ``resolve_after``; ``evidence`` fingerprints the
    runs behind the last verdict.
    ``notified`` is what was last *notified* (``firing`` from the firing/no-data
    notification until the resolved one, ``flapping`` from the flapping one until it
    settles); ``seq`` counts notification events, and ``version`` counts writes
    (compare-and-set).  ``recovering``: firing, with good runs awaiting confirmation.
    ``outage_started_at``/``outage_ended_at`` bound the outage (first failing run's
    start, first passing run's start); ``flips`` are the recent firing<->resolved
    changes, and ``flapping_since`` is set while the group is flapping.
    """

    alert_key: str
    rule: str
    check: str
    region: str | None  # None: aggregated over regions
    state: AlertState
    since: datetime | None
    value: float | None
    regions: tuple[str, ...]
    good_count: int
    evidence: str | None
    notified: Notified
    last_notified_at: datetime | None
    seq: int
    version: int
    updated_at: datetime
    no_data: bool
    severity: str
    summary: str
    outage_started_at: datetime | None = None
    outage_ended_at: datetime | None = None
    flips: tuple[datetime, ...] = ()
    flapping_since: datetime | None = None

    @property
    def active(self) -> bool:
        """Pending or firing (``no_data`` says whether its last window had data)."""
        return self.state != "inactive"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One notification for one target; ``payload`` is ``Notification.to_json()``."""

    id: int
    key: str
    alert_key: str
    channel: str
    target: str
    payload: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    claimed_until: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    claimed_by: str | None = None  # the owner id of the deliverer holding the claim

    @property
    def status(self) -> Literal["pending", "delivered", "failed"]:
        if self.delivered_at is not None:
            return "delivered"
        if self.failed_at is not None:
            return "failed"
        return "pending"


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    """A silence added at run time (the API); ``matchers`` are label -> glob, all must match."""

    id: int
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str
    created_at: datetime
    expired_at: datetime | None

    def active_at(self, at: datetime) -> bool:
        """In force at ``at``: started, not ended, not expired by then."""
        if self.expired_at is not None and self.expired_at <= at:
            return False
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An outbox row to write with a state change."""

    key: str
    alert_key: str
    channel: str
    target: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """Open (a firing alert) or resolve (a resolved one) the incident of (check, region)."""

    action: Literal["open", "resolve"]
    check: str
    region: str  # "*" for an alert aggregated over regions
    at: datetime
    message: str = ""


@dataclass(frozen=True, slots=True)
class StateWrite:
    """One group's new state, applied if the stored version is still ``expected_version``
    (``None``: the group has no row yet), with its outbox rows and incident change."""

    state: AlertStateRecord
    expected_version: int | None
    outbox: tuple[OutboxEntry, ...] = ()
    incident: IncidentChange | None = None

"""What the alert engine hands to a notifier: one notification, for one channel target.

The engine writes a :class:`Notification` into the outbox (as JSON, see :meth:`to_json`)
in the same transaction as the state change that caused it; the deliverer reads it
back (:meth:`from_json`) and gives it to the :class:`Notifier` of its channel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from monitor.config.targets import split_target
from monitor.errors import MonitorError

# ``flapping``: the group changes state too often; one message when it starts, and the
# firing or resolved one when it settles.
Kind = Literal["firing", "resolved", "reminder", "no_data", "flapping"]
Severity = Literal["critical", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Notification:
    """One alert state change, addressed to one target (``slack:#alerts``, an address...).

    ``key`` is the idempotency key: unique to this installation, incident, transition
    and target, and stored with the outbox row, so a redelivery after a crash carries the
    same key (the e-mail ``Message-ID``, the webhook ``Idempotency-Key``; receivers
    deduplicate on it).  ``incident`` identifies the incident in this installation, the
    same from firing to resolved: PagerDuty's ``dedup_key``.  (Rows written before it
    existed have ``""``; PagerDuty then falls back to ``alert_key``.)
    Values are in the condition's base units (ratio, seconds); ``condition`` is the
    rule's text.  Every string was redacted before it got here.
    """

    key: str
    alert_key: str
    kind: Kind
    rule: str
    severity: Severity
    target: str
    condition: str
    value: float | None
    threshold: float
    check: str | None
    regions: tuple[str, ...]
    since: datetime
    at: datetime
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    runbook_url: str | None = None
    status_page_url: str | None = None
    incident: str = ""
    # The checks that depend on this alert's check: their new alerts are held meanwhile.
    dependents: tuple[str, ...] = ()
    # What each region saw (monitor.alerting.evidence): verdict, reason, attempts, the
    # failing assertion, timings vs usual, artifact links.  Empty in older rows.
    evidence: tuple[dict[str, Any], ...] = ()
    # The failure reasons of the newest failing run of each bad region (README, "Failure
    # reasons"), joined; the ``reason`` template variable.  "" when none failed.
    reason: str = ""

    @property
    def channel(self) -> str:
        """The channel from the target: ``slack``, ``email``, ``teams``..."""
        return split_target(self.target)[0]

    @property
    def address(self) -> str:
        """The target without its channel prefix: ``#alerts``, ``oncall@example.com``, a name."""
        return split_target(self.target)[1]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["at"] = self.at.isoformat()
        data["regions"] = list(self.regions)
        data["dependents"] = list(self.dependents)
        data["evidence"] = list(self.evidence)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        values = dict(data)
        values["since"] = datetime.fromisoformat(values["since"])
        values["at"] = datetime.fromisoformat(values["at"])
        values["regions"] = tuple(values["regions"])
        values["dependents"] = tuple(values.get("dependents", ()))  # absent in older rows
        values["evidence"] = tuple(values.get("evidence", ()))
        return cls(**values)


class DeliveryError(MonitorError):
    """A notification could not be delivered.  ``retryable`` says whether trying again may help
    (a timeout, a 5xx, a 429) or not (a 4xx such as a revoked webhook: retrying cannot fix it)."""

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class Notifier(Protocol):
    """One channel.  ``send`` delivers one notification or raises :class:`DeliveryError`;
    it never logs secrets and bounds its own time (a timeout per attempt)."""

    channel: str

    async def send(self, notification: Notification) -> None: ...

    async def close(self) -> None: ...

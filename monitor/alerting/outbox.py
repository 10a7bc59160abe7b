"""The outbox rows of one notification event: one :class:`Notification` per notify target.

Each row's ``key`` is ``sha256(incident, seq, kind, target)``, where ``incident`` is
``sha256(installation id, alert_key, since)``: the random id made with the schema
(migration 0007) sets apart every database, ``since`` (when the group went bad) every
incident of one alert group, ``seq`` every notification of it.  So the key is the same
for a transition however often (and by however many evaluators) it is computed, and
different for every transition, reminder, target, incident and installation.  It is
stored with the row when the row is written, so a redelivery carries the same key.
The outbox table holds it UNIQUE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor.alerting.notification import Kind, Notification
from monitor.alerting.state import Group
from monitor.redact import Redactor
from monitor.store.alert_records import AlertStateRecord, OutboxEntry

RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")


def incident_id(installation: str, alert_key: str, since: datetime) -> str:
    """The identity of one incident of one alert group in one installation: its firing,
    reminders and resolved notifications share it (PagerDuty's ``dedup_key``)."""
    when = since.astimezone(UTC).isoformat(timespec="microseconds")
    return _digest(installation, alert_key, when)


def outbox_key(incident: str, seq: int, kind: str, target: str) -> str:
    """The idempotency key of one notification of one incident's transition to one target."""
    return _digest(incident, str(seq), kind, target)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def unique_targets(targets: tuple[str, ...]) -> tuple[str, ...]:
    """The rule's targets, each once, in the order written."""
    return tuple(dict.fromkeys(targets))


def entries(
    group: Group,
    state: AlertStateRecord,
    kind: Kind,
    *,
    since: datetime,
    at: datetime,
    annotations: Mapping[str, str],
    labels: Mapping[str, str],
    status_page_url: str | None,
    redactor: Redactor,
    installation: str,
    dependents: tuple[str, ...] = (),
    evidence: tuple[dict[str, Any], ...] = (),
    reason: str = "",
) -> tuple[OutboxEntry, ...]:
    """One outbox entry per notify target of ``group``'s rule for the event ``state.seq``
    of the incident active since ``since`` in ``installation``."""
    rule = group.rule
    incident = incident_id(installation, group.alert_key, since)
    shown = {k: redactor.text(v) for k, v in annotations.items()}
    runbook = next((shown[k] for k in RUNBOOK_ANNOTATIONS if shown.get(k)), None)
    regions = (group.region,) if group.region is not None else state.regions
    out: list[OutboxEntry] = []
    for target in unique_targets(rule.notify):
        notification = Notification(
            key=outbox_key(incident, state.seq, kind, target),
            alert_key=group.alert_key,
            kind=kind,
            rule=rule.name,
            severity=rule.severity,
            target=target,
            condition=rule.condition.text,
            value=state.value,
            threshold=rule.condition.threshold,
            check=group.check,
            regions=tuple(regions),
            since=since,
            at=at,
            summary=shown.get("summary", rule.name),
            labels={k: redactor.text(v) for k, v in labels.items()},
            annotations=shown,
            runbook_url=runbook,
            status_page_url=status_page_url,
            incident=incident,
            dependents=dependents,
            evidence=evidence,
            reason=reason,
        )
        out.append(
            OutboxEntry(
                key=notification.key,
                alert_key=group.alert_key,
                channel=notification.channel,
                target=target,
                payload=notification.to_json(),
            )
        )
    return tuple(out)

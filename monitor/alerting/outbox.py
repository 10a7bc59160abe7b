"""The outbox rows of one notification event: one :class:`Notification` per notify target.

Each row's ``key`` is ``sha256(alert_key, seq, kind, target)``: the same for a
transition however often (and by however many evaluators) it is computed, different
for every transition, reminder and target.  The outbox table holds it UNIQUE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from monitor.alerting.notification import Kind, Notification
from monitor.alerting.state import Group
from monitor.redact import Redactor
from monitor.store.alert_records import AlertStateRecord, OutboxEntry

RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")


def outbox_key(alert_key: str, seq: int, kind: str, target: str) -> str:
    """The idempotency key of one notification of one transition to one target."""
    material = "\x1f".join((alert_key, str(seq), kind, target))
    return hashlib.sha256(material.encode()).hexdigest()


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
    dependents: tuple[str, ...] = (),
) -> tuple[OutboxEntry, ...]:
    """One outbox entry per notify target of ``group``'s rule for the event ``state.seq``."""
    rule = group.rule
    shown = {k: redactor.text(v) for k, v in annotations.items()}
    runbook = next((shown[k] for k in RUNBOOK_ANNOTATIONS if shown.get(k)), None)
    regions = (group.region,) if group.region is not None else state.regions
    out: list[OutboxEntry] = []
    for target in unique_targets(rule.notify):
        notification = Notification(
            key=outbox_key(group.alert_key, state.seq, kind, target),
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
            dependents=dependents,
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

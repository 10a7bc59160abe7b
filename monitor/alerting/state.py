"""One group's state machine, and the reconciliation of what it has notified.  Pure: no I/O.

States: ``inactive`` -> ``pending`` (condition true; ``since`` = first bad evaluation)
-> ``firing`` once pending lasted ``for`` (0: at once) -> after ``resolve_after``
good evaluations in a row (over different results each time) back to ``inactive``
(resolved).  Pending that turns good goes back to ``inactive`` silently.  No data:
``keep`` leaves the state as it is, ``alert`` counts as bad (notified as ``no_data``),
``ok`` counts as good.

Notifications are reconciled against what the group last *notified*, not fired on
transitions: firing, not silenced and not yet notified -> ``firing`` (``no_data``
without data); inactive while ``firing`` was notified -> ``resolved`` (also when
silenced: what was opened is closed); firing, notified and ``repeat_interval``
elapsed -> ``reminder``.  So a silence that ends while firing sends the firing
message then, and an alert that fired and resolved inside a silence sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from monitor.alerting.evaluate import Observation
from monitor.alerting.notification import Kind
from monitor.config.rules import AlertRule
from monitor.store.alert_records import AlertStateRecord, Notified


@dataclass(frozen=True, slots=True)
class Group:
    """One alert group: a rule, a check, and a region (``None``: aggregated over regions)."""

    rule: AlertRule
    check: str
    region: str | None

    @property
    def alert_key(self) -> str:
        """Stable for the group's whole life: ``rule/check/region`` (``*`` if aggregated)."""
        return f"{self.rule.name}/{self.check}/{self.region or '*'}"


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one evaluation of one group.

    ``state`` is the new record (``version`` already bumped); ``write`` says whether it
    differs from the stored one; ``kind`` is the notification to send, if any, about the
    alert active since ``notify_since``; ``incident`` opens or resolves its incident.
    """

    state: AlertStateRecord
    write: bool
    kind: Kind | None
    notify_since: datetime
    incident: Literal["open", "resolve"] | None


def initial(group: Group, now: datetime) -> AlertStateRecord:
    """The state of a group never seen before: inactive, nothing notified."""
    return AlertStateRecord(
        alert_key=group.alert_key,
        rule=group.rule.name,
        check=group.check,
        region=group.region,
        state="inactive",
        since=None,
        value=None,
        regions=(),
        good_count=0,
        evidence=None,
        notified="none",
        last_notified_at=None,
        seq=0,
        version=0,
        updated_at=now,
        no_data=False,
        severity=group.rule.severity,
        summary="",
    )


def step(
    group: Group,
    stored: AlertStateRecord | None,
    obs: Observation,
    *,
    now: datetime,
    silenced: bool,
    summary: str,
) -> Step:
    """Advance ``stored`` (``None``: no row yet) by one evaluation at ``now``."""
    rule = group.rule
    cur = stored if stored is not None else initial(group, now)
    bad: bool | None = obs.bad
    if obs.no_data:
        bad = {"keep": None, "alert": True, "ok": False}[rule.no_data]
    new = _transition(rule, cur, obs, bad, now)
    kind = _reconcile(rule, new, no_data=obs.no_data, silenced=silenced, now=now)
    new = replace(
        new,
        value=obs.value,
        regions=obs.regions if bad else cur.regions,
        notified=_NOTIFIED_AFTER.get(kind, new.notified) if kind else new.notified,
        last_notified_at=now if kind is not None else new.last_notified_at,
        seq=cur.seq + (kind is not None),
        no_data=obs.no_data,
        severity=rule.severity,
        summary=summary if new.state != "inactive" or kind is not None else cur.summary,
    )
    incident: Literal["open", "resolve"] | None = None
    if new.state == "firing" and cur.state != "firing":
        incident = "open"
    elif cur.state == "firing" and new.state != "firing":
        incident = "resolve"
    # A group gets a row once it is pending: healthy groups cost no writes.
    write = _differs(cur, new) if stored is not None else new.state != "inactive"
    if write:
        new = replace(new, version=cur.version + 1, updated_at=now)
    since = cur.since if kind == "resolved" else new.since
    return Step(state=new, write=write, kind=kind, notify_since=since or now, incident=incident)


_NOTIFIED_AFTER: dict[Kind, Notified] = {
    "firing": "firing",
    "no_data": "firing",
    "resolved": "none",
}


def _transition(
    rule: AlertRule, cur: AlertStateRecord, obs: Observation, bad: bool | None, now: datetime
) -> AlertStateRecord:
    """The state after one verdict: ``bad`` True, False, or ``None`` (no data, kept)."""
    state, since, good, evidence = cur.state, cur.since, cur.good_count, cur.evidence
    if bad:
        good, evidence = 0, obs.evidence
        if state == "inactive":
            state, since = "pending", now
        if state == "pending" and since is not None and now - since >= rule.pending:
            state = "firing"
    elif bad is not None:
        if state == "pending":
            state, since, good, evidence = "inactive", now, 0, obs.evidence
        elif state == "firing" and (obs.no_data or obs.evidence != evidence):
            # Only a verdict over different results counts: a timer re-reading the same
            # window between runs is not a second good evaluation.
            good, evidence = good + 1, obs.evidence
            if good >= rule.resolve_after:
                state, since, good = "inactive", now, 0
    return replace(cur, state=state, since=since, good_count=good, evidence=evidence)


def _reconcile(
    rule: AlertRule, new: AlertStateRecord, *, no_data: bool, silenced: bool, now: datetime
) -> Kind | None:
    """The notification owed, comparing the state with what was last notified."""
    if new.state == "firing" and new.notified != "firing":
        return None if silenced else ("no_data" if no_data else "firing")
    if new.state == "inactive" and new.notified == "firing":
        return "resolved"  # also when silenced: what was opened is closed
    last = new.last_notified_at
    if (
        new.state == "firing"
        and not silenced
        and rule.repeat_interval is not None
        and last is not None
        and now - last >= rule.repeat_interval
    ):
        return "reminder"
    return None


def _differs(old: AlertStateRecord, new: AlertStateRecord) -> bool:
    """Worth a write: anything but the value of an inactive group (that changes every time)."""
    keys = (
        "state",
        "since",
        "regions",
        "good_count",
        "evidence",
        "notified",
        "last_notified_at",
        "seq",
        "no_data",
        "severity",
    )
    if any(getattr(old, k) != getattr(new, k) for k in keys):
        return True
    return new.state != "inactive" and (old.value != new.value or old.summary != new.summary)

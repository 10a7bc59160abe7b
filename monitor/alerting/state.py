"""One group's state machine, and the reconciliation of what it has notified.  Pure: no I/O.

States: ``inactive`` -> ``pending`` (the rule is met, see :mod:`monitor.alerting.confirm`;
``since`` = first bad evaluation) -> ``firing`` once pending lasted ``for`` (0: at once).
A firing group whose newest runs turn good is ``recovering`` (still firing for
notifications) until ``resolve_after`` good runs in a row confirm it, then ``inactive``
(resolved); a bad run while recovering makes it ``firing`` again.  Pending that turns
good goes back to ``inactive`` silently.  No data: ``keep`` leaves the state as it is,
``alert`` counts as bad (notified as ``no_data``), ``ok`` counts as good.
``outage_started_at`` is the first failing run's start and ``outage_ended_at`` the first
passing run's start: the incident's span.

Notifications are reconciled against what the group last *notified*, not fired on
transitions: firing, not silenced and not yet notified -> ``firing`` (``no_data``
without data); inactive while ``firing`` was notified -> ``resolved`` (also when
silenced: what was opened is closed); firing, notified and ``repeat_interval``
elapsed -> ``reminder``.  So a silence that ends while firing sends the firing
message then, and an alert that fired and resolved inside a silence sends nothing.
While the group is flapping (:mod:`monitor.alerting.flapping`) the only message is one
``flapping``; when it settles, the ``firing`` or ``resolved`` one of where it settled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from monitor.alerting.evaluate import Observation
from monitor.alerting.flapping import track
from monitor.alerting.notification import Kind
from monitor.config.rules import AlertRule
from monitor.store.alert_records import FIRING_STATES, AlertStateRecord, Notified


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
    interval: timedelta,
) -> Step:
    """Advance ``stored`` (``None``: no row yet) by one evaluation at ``now``.

    ``interval`` is the check's: the flapping period may be counted in runs.
    """
    rule = group.rule
    cur = stored if stored is not None else initial(group, now)
    bad: bool | None = obs.bad
    if obs.no_data:
        bad = {"keep": None, "alert": True, "ok": False}[rule.no_data]
    new = _transition(rule, cur, obs, bad, now)
    flips, flapping_since = track(rule, cur, new.state, now, interval)
    new = replace(new, flips=flips, flapping_since=flapping_since)
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
    if new.state in FIRING_STATES and cur.state not in FIRING_STATES:
        incident = "open"
    elif cur.state in FIRING_STATES and new.state not in FIRING_STATES:
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
    "flapping": "flapping",
}


def _transition(
    rule: AlertRule, cur: AlertStateRecord, obs: Observation, bad: bool | None, now: datetime
) -> AlertStateRecord:
    """The state after one verdict: ``bad`` True, False, or ``None`` (no data, kept)."""
    if cur.state in FIRING_STATES:
        return _while_firing(cur, obs, bad, now)
    state, since, evidence = cur.state, cur.since, cur.evidence
    started, ended = cur.outage_started_at, cur.outage_ended_at
    if bad:
        evidence = obs.evidence
        if state == "inactive":
            state, since = "pending", now
            started, ended = obs.outage_start or now, None
        if state == "pending" and since is not None and now - since >= rule.pending:
            state = "firing"
    elif bad is not None and state == "pending":
        state, since, evidence = "inactive", now, obs.evidence
    return replace(
        cur,
        state=state,
        since=since,
        good_count=0,
        evidence=evidence,
        outage_started_at=started,
        outage_ended_at=ended,
    )


def _while_firing(
    cur: AlertStateRecord, obs: Observation, bad: bool | None, now: datetime
) -> AlertStateRecord:
    """Firing or recovering: resolved only by confirmed good runs (or ``no_data: ok``)."""
    if bad is None:
        return cur
    state, since, ended = cur.state, cur.since, cur.outage_ended_at
    if obs.no_data:
        state, ended = ("firing", None) if bad else ("inactive", now)
    elif obs.resolved:
        state, ended = "inactive", obs.outage_end or now
    elif obs.recovering:
        state, ended = "recovering", obs.outage_end
    else:
        state, ended = "firing", None
    if state == "inactive":
        since = now
    return replace(
        cur,
        state=state,
        since=since,
        good_count=obs.streak,
        evidence=obs.evidence,
        outage_ended_at=ended,
    )


def _reconcile(
    rule: AlertRule, new: AlertStateRecord, *, no_data: bool, silenced: bool, now: datetime
) -> Kind | None:
    """The notification owed, comparing the state with what was last notified."""
    firing = new.state in FIRING_STATES
    if new.flapping_since is not None:
        return "flapping" if new.notified != "flapping" and not silenced else None
    if firing and new.notified != "firing":
        return None if silenced else ("no_data" if no_data else "firing")
    if not firing and new.notified != "none":
        return "resolved"  # also when silenced: what was opened is closed
    last = new.last_notified_at
    if (
        firing
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
        "outage_started_at",
        "outage_ended_at",
        "flips",
        "flapping_since",
    )
    if any(getattr(old, k) != getattr(new, k) for k in keys):
        return True
    return new.state != "inactive" and (old.value != new.value or old.summary != new.summary)

"""Flap damping: a group that changes state too often becomes one ``flapping`` alert.  Pure.

Every change between resolved (``inactive``/``pending``) and firing (``firing``/``recovering``)
is remembered for the rule's flapping period (``flapping.within``, else ``flapping.runs``
check intervals).  More than ``flapping.changes`` of them within that period and the group
is *flapping* (``flapping_since`` set): one ``flapping`` notification, none for the flips
that follow.  Once no change happened for the period it has *settled*: one notification
of where it settled (``firing`` or ``resolved``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.config.rules import AlertRule
from monitor.store.alert_records import FIRING_STATES, AlertStateRecord


def track(
    rule: AlertRule, cur: AlertStateRecord, new_state: str, now: datetime, interval: timedelta
) -> tuple[tuple[datetime, ...], datetime | None]:
    """The changes still remembered at ``now`` and when flapping started (``None``: not)."""
    within = rule.flapping.period(interval)
    flips = tuple(at for at in cur.flips if now - at < within)
    if (cur.state in FIRING_STATES) != (new_state in FIRING_STATES):
        flips = (*flips, now)
    since = cur.flapping_since
    if since is None and len(flips) > rule.flapping.changes:
        since = now
    elif since is not None and not flips:
        since = None  # stable for ``within``: settled
    return flips, since

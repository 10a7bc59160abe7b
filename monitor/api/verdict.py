"""The status rules: from the latest result per region to a check's and the page's status.

A check's status comes from the newest result in each region that reports it::

    every reporting region passes             -> healthy   (Statuspage: operational)
    some region degraded, none failing        -> degraded  (degraded_performance)
    failing in some regions, not all          -> degraded  (partial_outage)
    failing in every reporting region         -> down      (major_outage)
    no results, or only errors                -> unknown   (operational)

Then the check's alert groups (:func:`with_alerts`): an *active* alert (``firing`` or
``recovering``) keeps a check that the results alone would call healthy at
``recovering`` (degraded_performance) until the alert resolves, and one without
evidence (unknown) at ``degraded`` (partial_outage): the alert has not seen it come
back.  ``pending`` and ``inhibited`` alerts are listed with the check but change
nothing: a pending one is not confirmed yet, an inhibited one is explained by its
parent's alert, which already makes the parent (and so the page) not operational.

An ``error`` result means the probe could not run (no browser, no budget): it is no
evidence either way, so it neither helps nor hurts.  The overall status is ``down`` if
any check is down, ``degraded`` if any is degraded or recovering, else ``healthy``: an
``unknown`` check is shown as such but does not degrade the page.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from monitor.store import ResultRecord
from probes.base import Status

CheckState = Literal["healthy", "recovering", "degraded", "down", "unknown"]
Overall = Literal["healthy", "degraded", "down"]
Component = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]
Indicator = Literal["none", "minor", "major", "critical"]

# Statuspage's own wording of its top-level status, by indicator.
INDICATOR_TEXT: dict[Indicator, str] = {
    "none": "All Systems Operational",
    "minor": "Partially Degraded Service",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
# Statuspage's component statuses, best first.
COMPONENT_ORDER: tuple[Component, ...] = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
_COMPONENT_INDICATOR: dict[Component, Indicator] = {
    "operational": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's status in both vocabularies: smokewatch's and Statuspage's."""

    state: CheckState
    component: Component


UNKNOWN = Verdict("unknown", "operational")
RECOVERING = Verdict("recovering", "degraded_performance")
UNCONFIRMED = Verdict("degraded", "partial_outage")
# Alert states that hold a check away from operational (the engine's; deps adds
# ``inhibited``, which does not).
ACTIVE_ALERT_STATES = frozenset({"firing", "recovering"})


def judge(latest: Iterable[ResultRecord]) -> Verdict:
    """The verdict on one check from its newest result in each region."""
    reporting = [Status(r.status) for r in latest if Status(r.status).measured]
    if not reporting:
        return UNKNOWN
    failing = sum(1 for s in reporting if s is Status.FAIL)
    if failing == len(reporting):
        return Verdict("down", "major_outage")
    if failing:
        return Verdict("degraded", "partial_outage")
    if any(s is Status.DEGRADED for s in reporting):
        return Verdict("degraded", "degraded_performance")
    return Verdict("healthy", "operational")


def with_alerts(verdict: Verdict, alert_states: Collection[str]) -> Verdict:
    """The verdict once the check's alert states are heard: an active alert is never green."""
    if not ACTIVE_ALERT_STATES.intersection(alert_states):
        return verdict
    if verdict.state == "healthy":
        return RECOVERING
    if verdict.state == "unknown":
        return UNCONFIRMED
    return verdict


def overall(states: Iterable[CheckState]) -> Overall:
    """The page's status: the worst check, ``unknown`` counting as nothing."""
    seen = set(states)
    if "down" in seen:
        return "down"
    if seen & {"degraded", "recovering"}:
        return "degraded"
    return "healthy"


def group_state(states: Iterable[CheckState]) -> CheckState:
    """A group's state: ``unknown`` when none of its checks has evidence, else the page's
    rule (:func:`overall`) over its checks."""
    seen = list(states)
    return "unknown" if set(seen) <= {"unknown"} else overall(seen)


def indicator(components: Iterable[Component]) -> Indicator:
    """Statuspage's top-level indicator: the worst component decides."""
    order: list[Indicator] = ["none", "minor", "major", "critical"]
    worst = 0
    for component in components:
        worst = max(worst, order.index(_COMPONENT_INDICATOR[component]))
    return order[worst]

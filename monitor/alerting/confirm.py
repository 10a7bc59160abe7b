"""Votes and confirmation: is a region bad, has it recovered, and is the group's rule met.

Each stored run of a check in a region is one *vote*: bad when the run's own value meets
the rule's condition (a ``fail`` for ``smoke_test.success < 0.9``, a slow answer for
``smoke_test.api_response > 500``).  ``error`` runs (nothing learnt about the target) and
``suspect`` runs (the region's control check failing) cast no vote.

A region is **bad** when all of these hold:

- it has at least ``min_samples`` votes in the lookback;
- at least ``confirm.failures`` (k) of its last ``confirm.of`` (n) votes are bad;
- the rule's condition holds over its window, extended back to contain the last n votes;
- its newest ``resolve_after`` (m) votes are not all good (else it has already recovered).

A region has **recovered** when its newest m votes are good.  A group fires when at least
``min_regions`` of its regions are bad, and a firing group resolves when fewer than
``min_regions`` regions have not recovered; it is *recovering* in between, once fewer than
``min_regions`` regions have a bad newest vote.  For a ``count`` aggregation votes mean
nothing: the condition over the window alone decides.  The group's value is the worst
region's over the (extended) window, and once resolved the value of the good runs that
resolved it (the window may still hold the failures).

The lookback that must be read to find the last n votes of a check is
``max(window, n * interval * 1.5 + timeout)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.alerting.evaluate import Observation, aggregate, is_bad, result_value
from monitor.config.rules import AlertRule, Condition
from monitor.store.records import ResultRecord

NO_VOTE = frozenset({"error", "suspect"})


@dataclass(frozen=True, slots=True)
class Vote:
    """One stored run's say on a rule: its value in base units and whether it is bad."""

    result_id: int
    started_at: datetime
    value: float
    bad: bool


def vote(rule: AlertRule, record: ResultRecord) -> Vote | None:
    """The vote ``record`` casts on ``rule``, or ``None`` (no evidence about the target)."""
    if str(record.status) in NO_VOTE or record.id is None:
        return None
    value = result_value(rule.condition.metric, record)
    if value is None:
        return None
    return Vote(record.id, record.started_at, value, is_bad(rule.condition, value))


def lookback(rule: AlertRule, interval: timedelta, timeout: timedelta) -> timedelta:
    """How far back a check's results are read: the window, or enough for the last n runs."""
    return max(rule.window, rule.confirm.of * interval * 1.5 + timeout)


@dataclass(frozen=True, slots=True)
class RegionVerdict:
    """One region's votes judged: ``streak`` counts its newest good votes in a row;
    ``outage_start`` is the first bad run among its last n, ``recovery_start`` the first
    run of its closing good streak."""

    region: str
    votes: int
    value: float | None
    recovered_value: float | None  # over its last m votes, once they are all good
    bad: bool
    last_bad: bool
    streak: int
    outage_start: datetime | None
    recovery_start: datetime | None


def judge(
    rule: AlertRule,
    region: str,
    votes: Sequence[Vote],
    now: datetime,
    *,
    since: datetime | None = None,
) -> RegionVerdict:
    """The verdict on one region's votes (oldest first) at ``now``; ``since``: the start of
    the run that last resolved the group (bad votes before it confirm nothing again)."""
    condition = rule.condition
    n, m = rule.confirm.of, rule.resolve_after
    value = aggregate(condition.aggregation, [v.value for v in _considered(rule, votes, now)])
    holds = value is not None and is_bad(condition, value)
    last = [v for v in votes[-n:] if since is None or v.started_at >= since]
    if condition.aggregation == "count":
        streak = 0 if holds else m
        bad, last_bad = holds, holds
    else:
        streak = _good_streak(votes)
        last_bad = bool(votes) and votes[-1].bad
        bad = (
            len(votes) >= rule.min_samples
            and sum(v.bad for v in last) >= rule.confirm.failures
            and holds
            and streak < m
        )
    first_bad = next((v.started_at for v in last if v.bad), None)
    recovery = votes[-streak].started_at if 0 < streak <= len(votes) else None
    recovered = (
        aggregate(condition.aggregation, [v.value for v in votes[-m:]])
        if streak >= m and condition.aggregation != "count"
        else value
    )
    return RegionVerdict(
        region, len(votes), value, recovered, bad, last_bad, streak, first_bad, recovery
    )


def observe(
    rule: AlertRule,
    by_region: Mapping[str, Sequence[Vote]],
    now: datetime,
    *,
    since: datetime | None = None,
) -> Observation:
    """The group's verdict over its regions' votes (one region, or all of an aggregated group);
    ``since``: see :func:`judge`."""
    judged = [judge(rule, region, votes, now, since=since) for region, votes in by_region.items()]
    voting = [j for j in judged if j.votes]
    ids = sorted(v.result_id for votes in by_region.values() for v in votes)
    evidence = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest() if ids else ""
    if not voting:
        return Observation(value=None, bad=False, regions=(), evidence=evidence)
    need = rule.regions_needed(len(by_region)) if rule.aggregated else 1
    bad = sorted((j for j in voting if j.bad), key=lambda j: j.region)
    unrecovered = [j for j in voting if j.streak < rule.resolve_after]
    failing = [j for j in voting if j.last_bad]
    resolved = len(unrecovered) < need
    if resolved:  # the value the good runs that resolve it give (the window may hold failures)
        values = {j.region: j.recovered_value for j in voting if j.recovered_value is not None}
    else:
        values = {j.region: j.value for j in (bad or voting) if j.value is not None}
    starts = [j.outage_start for j in bad if j.outage_start is not None]
    ends = [j.recovery_start for j in voting if j.recovery_start is not None]
    return Observation(
        value=_worst(rule.condition, values) if values else None,
        bad=len(bad) >= need,
        regions=tuple(j.region for j in bad),
        evidence=evidence,
        resolved=resolved,
        recovering=len(failing) < need,
        streak=min(j.streak for j in voting),
        outage_start=min(starts) if starts else None,
        outage_end=min(ends) if ends else None,
    )


def _considered(rule: AlertRule, votes: Sequence[Vote], now: datetime) -> Sequence[Vote]:
    """The votes in the window, or the last n when the window holds fewer."""
    start = now - rule.window
    inside = [v for v in votes if v.started_at >= start]
    return inside if len(inside) >= rule.confirm.of else votes[-rule.confirm.of :]


def _good_streak(votes: Sequence[Vote]) -> int:
    streak = 0
    for v in reversed(votes):
        if v.bad:
            break
        streak += 1
    return streak


def _worst(condition: Condition, values: Mapping[str, float]) -> float:
    ordered = [values[r] for r in sorted(values)]
    if condition.operator in ("<", "<="):
        return min(ordered)
    if condition.operator in (">", ">="):
        return max(ordered)
    return ordered[0]

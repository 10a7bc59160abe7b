"""Inhibition: a check's new alerts are held while something it depends on is failing.

A check's *holders* are the checks it ``depends_on`` (directly or through them) and its
region's control checks (``control: true``), with their alerts and
``region_unhealthy/<region>``.  A group that would page (its state machine says
``firing`` and it has not notified ``firing`` yet) is *held* when, in its region (an
alert over regions: in any region):

1. a holder's alert is ``pending``, ``firing``, ``recovering`` or itself ``inhibited``
   (so a chain holds all the way down), or ``region_unhealthy/<region>`` is pending
   or firing; or
2. **a holder's runs do not vouch for it** (:func:`unvouched`): among the holder's
   measured runs (pass, degraded, fail) from its last one started at or before the
   group's first bad vote (among its last ``confirm.of``) up to now, one failed (unless
   the holder passed after its last failure and the group then cast
   ``confirm.failures`` bad votes of its own); or none of them started at or after that
   first bad vote yet.  So the hold starts at the
   holder's first failing *run*, not at its alert's confirmation, and a child that
   failed before its parent's failing run was even stored waits for it.  A holder
   with no measured run in the region holds nothing, and one that has not run for
   ``2 * interval + timeout`` (its staleness) since the group's first bad vote stops
   holding: a hold never outlives the evidence.

A held group is recorded ``inhibited`` (``inhibited_by``: the holder's alert key, or
``<rule>/<holder check>/<region>`` when the holder's runs hold it) and nothing is
notified.  Resolution is never held: a group that notified ``firing`` stays ``firing``
and sends its ``resolved``; an inhibited group that recovers goes inactive in silence
(it never paged).  When the hold lifts while the group is still bad (the parent's
runs pass after the group's first bad vote), the next evaluation makes it ``firing``
and notifies it: it is down on its own, slightly later, never lost.

The state machine never sees ``inhibited``: :meth:`Inhibitor.unmask` hands it the
record as ``firing`` and :meth:`Inhibitor.settle` puts the hold back on its result.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from monitor.config.models import CheckCommon
from monitor.config.regions import REGION_RULE, region_alert_key
from monitor.store.alert_records import AlertStateRecord

if TYPE_CHECKING:
    from monitor.alerting.state import Group, Step
    from monitor.store.alerts import AlertStore

# A holder's measured runs in one region, oldest first: (started_at, failed).
Runs = Sequence[tuple[datetime, bool]]
HOLDING = frozenset({"pending", "firing", "recovering", "inhibited"})
# States in which a group that never notified would page now.
_PAGING = frozenset({"firing", "recovering"})
T = TypeVar("T")


class Dependencies:
    """The ``depends_on`` graph of one config's enabled checks (validated acyclic)."""

    def __init__(
        self, checks: Sequence[CheckCommon], alerted: Collection[str] | None = None
    ) -> None:
        """``alerted``: the checks some rule selects (``None``: all).  Only their runs hold
        (a parent no rule alerts on could hold its children forever, unseen)."""
        names = {c.name for c in checks}
        self._alerted = frozenset(names if alerted is None else alerted)
        self._parents = {c.name: tuple(p for p in c.depends_on if p in names) for c in checks}
        self._controls = frozenset(c.name for c in checks if c.control)
        self._control_regions = {c.name: c.regions for c in checks if c.control}
        self._order = [c.name for c in checks]
        self._above = {name: self._walk(name) for name in self._order}
        # Inverted in one pass, in config order (scanning every check per check was
        # quadratic: seconds for 10,000 checks).
        below: dict[str, list[str]] = {name: [] for name in self._order}
        for name in self._order:
            for ancestor in self._above[name]:
                below[ancestor].append(name)
        self._below = {name: tuple(children) for name, children in below.items()}

    @property
    def any(self) -> bool:
        """Whether anything can hold an alert: a dependency or a control check."""
        return bool(self._controls) or any(self._parents.values())

    def ancestors(self, check: str) -> tuple[str, ...]:
        """Every check ``check`` depends on, nearest first."""
        return self._above.get(check, ())

    def _walk(self, check: str) -> tuple[str, ...]:
        seen: list[str] = []
        queue = list(self._parents.get(check, ()))
        while queue:
            name = queue.pop(0)
            if name not in seen:
                seen.append(name)
                queue.extend(self._parents.get(name, ()))
        return tuple(seen)

    @property
    def controls(self) -> frozenset[str]:
        """The enabled control checks."""
        return self._controls

    def holders(self, check: str) -> tuple[str, ...]:
        """The checks whose runs can hold ``check``'s alerts: its ancestors some rule alerts
        on, then the control checks (none for a control check: the region alert speaks
        for it; a control always has one, ``region_unhealthy``)."""
        parents = tuple(p for p in self.ancestors(check) if p in self._alerted)
        if check in self._controls:
            return parents
        return (*parents, *sorted(self._controls))

    def controls_in(self, region: str | None) -> frozenset[str]:
        """The control checks that run in ``region`` (every one for ``None``)."""
        return frozenset(
            name
            for name, regions in self._control_regions.items()
            if region is None or regions is None or region in regions
        )

    def touched(self, checks: Collection[str]) -> set[str]:
        """``checks`` and every check whose alerts they can hold or release."""
        out = set(checks)
        for check in checks:
            out.update(self.dependents(check))
        if out & self._controls:
            out.update(self._order)  # a control vouches for every check of its region
        return out

    def dependents(self, check: str) -> tuple[str, ...]:
        """Every check depending on ``check`` (directly or not), in config order."""
        return self._below.get(check, ())

    def depth(self, check: str) -> int:
        """0 for a check depending on nothing; parents are always shallower."""
        parents = self._parents.get(check, ())
        return 1 + max(self.depth(p) for p in parents) if parents else 0

    def ordered(
        self, plan: Iterable[tuple[T, Sequence[CheckCommon]]]
    ) -> list[tuple[T, CheckCommon]]:
        """``(rule, check)`` pairs with parents first, so a child sees its parent's new state."""
        pairs = [(rule, check) for rule, checks in plan for check in checks]
        return sorted(pairs, key=lambda pair: self.depth(pair[1].name))

    async def inhibitor(
        self,
        alerts: AlertStore,
        runs: Mapping[tuple[str, str], Runs] | None = None,
        stale: Mapping[str, timedelta] | None = None,
    ) -> Inhibitor:
        """An :class:`Inhibitor` over the alerts stored now (none read without dependencies)
        and the holders' measured ``runs`` by ``(check, region)``; ``stale``: each holder's
        staleness (``2 * interval + timeout``)."""
        states = await alerts.states() if self.any else {}
        return Inhibitor(self, states, runs or {}, stale or {})


def unvouched(
    runs: Runs,
    since: datetime,
    now: datetime,
    stale: timedelta,
    *,
    bad: Sequence[datetime] = (),
    fresh: int = 0,
) -> bool:
    """Do a holder's ``runs`` fail to vouch for a group whose first bad vote is ``since``?

    They hold it when a run from the holder's last one started at or before ``since``
    onwards failed, or when none started at or after ``since`` yet (and ``stale`` has not
    passed since then).  No runs at all hold nothing.

    A failure stops holding once the holder was seen up again and the group still
    failed on its own: ``fresh`` (> 0) of the group's bad votes (``bad``: their starts)
    started after the holder's first passing run since its last failing one.  So a
    holder's chance failure costs the group ``fresh`` new bad votes, not the time for its
    old ones to leave its last ``confirm.of``, and the old votes (those the holder's
    outage may explain) never confirm an alert by themselves.
    """
    if not runs:
        return False
    before = [at for at, _ in runs if at <= since]
    start = before[-1] if before else since
    window = [(at, failed) for at, failed in runs if start <= at <= now]
    failures = [at for at, failed in window if failed]
    if failures:
        up = next((at for at, failed in window if at > failures[-1] and not failed), None)
        return not (fresh > 0 and up is not None and sum(at > up for at in bad) >= fresh)
    return not any(at >= since for at, _ in window) and now - since < stale


class Inhibitor:
    """One evaluation's view of the holding alerts, kept current as groups are written."""

    def __init__(
        self,
        deps: Dependencies,
        states: Mapping[str, AlertStateRecord],
        runs: Mapping[tuple[str, str], Runs],
        stale: Mapping[str, timedelta],
    ) -> None:
        self._deps = deps
        self._states = dict(states)
        self._runs = runs
        self._stale = stale

    def note(self, state: AlertStateRecord) -> None:
        """``state`` was just written: later groups of this evaluation see it."""
        self._states[state.alert_key] = state

    def holder(self, check: str, region: str | None) -> str | None:
        """The alert key of an active alert holding ``check``'s alerts in ``region``, if any."""
        if region is not None:
            region_alert = self._states.get(region_alert_key(region))
            if region_alert is not None and region_alert.state in HOLDING:
                return region_alert.alert_key
        parents = self._deps.ancestors(check)
        if not parents:
            return None
        for key in sorted(self._states):
            state = self._states[key]
            if (
                state.check in parents
                and state.rule != REGION_RULE
                and state.state in HOLDING
                and (region is None or state.region is None or state.region == region)
            ):
                return key
        return None

    def region_held(
        self,
        check: str,
        region: str,
        since: datetime,
        now: datetime,
        *,
        bad: Sequence[datetime] = (),
        fresh: int = 0,
    ) -> bool:
        """Are ``check``'s votes from ``region`` (first bad vote ``since``; ``bad``, ``fresh``:
        see :func:`unvouched`) out of quorums?

        Yes while ``region_unhealthy/<region>`` is pending or firing, or while a control
        check of the region does not vouch for them (:func:`unvouched`).
        """
        if check in self._deps.controls:
            return False
        region_alert = self._states.get(region_alert_key(region))
        if region_alert is not None and region_alert.state in HOLDING:
            return True
        return any(
            unvouched(
                self._runs.get((control, region), ()),
                since,
                now,
                self._stale.get(control, timedelta(0)),
                bad=bad,
                fresh=fresh,
            )
            for control in sorted(self._deps.controls_in(region))
        )

    def failing_holder(
        self,
        group: Group,
        since: datetime | None,
        now: datetime,
        bad: Mapping[str, Sequence[datetime]] | None = None,
    ) -> str | None:
        """The holder whose runs do not vouch for ``group`` (first bad vote ``since``;
        ``bad``: the starts of its bad votes by region, see :func:`unvouched`)."""
        if since is None:
            return None
        controls = self._deps.controls_in(group.region)
        for holder in self._deps.holders(group.check):
            if holder in self._deps.controls and holder not in controls:
                continue
            regions = (
                [group.region]
                if group.region is not None
                else sorted(r for c, r in self._runs if c == holder)
            )
            stale = self._stale.get(holder, timedelta(0))
            fresh = group.rule.confirm.failures
            judged = [
                unvouched(
                    self._runs[(holder, r)],
                    since,
                    now,
                    stale,
                    bad=(bad or {}).get(r, ()),
                    fresh=fresh,
                )
                for r in regions
                if self._runs.get((holder, r))
            ]
            # Over regions: held only when the holder holds in every region it ran in.
            if judged and all(judged):
                if holder in controls and group.region is not None:
                    return region_alert_key(group.region)
                return f"{group.rule.name}/{holder}/{group.region or '*'}"
        return None

    def dependents(self, check: str) -> tuple[str, ...]:
        return self._deps.dependents(check)

    @staticmethod
    def unmask(stored: AlertStateRecord | None) -> AlertStateRecord | None:
        """The record as the state machine knows it: ``inhibited`` reads as ``firing``."""
        if stored is None or stored.state != "inhibited":
            return stored
        return replace(stored, state="firing", inhibited_by=None)

    def settle(
        self,
        group: Group,
        stored: AlertStateRecord | None,
        done: Step,
        now: datetime,
        *,
        since: datetime | None = None,
        bad: Mapping[str, Sequence[datetime]] | None = None,
    ) -> Step:
        """``done`` (computed on the unmasked record) with the hold applied or lifted;
        ``since``: the group's first bad vote among its last ``confirm.of``; ``bad``: the
        starts of its bad votes by region."""
        new = done.state
        pages = new.state in _PAGING and (
            done.kind in ("firing", "no_data") or new.notified != "firing"
        )
        holder = None
        if pages:
            holder = self.holder(group.check, group.region) or self.failing_holder(
                group, since or new.outage_started_at, now, bad
            )
        was_held = stored is not None and stored.state == "inhibited"
        if holder is None and not was_held:
            return done
        # Flap damping counts the changes people saw: a held group's changes (held, or
        # going inactive in silence) are not flips; its release to firing is one.
        unseen = tuple(at for at in new.flips if at != now)
        since_before = stored.flapping_since if stored is not None else None
        if holder is not None:
            # Undo what the step did to notify: nothing goes out, nothing was notified.
            base = stored
            new = replace(
                new,
                state="inhibited",
                inhibited_by=holder,
                notified=base.notified if base is not None else "none",
                seq=base.seq if base is not None else 0,
                last_notified_at=base.last_notified_at if base is not None else None,
                flips=unseen,
                flapping_since=since_before,
            )
            kind = None
        elif new.state in _PAGING:
            new = replace(new, inhibited_by=None, flips=(*unseen, now))
            kind = done.kind
        else:
            new = replace(new, inhibited_by=None, flips=unseen, flapping_since=since_before)
            kind = done.kind
        write = _changed(stored, new)
        version = (stored.version if stored is not None else 0) + (1 if write else 0)
        new = replace(new, version=version, updated_at=now if write else new.updated_at)
        return replace(done, state=new, write=write, kind=kind)


_IGNORED = frozenset({"version", "updated_at"})


def _changed(stored: AlertStateRecord | None, new: AlertStateRecord) -> bool:
    if stored is None:
        return new.state != "inactive"
    return any(
        getattr(stored, f.name) != getattr(new, f.name)
        for f in fields(AlertStateRecord)
        if f.name not in _IGNORED
    )

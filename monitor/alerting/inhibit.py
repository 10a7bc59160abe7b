"""Inhibition: a check's new alerts are held while an alert it depends on is active.

A check's *holders* are the alerts of the checks it ``depends_on`` (directly or
through them) and ``region_unhealthy/<region>`` (control checks included: the region
alert speaks for them).  A
holder counts while it is ``pending``, ``firing`` or itself ``inhibited`` (so a chain
holds all the way down), in the same region (an alert over regions holds and is held
by every region).

When the engine's state machine would make a group ``firing`` that has not notified
``firing`` yet, and a holder is active, the group is recorded ``inhibited`` instead
(``inhibited_by``: the holder's alert key) and nothing is notified.  Resolution is
never inhibited: a group that notified ``firing`` before its holder fired stays
``firing`` and sends its ``resolved``; an inhibited group that recovers goes
inactive in silence (it never paged).  When the holder clears first, the next
evaluation makes the group ``firing`` and notifies it: it is down on its own.

The state machine never sees ``inhibited``: :meth:`Inhibitor.unmask` hands it the
record as ``firing`` and :meth:`Inhibitor.settle` puts the hold back on its result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from monitor.alerting.region_settings import REGION_RULE, region_alert_key
from monitor.config.models import CheckCommon
from monitor.store.alert_records import AlertStateRecord

if TYPE_CHECKING:
    from monitor.alerting.state import Group, Step
    from monitor.store.alerts import AlertStore

HOLDING = frozenset({"pending", "firing", "recovering", "inhibited"})
# States in which a group that never notified would page now.
_PAGING = frozenset({"firing", "recovering"})
T = TypeVar("T")


class Dependencies:
    """The ``depends_on`` graph of one config's enabled checks (validated acyclic)."""

    def __init__(self, checks: Sequence[CheckCommon]) -> None:
        names = {c.name for c in checks}
        self._parents = {c.name: tuple(p for p in c.depends_on if p in names) for c in checks}
        self._controls = frozenset(c.name for c in checks if c.control)
        self._order = [c.name for c in checks]
        self._above = {name: self._walk(name) for name in self._order}
        self._below = {
            name: tuple(n for n in self._order if name in self._above[n]) for name in self._order
        }

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

    async def inhibitor(self, alerts: AlertStore) -> Inhibitor:
        """An :class:`Inhibitor` over the alerts stored now (none read without dependencies)."""
        states = await alerts.states() if self.any else {}
        return Inhibitor(self, states)


class Inhibitor:
    """One evaluation's view of the holding alerts, kept current as groups are written."""

    def __init__(self, deps: Dependencies, states: Mapping[str, AlertStateRecord]) -> None:
        self._deps = deps
        self._states = dict(states)

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

    def dependents(self, check: str) -> tuple[str, ...]:
        return self._deps.dependents(check)

    @staticmethod
    def unmask(stored: AlertStateRecord | None) -> AlertStateRecord | None:
        """The record as the state machine knows it: ``inhibited`` reads as ``firing``."""
        if stored is None or stored.state != "inhibited":
            return stored
        return replace(stored, state="firing", inhibited_by=None)

    def settle(
        self, group: Group, stored: AlertStateRecord | None, done: Step, now: datetime
    ) -> Step:
        """``done`` (computed on the unmasked record) with the hold applied or lifted."""
        new = done.state
        pages = new.state in _PAGING and (
            done.kind in ("firing", "no_data") or new.notified != "firing"
        )
        holder = self.holder(group.check, group.region) if pages else None
        was_held = stored is not None and stored.state == "inhibited"
        if holder is None and not was_held:
            return done
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
            )
            kind = None
        else:
            new = replace(new, inhibited_by=None)
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

"""The alert engine: evaluate every rule's groups over stored results and apply each change.

    engine = Engine(loaded, AlertStore(store), log=log)
    report = await engine.evaluate(now)                      # every rule
    report = await engine.evaluate(now, checks={"homepage"}) # the rules touching those checks

Per rule, the groups are the enabled checks it selects (``checks`` globs, ``kinds``)
times the regions that check has (declared in the config, seen in the lookback, or
already holding a state), narrowed by the rule's ``regions``; with ``min_regions``
other than 1 (a count over 1 or a share) a group spans all regions of its check.
Each stored run in the check's lookback casts a vote, and the votes are judged by
:mod:`monitor.alerting.confirm` (k of the last n, ``min_samples``, ``min_regions``,
``resolve_after``).  Each group's change is
one compare-and-set transaction with its outbox rows and incident change
(:meth:`AlertStore.apply`), so several evaluators on one database apply each change
once.  States are read *before* results: an evaluator whose results predate another's
write then holds an older version, and its write loses.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from monitor.alerting.confirm import Vote, lookback, observe, vote
from monitor.alerting.evidence import ledger, reasons_text
from monitor.alerting.inhibit import Dependencies, Inhibitor
from monitor.alerting.outbox import entries
from monitor.alerting.silences import AGGREGATED_REGION, Suppressions, alert_labels
from monitor.alerting.state import Group, Step, step
from monitor.alerting.templating import render_annotations
from monitor.config.loader import LoadedConfig
from monitor.config.models import CheckCommon
from monitor.config.rules import AlertRule
from monitor.redact import Redactor
from monitor.store.alert_records import (
    AlertStateRecord,
    IncidentChange,
    OutboxEntry,
    SilenceRecord,
    StateWrite,
)
from monitor.store.alerts import AlertStore
from monitor.store.records import ResultRecord
from probes.base import Status


@dataclass(slots=True)
class EvaluationReport:
    """What one evaluation did: groups evaluated, changes applied (and lost to another
    evaluator), notifications written, and each state change as ``(alert_key, from, to)``."""

    groups: int = 0
    applied: int = 0
    lost: int = 0
    notifications: int = 0
    transitions: list[tuple[str, str, str]] = field(default_factory=list)


class Engine:
    """Evaluates one config's rules; one evaluation at a time per instance."""

    def __init__(
        self,
        loaded: LoadedConfig,
        alerts: AlertStore,
        *,
        log: Any,
        redactor: Redactor | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self._rules = loaded.rules.alerts
        self._checks = [c for c in loaded.config.checks if c.enabled]
        self._regions = loaded.config.regions
        self._status_page_url = loaded.config.api.public_url
        self._suppressions = Suppressions(loaded.rules)
        self._alerts = alerts
        self._log = log
        self._redactor = redactor if redactor is not None else Redactor(loaded.secrets)
        self._on_written = on_written
        self._lock = asyncio.Lock()
        self._timing = {
            c.name: (settings.interval, settings.timeout)
            for c in self._checks
            for settings in (loaded.config.settings_for(c),)
        }
        alerted = {c.name for rule in self._rules for c in self.selected(rule)}
        self._deps = Dependencies(self._checks, alerted)
        # How long a holder's silence still holds (monitor.alerting.inhibit.unvouched).
        self._stale = {
            name: 2 * interval + timeout for name, (interval, timeout) in self._timing.items()
        }

    def selected(self, rule: AlertRule) -> list[CheckCommon]:
        """The enabled checks ``rule`` applies to."""
        return [
            c
            for c in self._checks
            if (rule.checks is None or any(fnmatchcase(c.name, g) for g in rule.checks))
            and (rule.kinds is None or c.kind in rule.kinds)
        ]

    def _lookback(self, rule: AlertRule, check: CheckCommon) -> timedelta:
        """How far back ``check``'s results are read for ``rule`` (enough for the last n)."""
        interval, timeout = self._timing[check.name]
        return lookback(rule, interval, timeout)

    async def evaluate(
        self, now: datetime, *, checks: Collection[str] | None = None
    ) -> EvaluationReport:
        """Evaluate every rule at ``now``; with ``checks``, only those checks' groups."""
        async with self._lock:
            return await self._evaluate(now, checks)

    async def _evaluate(self, now: datetime, only: Collection[str] | None) -> EvaluationReport:
        if only is not None:
            only = self._deps.touched(only)  # a parent's or control's run can release a hold
        plan: list[tuple[AlertRule, list[CheckCommon]]] = []
        for rule in self._rules:
            chosen = [c for c in self.selected(rule) if only is None or c.name in only]
            if chosen:
                plan.append((rule, chosen))
        report = EvaluationReport()
        if not plan:
            return report
        installation = await self._alerts.installation_id()  # part of every notification key
        # States first (see the module docstring), then silences and results.
        stored = await self._alerts.states({rule.name for rule, _ in plan})
        silences = await self._alerts.silences(active_at=now)
        longest = max(self._lookback(rule, c) for rule, chosen in plan for c in chosen)
        names = {c.name for _, chosen in plan for c in chosen}
        holders = {h for name in names for h in self._deps.holders(name)}
        # A holder's last run before a group's first bad vote is read too (see inhibit).
        span = longest + max((self._stale[h] for h in holders), default=timedelta(0))
        by_check: dict[str, list[ResultRecord]] = defaultdict(list)
        for record in await self._alerts.window_results(
            names | holders, since=now - span, until=now
        ):
            by_check[record.check].append(record)
        held = await self._deps.inhibitor(
            self._alerts, measured_runs(by_check, holders), self._stale
        )
        # Parents first (monitor.alerting.inhibit): a child sees its parent's new state.
        for rule, check in self._deps.ordered(plan):
            records = by_check[check.name]
            for group, by_region in self._groups(rule, check, records, now, stored):
                report.groups += 1
                await self._advance(
                    group,
                    by_region,
                    records=records,
                    stored=stored,
                    silences=silences,
                    now=now,
                    report=report,
                    installation=installation,
                    held=held,
                )
        if report.notifications and self._on_written is not None:
            self._on_written()
        return report

    def _groups(
        self,
        rule: AlertRule,
        check: CheckCommon,
        records: Sequence[ResultRecord],
        now: datetime,
        stored: Mapping[str, AlertStateRecord],
    ) -> list[tuple[Group, dict[str, list[Vote]]]]:
        votes: dict[str, list[Vote]] = defaultdict(list)
        start = now - self._lookback(rule, check)
        for record in records:
            if record.started_at < start:
                continue
            cast = vote(rule, record)
            if cast is not None:
                votes[record.region].append(cast)
        regions = set(check.regions or self._regions) | {r.region for r in records}
        if rule.aggregated:
            group = Group(rule, check.name, None)
            if rule.regions is not None:
                regions &= set(rule.regions)
            if not regions and group.alert_key not in stored:
                return []
            return [(group, {r: votes.get(r, []) for r in sorted(regions)})]
        regions |= {
            s.region
            for s in stored.values()
            if s.rule == rule.name and s.check == check.name and s.region is not None
        }
        if rule.regions is not None:
            regions &= set(rule.regions)
        return [(Group(rule, check.name, r), {r: votes.get(r, [])}) for r in sorted(regions)]

    async def _advance(
        self,
        group: Group,
        by_region: Mapping[str, Sequence[Vote]],
        *,
        records: Sequence[ResultRecord],
        stored: Mapping[str, AlertStateRecord],
        silences: Sequence[SilenceRecord],
        now: datetime,
        report: EvaluationReport,
        installation: str,
        held: Inhibitor,
    ) -> None:
        rule = group.rule
        kept = stored.get(group.alert_key)
        prev = held.unmask(kept)
        if group.region is None:  # over regions: a region its controls do not vouch for
            by_region = quorum(
                group.check, by_region, held, rule.confirm.of, now, fresh=rule.confirm.failures
            )
        # A resolved group fires again on bad votes cast since it resolved, never on the
        # outage's own old ones still among its last n.
        resolved = prev is not None and prev.state == "inactive"
        resolved_at = prev.outage_ended_at if prev is not None and resolved else None
        obs = observe(rule, by_region, now, since=resolved_at)
        labels = alert_labels(rule, group.check, group.region)
        reason = self._suppressions.reason(rule, labels, now=now, stored=silences)
        active = obs.bad or obs.no_data or (prev is not None and prev.state != "inactive")
        annotations: dict[str, str] = {}
        regions = [group.region] if group.region else list(obs.regions or by_region)
        failure = reasons_text(records, regions)
        if active:
            annotations = render_annotations(
                rule,
                check=group.check,
                region=group.region,
                regions=regions,
                value=obs.value,
                dependents=held.dependents(group.check),
                reason=failure,
                on_error=lambda key, exc: self._log.warning(
                    "alert.template_failed",
                    rule=rule.name,
                    annotation=key,
                    error=type(exc).__name__,
                    exc_info=exc,
                ),
            )
        summary = self._redactor.text(annotations.get("summary", prev.summary if prev else ""))
        done = step(
            group,
            prev,
            obs,
            now=now,
            silenced=reason is not None,
            summary=summary,
            interval=self._timing[group.check][0],
        )
        bad = {r: [v.started_at for v in votes if v.bad] for r, votes in by_region.items()}
        done = held.settle(group, kept, done, now, since=obs.outage_start, bad=bad)
        if not done.write:
            return
        outbox: tuple[OutboxEntry, ...] = ()
        if done.kind is not None:
            evidence = await ledger(
                records,
                [group.region] if group.region is not None else list(by_region),
                now=now,
                recent=self._alerts.recent_results,
                public_url=self._status_page_url,
            )
            outbox = entries(
                group,
                done.state,
                done.kind,
                since=done.notify_since,
                at=now,
                annotations=annotations,
                labels=labels,
                status_page_url=self._status_page_url,
                redactor=self._redactor,
                installation=installation,
                dependents=held.dependents(group.check),
                evidence=evidence,
                reason=failure,
            )
        write = StateWrite(
            state=done.state,
            expected_version=kept.version if kept is not None else None,
            outbox=outbox,
            incident=_incident(group, done, now),
        )
        if not await self._alerts.apply(write):
            report.lost += 1
            self._log.debug("alert.changed_elsewhere", alert=group.alert_key)
            return
        report.applied += 1
        report.notifications += len(outbox)
        held.note(done.state)
        before = kept.state if kept is not None else "inactive"
        if before != done.state.state:
            report.transitions.append((group.alert_key, before, done.state.state))
            self._log.info(
                "alert.state",
                alert=group.alert_key,
                before=before,
                after=done.state.state,
                value=obs.value,
                silenced=reason,
            )
        if done.kind is not None:
            self._log.info(
                "alert.notify", alert=group.alert_key, kind=done.kind, targets=len(outbox)
            )


def quorum(
    check: str,
    by_region: Mapping[str, Sequence[Vote]],
    held: Inhibitor,
    n: int,
    now: datetime,
    *,
    fresh: int = 0,
) -> dict[str, Sequence[Vote]]:
    """``by_region`` without the votes of regions whose control checks do not vouch for
    their failures (the first bad one among the last ``n``; ``fresh``: see
    :func:`monitor.alerting.inhibit.unvouched`): they leave the quorum."""
    out: dict[str, Sequence[Vote]] = {}
    for region, votes in by_region.items():
        first_bad = next((v.started_at for v in votes[-n:] if v.bad), None)
        bad = [v.started_at for v in votes if v.bad]
        held_out = first_bad is not None and held.region_held(
            check, region, first_bad, now, bad=bad, fresh=fresh
        )
        out[region] = () if held_out else votes
    return out


def measured_runs(
    by_check: Mapping[str, Sequence[ResultRecord]], checks: Collection[str]
) -> dict[tuple[str, str], list[tuple[datetime, bool]]]:
    """``checks``' measured runs (pass, degraded, fail) by ``(check, region)``, oldest first:
    ``(started_at, failed)``."""
    out: dict[tuple[str, str], list[tuple[datetime, bool]]] = defaultdict(list)
    for check in checks:
        for record in by_check.get(check, ()):
            status = Status(record.status)
            if status.measured:
                out[(check, record.region)].append((record.started_at, status is Status.FAIL))
    for runs in out.values():
        runs.sort()
    return dict(out)


def _incident(group: Group, done: Step, now: datetime) -> IncidentChange | None:
    """The incident spans the outage: first failing run's start to first passing run's."""
    region = group.region or AGGREGATED_REGION
    state = done.state
    if done.incident == "open":
        started = state.outage_started_at or state.since or now
        return IncidentChange("open", group.check, region, started, state.summary)
    if done.incident == "resolve":
        return IncidentChange("resolve", group.check, region, state.outage_ended_at or now)
    return None

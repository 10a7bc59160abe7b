"""Region self-health: control checks vouch for a region's own network.

A check with ``control: true`` probes a known-good target.  Two things follow from
its results in a region:

**Suspect results** (:class:`SuspectMarker`, called by ``Runtime.run_once`` before it
stores a batch).  While a region's control checks are failing (the newest measured
result of every control that has one is ``fail``; the same batch's control results
count first), every other result of that region is stored with status ``suspect``:
the monitor cannot tell a broken target from its own broken network.  What the probe
found stays in ``details["suspect"]`` (``status``, ``controls``).  A suspect result
casts no vote in any rule and counts neither up nor down anywhere.

Marking happens once, when a result is stored, and is never revised: the stored
status is what the monitor knew then, rollups and the spool stay consistent, and
there is no second write.  It starts at the first failing control run (not at its
confirmation), so checks that fail together with the control never collect the
votes to fire while the control is being confirmed; a control result older than
two intervals plus its timeout is stale and ignored.  For this to hold, a control
check should run at least as often as the checks it vouches for.

**One infrastructure alert** (:class:`RegionAlert`, evaluated by the alerting hub
before the rules).  A region is unhealthy when every control check with results
there has at least ``confirm.failures`` failures among its last ``confirm.of``
measured runs (and ``min_samples`` runs); it recovers when the last
``resolve_after`` runs of a control passed.  Between the first failing control run
and confirmation the alert is ``pending`` (not notified, already holding).  The
alert has rule ``region_unhealthy``, key ``region_unhealthy/<region>``, notifies
``alerting.region_health.notify`` (default: every target of every rule) and, while
pending or firing, holds every new alert of that region's checks
(:mod:`monitor.alerting.inhibit`).  Silences match it by its
labels (``rule``/``alertname`` ``region_unhealthy``, ``region``, ``severity``,
``check``: the control checks); maintenance windows do not apply.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.alerting.notification import Kind, Notification
from monitor.alerting.outbox import outbox_key, unique_targets
from monitor.alerting.silences import matches
from monitor.config.loader import LoadedConfig
from monitor.config.models import CheckCommon
from monitor.config.regions import REGION_RULE, RegionHealthSettings, region_alert_key
from monitor.config.root import SmokewatchConfig
from monitor.redact import Redactor
from monitor.runner import CheckRun
from monitor.store.alert_records import AlertStateRecord, OutboxEntry, StateWrite
from monitor.store.alerts import AlertStore
from monitor.store.errors import StoreError
from monitor.store.records import ResultRecord
from probes import INBOUND_KINDS
from probes.base import Status

SUSPECT_DETAIL = "suspect"


def control_checks(config: SmokewatchConfig, region: str | None = None) -> list[CheckCommon]:
    """The enabled control checks (that run in ``region``, when given)."""
    return [
        c for c in config.controls if region is None or c.regions is None or region in c.regions
    ]


def _staleness(config: SmokewatchConfig, checks: Iterable[CheckCommon]) -> timedelta:
    spans = [2 * config.settings_for(c).interval + config.settings_for(c).timeout for c in checks]
    return max(spans, default=timedelta(0))


def _newest_measured(records: Iterable[ResultRecord | CheckRun]) -> dict[str, Status]:
    """The status of each check's newest pass/degraded/fail among ``records``."""
    newest: dict[str, tuple[datetime, Status]] = {}
    for record in records:
        status = Status(record.result.status if isinstance(record, CheckRun) else record.status)
        if not status.measured:
            continue
        seen = newest.get(record.check)
        if seen is None or record.started_at >= seen[0]:
            newest[record.check] = (record.started_at, status)
    return {check: status for check, (_, status) in newest.items()}


class SuspectMarker:
    """Marks a batch's results suspect where the region's control checks are failing."""

    def __init__(self, config: SmokewatchConfig, alerts: AlertStore) -> None:
        self._config = config
        self._alerts = alerts

    async def mark(self, runs: Sequence[CheckRun]) -> list[CheckRun]:
        """``runs``, with each non-control run of a region whose controls fail made suspect.

        Heartbeat runs (``INBOUND_KINDS``) are never made suspect: the monitor's network
        plays no part in a job's pings, and a late job must not hide behind it.

        A store that cannot be read leaves the batch as it is (it will be spooled or fail
        to store on its own): marking never costs a result.
        """
        if not control_checks(self._config):
            return list(runs)
        failing: dict[str, list[str]] = {}
        try:
            for region in sorted({r.region for r in runs}):
                controls = await self._failing_controls(region, runs)
                if controls:
                    failing[region] = controls
        except StoreError:
            return list(runs)
        if not failing:
            return list(runs)
        control_names = {c.name for c in control_checks(self._config)}
        return [
            suspect(run, failing[run.region])
            if run.region in failing
            and run.check not in control_names
            and run.kind not in INBOUND_KINDS
            else run
            for run in runs
        ]

    async def _failing_controls(self, region: str, runs: Sequence[CheckRun]) -> list[str]:
        controls = control_checks(self._config, region)
        if not controls:
            return []
        names = {c.name for c in controls}
        reference = max(r.started_at for r in runs)
        since = reference - _staleness(self._config, controls)
        stored = await self._alerts.window_results(names, since=since, until=reference)
        batch = [r for r in runs if r.check in names and r.region == region]
        newest = _newest_measured([*(s for s in stored if s.region == region), *batch])
        if newest and all(status is Status.FAIL for status in newest.values()):
            return sorted(newest)
        return []


def suspect(run: CheckRun, controls: Sequence[str]) -> CheckRun:
    """``run`` as stored while ``controls`` failed in its region."""
    found = run.result
    details = {
        **found.details,
        SUSPECT_DETAIL: {"status": found.status.value, "controls": list(controls)},
    }
    message = (
        f"suspect: control check {', '.join(controls)} failing in {run.region}; "
        f"the probe said {found.status.value}: {found.message}"
    )
    return replace(
        run, result=replace(found, status=Status.SUSPECT, message=message, details=details)
    )


@dataclass(frozen=True, slots=True)
class RegionVerdict:
    """One region's control evidence: ``bad`` (confirmed failing), ``good`` (recovered),
    ``failing`` (every control's newest run failed: bad, or on its way to it)."""

    bad: bool
    good: bool
    failing: bool
    failed: int  # failures among the last ``of`` runs of the least-failing control
    since: datetime | None  # the first failing run among those votes


def judge(
    settings: RegionHealthSettings, votes: dict[str, list[tuple[datetime, bool]]]
) -> RegionVerdict:
    """The verdict over each control's measured runs (oldest first, ``True`` = failed)."""
    confirm = settings.confirm
    lasts = {c: v[-confirm.of :] for c, v in votes.items() if v}
    if not lasts:
        return RegionVerdict(bad=False, good=False, failing=False, failed=0, since=None)
    good = any(
        len(v) >= settings.resolve_after and not any(f for _, f in v[-settings.resolve_after :])
        for v in votes.values()
    )
    counts = {c: sum(f for _, f in v) for c, v in lasts.items()}
    bad = not good and all(
        len(lasts[c]) >= settings.min_samples and counts[c] >= confirm.failures for c in lasts
    )
    starts = [at for v in lasts.values() for at, failed in v if failed]
    return RegionVerdict(
        bad=bad,
        good=good,
        failing=all(v[-1][1] for v in lasts.values()),
        failed=min(counts.values()),
        since=min(starts, default=None),
    )


class RegionAlert:
    """Evaluates ``region_unhealthy/<region>`` for every region with control checks."""

    def __init__(
        self,
        loaded: LoadedConfig,
        alerts: AlertStore,
        *,
        log: Any,
        redactor: Redactor | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self._config = loaded.config
        self._rules = loaded.rules
        self._settings = loaded.config.alerting.region_health
        self._alerts = alerts
        self._log = log
        self._redactor = redactor if redactor is not None else Redactor(loaded.secrets)
        self._on_written = on_written
        configured = self._settings.notify
        self._targets = unique_targets(
            configured
            if configured is not None
            else tuple(t for rule in loaded.rules.alerts for t in rule.notify)
        )

    @property
    def condition(self) -> str:
        confirm = self._settings.confirm
        return f"failed control runs >= {confirm.failures} of the last {confirm.of}"

    async def evaluate(self, now: datetime) -> int:
        """Advance every region's alert at ``now``; returns the notifications written."""
        controls = control_checks(self._config)
        if not controls:
            return 0
        stored = await self._alerts.states({REGION_RULE})
        lookback = self._lookback(controls)
        names = {c.name for c in controls}
        votes: dict[str, dict[str, list[tuple[datetime, bool]]]] = defaultdict(dict)
        for record in await self._alerts.window_results(names, since=now - lookback, until=now):
            if Status(record.status).measured:
                per = votes[record.region].setdefault(record.check, [])
                per.append((record.started_at, record.status is Status.FAIL))
        regions = set(votes) | {s.region for s in stored.values() if s.region is not None}
        written = 0
        for region in sorted(regions):
            verdict = judge(self._settings, votes.get(region, {}))
            written += await self._advance(region, verdict, stored, now)
        if written and self._on_written is not None:
            self._on_written()
        return written

    def _lookback(self, controls: Sequence[CheckCommon]) -> timedelta:
        # Far enough back to hold the last `of` runs of the slowest control.
        return max(
            self._config.settings_for(c).interval * self._settings.confirm.of * 1.5
            + self._config.settings_for(c).timeout
            for c in controls
        )

    async def _advance(
        self,
        region: str,
        verdict: RegionVerdict,
        stored: dict[str, AlertStateRecord],
        now: datetime,
    ) -> int:
        key = region_alert_key(region)
        prev = stored.get(key)
        cur = prev if prev is not None else self._initial(region, now)
        state, since = cur.state, cur.since
        if state == "firing":
            if verdict.good:
                state, since = "inactive", now
        elif verdict.bad:
            state, since = "firing", verdict.since or now
        elif verdict.failing:
            # Pending: not confirmed yet, but already holding the region's new alerts, so
            # no check alert slips out while the control is being confirmed.
            state, since = "pending", since if state == "pending" else now
        elif state == "pending":
            state, since = "inactive", now
        checks = ", ".join(c.name for c in control_checks(self._config, region))
        summary = (
            f"Region {region} is unhealthy: its control check {checks} fails "
            f"({verdict.failed} of the last {self._settings.confirm.of} runs); results of its "
            "other checks are suspect and their alerts are held"
        )
        new = replace(
            cur,
            state=state,
            since=since,
            value=float(verdict.failed),
            regions=(region,),
            summary=summary if state == "firing" else cur.summary,
        )
        silenced = await self._silenced(new, now)
        kind: Kind | None = None
        if new.state == "firing" and new.notified != "firing" and not silenced:
            kind = "firing"
        elif new.state == "inactive" and new.notified == "firing":
            kind = "resolved"
        if kind is not None:
            new = replace(
                new,
                notified="firing" if kind == "firing" else "none",
                last_notified_at=now,
                seq=cur.seq + 1,
            )
        changed = (prev is None and new.state != "inactive") or (
            prev is not None and replace(new, updated_at=prev.updated_at) != prev
        )
        if not changed:
            return 0
        new = replace(new, version=cur.version + 1, updated_at=now)
        outbox = self._entries(new, kind, cur.since if kind == "resolved" else new.since, now)
        write = StateWrite(
            state=new, expected_version=prev.version if prev is not None else None, outbox=outbox
        )
        if not await self._alerts.apply(write):
            self._log.debug("alert.changed_elsewhere", alert=key)
            return 0
        if cur.state != new.state:
            self._log.info("alert.state", alert=key, before=cur.state, after=new.state)
        return len(outbox)

    def _initial(self, region: str, now: datetime) -> AlertStateRecord:
        checks = ",".join(c.name for c in control_checks(self._config, region))
        return AlertStateRecord(
            alert_key=region_alert_key(region),
            rule=REGION_RULE,
            check=checks[:200],
            region=region,
            state="inactive",
            since=None,
            value=None,
            regions=(region,),
            good_count=0,
            evidence=None,
            notified="none",
            last_notified_at=None,
            seq=0,
            version=0,
            updated_at=now,
            no_data=False,
            severity=self._settings.severity,
            summary="",
        )

    def labels(self, state: AlertStateRecord) -> dict[str, str]:
        return {
            "alertname": REGION_RULE,
            "rule": REGION_RULE,
            "check": state.check,
            "region": state.region or "*",
            "severity": state.severity,
        }

    async def _silenced(self, state: AlertStateRecord, now: datetime) -> bool:
        labels = self.labels(state)
        if any(
            s.starts_at <= now < s.ends_at and matches(s.matchers, labels)
            for s in self._rules.silences
        ):
            return True
        stored = await self._alerts.silences(active_at=now)
        return any(matches(s.matchers, labels) for s in stored)

    def _entries(
        self, state: AlertStateRecord, kind: Kind | None, since: datetime | None, now: datetime
    ) -> tuple[OutboxEntry, ...]:
        if kind is None:
            return ()
        out: list[OutboxEntry] = []
        summary = self._redactor.text(state.summary)
        if kind == "resolved":
            summary = f"Region {state.region} is healthy again: its control checks pass"
        for target in self._targets:
            notification = Notification(
                key=outbox_key(state.alert_key, state.seq, kind, target),
                alert_key=state.alert_key,
                kind=kind,
                rule=REGION_RULE,
                severity=self._settings.severity,
                target=target,
                condition=self.condition,
                value=state.value,
                threshold=float(self._settings.confirm.failures),
                check=state.check,
                regions=state.regions,
                since=since or now,
                at=now,
                summary=summary,
                labels=self.labels(state),
                annotations={"summary": summary},
                status_page_url=self._config.api.public_url,
            )
            out.append(
                OutboxEntry(
                    key=notification.key,
                    alert_key=state.alert_key,
                    channel=notification.channel,
                    target=target,
                    payload=notification.to_json(),
                )
            )
        return tuple(out)

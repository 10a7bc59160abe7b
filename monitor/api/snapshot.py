"""The current state of every check, read once and shared by the status answers and the page.

Two store queries: the newest result per (check, region) and the alert groups.  No
stored result is dropped: one from a region the config does not run the check in
(``local`` from an instance started without ``--region``, a region removed from
``regions``) is shown flagged ``declared: false``, and counts toward the check's
status while it is fresh (:func:`counts`), so an instance in the wrong region can
never make the page read green beside its own failures.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.api.models import CheckAlert, CheckStatus, RegionStatus, ResultStatus, StatusReport
from monitor.api.scrub import Scrubber
from monitor.api.verdict import Verdict, judge, overall, with_alerts
from monitor.config.models import CheckCommon
from monitor.config.root import SmokewatchConfig
from monitor.contract import ServiceView
from monitor.store import AlertStateRecord, AlertStore, ResultRecord
from probes.base import Status

_RESULT_STATUS: dict[Status, ResultStatus] = {
    Status.PASS: "pass",
    Status.DEGRADED: "degraded",
    Status.FAIL: "fail",
    Status.ERROR: "error",
    Status.SUSPECT: "suspect",
}
# An undeclared region's result counts while newer than this many of the check's intervals.
UNDECLARED_FRESH_INTERVALS = 3
# Alert states that are over: not shown with the check.
ENDED_ALERT_STATES = frozenset({"inactive", "resolved"})


def result_status(status: Status | str) -> ResultStatus:
    return _RESULT_STATUS[Status(status)]


@dataclass(frozen=True, slots=True)
class CheckSnapshot:
    check: CheckCommon
    latest: dict[str, ResultRecord]  # region -> newest result, regions sorted
    verdict: Verdict
    undeclared: frozenset[str] = frozenset()  # regions of ``latest`` the config does not declare
    uncounted: frozenset[str] = frozenset()  # stale undeclared ones, left out of ``verdict``
    alerts: tuple[CheckAlert, ...] = ()

    @property
    def updated_at(self) -> datetime | None:
        return max((r.started_at for r in self.latest.values()), default=None)


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    checks: list[CheckSnapshot]
    regions: list[str]


def declared(check: CheckCommon, region: str, known: tuple[str, ...]) -> bool:
    """Whether the config runs ``check`` in ``region`` (no ``regions`` declared: any)."""
    if check.regions is not None and region not in check.regions:
        return False
    return not known or region in known


def counts(
    config: SmokewatchConfig, check: CheckCommon, record: ResultRecord, now: datetime
) -> bool:
    """Whether ``record`` counts toward ``check``'s status at ``now``.

    A declared region's newest result always does.  An undeclared region's does while
    it is younger than :data:`UNDECLARED_FRESH_INTERVALS` intervals of the check (a
    cron check's, always): an instance running in the wrong region keeps the check
    red, while a region removed from the config stops counting once it falls silent.
    """
    if declared(check, record.region, config.regions) or check.cron is not None:
        return True
    fresh = config.settings_for(check).interval * UNDECLARED_FRESH_INTERVALS
    return now - record.started_at <= fresh + config.settings_for(check).timeout


def check_alerts(states: Iterable[AlertStateRecord]) -> dict[str, tuple[CheckAlert, ...]]:
    """Check name -> its alert groups that have not ended, in key order."""
    found: dict[str, list[CheckAlert]] = defaultdict(list)
    for state in sorted(states, key=lambda s: s.alert_key):
        if str(state.state) in ENDED_ALERT_STATES:
            continue
        found[state.check].append(
            CheckAlert(key=state.alert_key, rule=state.rule, region=state.region, state=state.state)
        )
    return {check: tuple(alerts) for check, alerts in found.items()}


async def read_alerts(service: ServiceView) -> dict[str, tuple[CheckAlert, ...]]:
    """Every check's alert groups that have not ended, whatever states the engine writes."""
    return check_alerts(await AlertStore(service.store).alert_states(active_only=False))


def check_snapshot(
    config: SmokewatchConfig,
    check: CheckCommon,
    records: Mapping[str, ResultRecord],
    alerts: tuple[CheckAlert, ...],
    now: datetime,
) -> CheckSnapshot:
    """One check's newest result per region, judged together with its alert state."""
    latest = dict(sorted(records.items()))
    undeclared = frozenset(r for r in latest if not declared(check, r, config.regions))
    uncounted = frozenset(r for r in undeclared if not counts(config, check, latest[r], now))
    verdict = judge(r for region, r in latest.items() if region not in uncounted)
    return CheckSnapshot(
        check,
        latest,
        with_alerts(verdict, [a.state for a in alerts]),
        undeclared=undeclared,
        uncounted=uncounted,
        alerts=alerts,
    )


async def take_snapshot(
    service: ServiceView, *, private: bool, now: datetime | None = None
) -> Snapshot:
    """The newest result per (enabled check, region) and the checks' alerts; two store queries.

    ``private``: include checks with ``public: false`` (for bearer-token holders only).
    """
    config = service.loaded.config
    taken = now or datetime.now(UTC)
    by_check: dict[str, dict[str, ResultRecord]] = defaultdict(dict)
    for record in await service.store.latest():
        by_check[record.check][record.region] = record
    alerts = await read_alerts(service)
    regions = set(config.regions)
    if not config.regions or service.region in config.regions:
        regions.add(service.region)  # an API-only instance started without --region adds nothing

    def judge_all() -> list[CheckSnapshot]:
        checks: list[CheckSnapshot] = []
        for check in config.checks:
            if not check.enabled or not (check.public or private):
                continue
            item = check_snapshot(
                config, check, by_check.get(check.name, {}), alerts.get(check.name, ()), taken
            )
            regions.update(item.latest)
            checks.append(item)
        return checks

    # In a thread: judging thousands of checks is a burst of CPU the loop must not wait on.
    checks = await asyncio.to_thread(judge_all)
    return Snapshot(taken, checks, sorted(regions))


def region_status(
    record: ResultRecord, scrubber: Scrubber, *, declared: bool = True, counted: bool = True
) -> RegionStatus:
    return RegionStatus(
        status=result_status(record.status),
        checked_at=record.started_at,
        duration_ms=round(record.duration_ms, 1),
        message=scrubber.text(record.message),
        declared=declared,
        counted=counted,
    )


def region_statuses(item: CheckSnapshot, scrubber: Scrubber) -> dict[str, RegionStatus]:
    return {
        region: region_status(
            r,
            scrubber,
            declared=region not in item.undeclared,
            counted=region not in item.uncounted,
        )
        for region, r in item.latest.items()
    }


def status_report(snapshot: Snapshot, *, version: str, scrubber: Scrubber) -> StatusReport:
    """``/api/v1/status``: the spec's target shape plus per-region detail and alerts."""
    checks = [
        CheckStatus(
            name=c.check.name,
            kind=c.check.kind,
            status=c.verdict.state,
            regions=region_statuses(c, scrubber),
            alerts=list(c.alerts),
        )
        for c in snapshot.checks
    ]
    return StatusReport(
        status=overall(c.verdict.state for c in snapshot.checks),
        version=version,
        timestamp=snapshot.taken_at,
        services={c.name: c.status for c in checks},
        checks=checks,
        regions=snapshot.regions,
    )

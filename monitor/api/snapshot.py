"""The current state of every check, read once and shared by the status answers and the page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.api.models import CheckStatus, RegionStatus, ResultStatus, StatusReport
from monitor.api.scrub import Scrubber
from monitor.api.verdict import Verdict, judge, overall
from monitor.config.models import CheckCommon
from monitor.contract import ServiceView
from monitor.store import ResultRecord
from probes.base import Status

_RESULT_STATUS: dict[Status, ResultStatus] = {
    Status.PASS: "pass",
    Status.DEGRADED: "degraded",
    Status.FAIL: "fail",
    Status.ERROR: "error",
    Status.SUSPECT: "suspect",
}


def result_status(status: Status | str) -> ResultStatus:
    return _RESULT_STATUS[Status(status)]


@dataclass(frozen=True, slots=True)
class CheckSnapshot:
    check: CheckCommon
    latest: dict[str, ResultRecord]  # region -> newest result, regions sorted
    verdict: Verdict

    @property
    def updated_at(self) -> datetime | None:
        return max((r.started_at for r in self.latest.values()), default=None)


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    checks: list[CheckSnapshot]
    regions: list[str]


def relevant(check: CheckCommon, region: str, known: tuple[str, ...]) -> bool:
    """Whether a result from ``region`` still speaks for ``check`` under the current config."""
    if check.regions is not None and region not in check.regions:
        return False
    return not known or region in known


async def take_snapshot(service: ServiceView, *, now: datetime | None = None) -> Snapshot:
    """The newest result per (enabled check, region); one store query."""
    config = service.loaded.config
    by_check: dict[str, dict[str, ResultRecord]] = defaultdict(dict)
    for record in await service.store.latest():
        by_check[record.check][record.region] = record
    checks: list[CheckSnapshot] = []
    regions = {*config.regions, service.region}
    for check in config.checks:
        if not check.enabled:
            continue
        latest = {
            region: record
            for region, record in sorted(by_check.get(check.name, {}).items())
            if relevant(check, region, config.regions)
        }
        regions.update(latest)
        checks.append(CheckSnapshot(check, latest, judge(latest.values())))
    return Snapshot(now or datetime.now(UTC), checks, sorted(regions))


def region_status(record: ResultRecord, scrubber: Scrubber) -> RegionStatus:
    return RegionStatus(
        status=result_status(record.status),
        checked_at=record.started_at,
        duration_ms=round(record.duration_ms, 1),
        message=scrubber.text(record.message),
    )


def status_report(snapshot: Snapshot, *, version: str, scrubber: Scrubber) -> StatusReport:
    """``/api/v1/status``: the spec's target shape plus per-region detail."""
    checks = [
        CheckStatus(
            name=c.check.name,
            kind=c.check.kind,
            status=c.verdict.state,
            regions={region: region_status(r, scrubber) for region, r in c.latest.items()},
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

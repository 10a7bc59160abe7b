"""The API's response models: what callers see, kept apart from the store's records.

Nothing here carries a check's URL, headers or body, a token, or a file path: a
check is described by its name, kind, description, schedule, regions and tags.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.api.verdict import CheckState, Overall
from probes.reasons import FailureReason

ResultStatus = Literal["pass", "degraded", "fail", "error", "suspect"]
Window = Literal["24h", "7d", "30d", "90d"]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBody(Model):
    code: str = Field(description="machine-readable, e.g. not_found, invalid_parameter")
    message: str = Field(description="what went wrong, written for a person")
    problems: list[str] | None = Field(
        None, description="every problem found, when there are several (a rejected config)"
    )


class ErrorResponse(Model):
    error: ErrorBody


class Health(Model):
    status: Literal["ok"] = "ok"
    version: str


class StoreLagReport(Model):
    spooled: int = Field(description="results waiting in the local spool for the store")
    oldest_age_seconds: float | None = Field(
        description="age of the oldest waiting result; null when none waits"
    )


class LatenessReport(Model):
    runs: int = Field(description="recent scheduled runs of this replica summarized")
    p50_seconds: float = Field(description="median of start minus due time")
    p95_seconds: float = Field(description="95th percentile of start minus due time")
    max_seconds: float = Field(description="largest start minus due time")


class ShardReport(Model):
    member: str = Field(description="this replica's member id")
    role: str = Field(description="the kinds it takes: all, http or browser")
    owned: int = Field(description="checks this replica owns")
    unowned: int = Field(description="checks no live replica's role takes (they do not run)")
    members: dict[str, int] = Field(
        description="live member -> checks it owns ('': checks without an owner)"
    )


class ReadinessReport(Model):
    ready: bool
    role: str = Field(description="leader, standby, member (sharing) or api-only")
    components: dict[str, str] = Field(description="component -> 'ok' or why it is not ready")
    store_lag: StoreLagReport = Field(
        default_factory=lambda: StoreLagReport(spooled=0, oldest_age_seconds=None),
        description="how far the store is behind (results spooled while it was unreachable)",
    )
    shard: ShardReport | None = Field(
        None, description="the region's split among replicas (scheduler.shard); null: off"
    )
    lateness: LatenessReport | None = Field(
        None, description="how late this replica's recent scheduled runs started"
    )


class RegionStatus(Model):
    """The newest result of a check in one region."""

    status: ResultStatus
    checked_at: datetime
    duration_ms: float
    message: str
    declared: bool = Field(
        True,
        description="false: the config does not run the check in this region (an instance "
        "started in an undeclared region, or a region since removed); shown, never dropped",
    )
    counted: bool = Field(
        True,
        description="whether this result counts toward the check's status (an undeclared "
        "region's counts while younger than 3 intervals of the check)",
    )


class CheckAlert(Model):
    """An alert group of a check that has not ended (the engine's state, as stored)."""

    key: str = Field(description="the alert key: rule/check/region")
    rule: str
    region: str | None = Field(description="null: evaluated over regions")
    state: str = Field(
        description="pending, firing, recovering or inhibited; firing and recovering keep "
        "the check from reading healthy"
    )


class CheckStatus(Model):
    name: str
    kind: str
    status: CheckState = Field(
        description="healthy, recovering (passing again, its alert not resolved yet), "
        "degraded, down, or unknown"
    )
    regions: dict[str, RegionStatus]
    alerts: list[CheckAlert] = Field(
        default_factory=list, description="the check's alert groups that have not ended"
    )


class MemberReport(Model):
    member: str = Field(description="the replica's member id (host name, pid, random suffix)")
    role: str = Field(description="the kinds it takes: all, http or browser")
    heartbeat_age_seconds: float = Field(
        description="seconds since its last heartbeat (as this replica last read the members)"
    )
    owned: int = Field(description="checks it owns")


class SplitReport(Model):
    """How the answering replica sees its region's checks split among the live replicas."""

    region: str = Field(description="the region whose checks are split")
    members: list[MemberReport] = Field(description="the live members, by member id")
    unowned: int = Field(description="checks no live member's role takes (they do not run)")
    lateness: LatenessReport = Field(
        description="how late the answering replica's recent scheduled runs started"
    )


class StatusReport(Model):
    """The overall status, in the shape smokewatch expects from the targets it watches."""

    status: Overall
    version: str
    timestamp: datetime
    services: dict[str, CheckState] = Field(description="check name -> status")
    checks: list[CheckStatus]
    regions: list[str] = Field(description="regions this deployment runs in or has heard from")
    split: SplitReport | None = Field(
        None,
        description="the region's checks split among replicas (scheduler.shard on PostgreSQL), "
        "as the answering replica sees it; null when it does not share a region",
    )


class CheckInfo(Model):
    """A configured check, without anything that could carry a secret (URLs, headers, bodies)."""

    name: str
    kind: str
    description: str
    enabled: bool
    interval_seconds: float | None = Field(description="null when the check runs on a cron")
    cron: str | None
    regions: list[str] | None = Field(description="the regions it runs in; null means all")
    tags: dict[str, str]
    group: str | None = Field(None, description="its status page section; null: none")
    public: bool = Field(True, description="false: shown to bearer-token holders only")


class CheckList(Model):
    checks: list[CheckInfo]


class CheckDetail(CheckInfo):
    status: CheckState
    latest: dict[str, RegionStatus] = Field(description="region -> newest result there")
    alerts: list[CheckAlert] = Field(
        default_factory=list, description="the check's alert groups that have not ended"
    )


class AssertionItem(Model):
    name: str
    passed: bool
    expected: Any = None
    actual: Any = None


class ArtifactItem(Model):
    """One failure artifact of a result: ``GET url`` returns its bytes."""

    name: str = Field(examples=["screenshot.png"])
    size: int = Field(description="bytes")
    content_type: str = Field(examples=["image/png"])
    url: str = Field(description="absolute with api.public_url, else a path on this server")


class ArtifactList(Model):
    result_id: int
    artifacts: list[ArtifactItem]


class ResultItem(Model):
    id: int
    run_id: str
    region: str
    started_at: datetime
    duration_ms: float = Field(description="the final attempt's probe time")
    wall_ms: float = Field(0.0, description="the run's wall time, retries and waits included")
    wait_ms: float = Field(0.0, description="time waited on request budgets and retry backoff")
    status: ResultStatus
    attempts: int
    message: str
    reason: FailureReason | None = Field(
        None, description="why a fail or error failed (README, 'Failure reasons'); else null"
    )
    timings: dict[str, float] = Field(description="milliseconds by phase")
    assertions: list[AssertionItem]
    details: dict[str, Any]
    artifacts: list[ArtifactItem] = Field(
        default_factory=list,
        description="screenshot, trace, response excerpt of a failure; empty to readers "
        "without the bearer token unless api.public_artifacts is true",
    )


class ResultPage(Model):
    """One page of results, newest first; follow ``next`` for older ones."""

    check: str
    results: list[ResultItem]
    next_before: int | None = Field(description="pass as ?before= for the next page")
    next: str | None = Field(description="the next page's path and query; null on the last")


class UptimeReport(Model):
    check: str
    region: str | None = Field(description="null: every region together")
    window: Window
    since: datetime
    total: int
    passed: int
    degraded: int
    failed: int
    errored: int = Field(description="error and suspect results: no evidence either way")
    uptime: float | None = Field(
        description="(passed + degraded) / (passed + degraded + failed); errors do not count"
    )
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class Incident(Model):
    """An alert's incident; ``started_at``/``resolved_at`` are when the alert fired and
    resolved, the ``outage_*`` fields when the target actually failed and came back."""

    id: int
    check: str
    region: str = Field(description="'*' for an alert evaluated over regions")
    started_at: datetime = Field(description="when the alert fired")
    resolved_at: datetime | None = Field(description="when the alert resolved")
    open: bool
    message: str
    outage_started_at: datetime = Field(description="the start of the first failing run")
    outage_ended_at: datetime | None = Field(
        description="the start of the first passing run after the last failing one; "
        "null while the target still fails (an open incident can have one: recovering)"
    )
    duration_seconds: float = Field(
        description="the outage's length (outage_started_at -> outage_ended_at, or now while "
        "open): what the page shows"
    )


class IncidentList(Model):
    incidents: list[Incident]


class RunReport(Model):
    """The result of a run started through the API."""

    check: str
    kind: str
    region: str
    run_id: str
    started_at: datetime
    duration_ms: float
    wall_ms: float = 0.0
    wait_ms: float = 0.0
    attempts: int
    status: ResultStatus
    message: str
    reason: FailureReason | None = None
    result_id: int | None = Field(None, description="the stored result's id")
    artifacts: list[ArtifactItem] = Field(default_factory=list)


class ReloadReport(Model):
    status: Literal["reloaded"] = "reloaded"
    checks: int = Field(description="checks in the new config")


class HeartbeatReport(Model):
    """A heartbeat ping, as recorded."""

    check: str
    signal: Literal["start", "success", "fail"]
    at: datetime = Field(description="when the ping was recorded (UTC)")

"""The API's response models: what callers see, kept apart from the store's records.

Nothing here carries a check's URL, headers or body, a token, or a file path: a
check is described by its name, kind, description, schedule, regions and tags.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.api.verdict import CheckState, Overall

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


class ReadinessReport(Model):
    ready: bool
    role: str = Field(description="leader, standby or api-only")
    components: dict[str, str] = Field(description="component -> 'ok' or why it is not ready")


class RegionStatus(Model):
    """The newest result of a check in one region."""

    status: ResultStatus
    checked_at: datetime
    duration_ms: float
    message: str


class CheckStatus(Model):
    name: str
    kind: str
    status: CheckState
    regions: dict[str, RegionStatus]


class StatusReport(Model):
    """The overall status, in the shape smokewatch expects from the targets it watches."""

    status: Overall
    version: str
    timestamp: datetime
    services: dict[str, CheckState] = Field(description="check name -> status")
    checks: list[CheckStatus]
    regions: list[str] = Field(description="regions this deployment runs in or has heard from")


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


class CheckList(Model):
    checks: list[CheckInfo]


class CheckDetail(CheckInfo):
    status: CheckState
    latest: dict[str, RegionStatus] = Field(description="region -> newest result there")


class AssertionItem(Model):
    name: str
    passed: bool
    expected: Any = None
    actual: Any = None


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
    timings: dict[str, float] = Field(description="milliseconds by phase")
    assertions: list[AssertionItem]
    details: dict[str, Any]


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
    id: int
    check: str
    region: str
    started_at: datetime
    resolved_at: datetime | None
    open: bool
    message: str


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


class ReloadReport(Model):
    status: Literal["reloaded"] = "reloaded"
    checks: int = Field(description="checks in the new config")

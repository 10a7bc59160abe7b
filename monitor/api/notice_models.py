"""Models of ``/api/v1/status-page/...``: incidents and maintenance written by people."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

IncidentState = Literal["investigating", "identified", "monitoring", "resolved"]
MaintenanceState = Literal["scheduled", "in_progress", "verifying", "completed"]
IncidentImpact = Literal["none", "minor", "major", "critical"]
MaintenanceImpact = Literal["none", "minor", "major", "critical", "maintenance"]


def _name() -> Any:
    return Field(min_length=1, max_length=200, description="the title shown on the page")


def _body() -> Any:
    return Field(min_length=1, max_length=10_000, description="what people should know")


def _components() -> Any:
    return Field(
        default_factory=list,
        max_length=200,
        description="affected checks by name, or whole groups as group:<name>",
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewIncident(_Request):
    name: str = _name()
    body: str = _body()
    status: IncidentState = Field("investigating", description="the Statuspage lifecycle state")
    impact: IncidentImpact = Field("minor", description="how bad: none, minor, major, critical")
    components: list[str] = _components()
    started_at: AwareDatetime | None = Field(
        None, description="when it began (ISO 8601 with a zone; default now)"
    )


class IncidentPost(_Request):
    status: IncidentState = Field(description="the state after this update")
    body: str = _body()
    impact: IncidentImpact | None = Field(None, description="a new impact, if it changed")


class NewMaintenance(_Request):
    name: str = _name()
    body: str = _body()
    scheduled_for: AwareDatetime = Field(description="when it starts (ISO 8601 with a zone)")
    scheduled_until: AwareDatetime = Field(description="when it ends (ISO 8601 with a zone)")
    impact: MaintenanceImpact = Field("maintenance", description="expected impact")
    components: list[str] = _components()

    @model_validator(mode="after")
    def _ordered(self) -> NewMaintenance:
        if self.scheduled_until <= self.scheduled_for:
            raise ValueError("scheduled_until must be after scheduled_for")
        return self


class MaintenancePost(_Request):
    status: MaintenanceState = Field(description="the state after this update")
    body: str = _body()


class NoticeUpdateOut(BaseModel):
    status: str = Field(description="the state this update set")
    body: str
    created_at: datetime


class NoticeOut(BaseModel):
    id: int = Field(description="the number to post updates to")
    statuspage_id: str = Field(description="its id in /api/v2 (notice-<id>)")
    kind: Literal["incident", "maintenance"]
    name: str
    status: str = Field(description="a maintenance's as of now: its times decide until updated")
    impact: str
    components: list[str]
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: list[NoticeUpdateOut] = Field(description="oldest first")


class NoticeList(BaseModel):
    notices: list[NoticeOut]

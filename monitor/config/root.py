"""The whole ``smokewatch.yaml``: sections plus the check union built from ``probes.PROBES``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union, cast

from pydantic import BaseModel, Field, ValidationInfo, create_model, model_validator

from monitor.alerting.settings import AlertingSettings
from monitor.artifacts.settings import ArtifactSettings
from monitor.config.dependencies import dependency_problems
from monitor.config.models import (
    ApiSettings,
    BrowserSettings,
    CheckCommon,
    CheckDefaults,
    Logging,
    RateLimit,
    RunnerSettings,
    SchedulerSettings,
    Storage,
    Strict,
)
from monitor.telemetry.settings import TelemetrySettings
from probes import PROBES


def _check_model(kind: str, spec: type[BaseModel]) -> type[CheckCommon]:
    # A check of one kind is the common envelope plus its probe's own fields.
    # The probe's spec comes first so its ``kind: Literal[...]`` wins over ``kind: str``.
    model = create_model(
        f"{kind.capitalize()}Check",
        __base__=(spec, CheckCommon),
    )
    return cast(type[CheckCommon], model)


CHECK_MODELS: dict[str, type[CheckCommon]] = {
    kind: _check_model(kind, probe.spec_model) for kind, probe in PROBES.items()
}

if TYPE_CHECKING:
    AnyCheck = CheckCommon
else:
    AnyCheck = Annotated[Union[tuple(CHECK_MODELS.values())], Field(discriminator="kind")]  # noqa: UP007 -- a runtime-built union needs Union[...]


class SmokewatchConfig(Strict):
    """``smokewatch.yaml``."""

    version: int = Field(1, ge=1, le=1)
    regions: tuple[str, ...] = Field(
        (), description="regions this deployment runs in; empty means any"
    )
    defaults: CheckDefaults = CheckDefaults()
    storage: Storage = Storage()
    runner: RunnerSettings = RunnerSettings()
    rate_limit: RateLimit = RateLimit()
    browser: BrowserSettings = BrowserSettings()
    logging: Logging = Logging()
    api: ApiSettings = ApiSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    alerting: AlertingSettings = AlertingSettings()
    artifacts: ArtifactSettings = ArtifactSettings()
    secrets: tuple[str, ...] = Field(
        (), description="extra environment variable names whose values are secret"
    )
    alert_rules: str | None = Field(
        "alert-rules.yaml", description="path of the alert rules, relative to this file"
    )
    checks: tuple[AnyCheck, ...] = ()

    @model_validator(mode="after")
    def _check_names_unique_and_regions_known(self, info: ValidationInfo) -> SmokewatchConfig:
        if info.context and info.context.get("items_checked"):
            return self  # the loader checked these, with lines (monitor.config.items)
        seen: set[str] = set()
        for check in self.checks:
            if check.name in seen:
                raise ValueError(f"check name '{check.name}' is used twice")
            seen.add(check.name)
            unknown = set(check.regions or ()) - set(self.regions) if self.regions else set()
            if unknown:
                raise ValueError(
                    f"check '{check.name}' names unknown region(s) {sorted(unknown)}; "
                    f"known: {list(self.regions)}"
                )
        entries = [
            (i, {"name": c.name, "depends_on": list(c.depends_on)})
            for i, c in enumerate(self.checks)
        ]
        for _, message in dependency_problems(entries):
            raise ValueError(message)
        return self

    def check(self, name: str) -> CheckCommon:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def settings_for(self, check: CheckCommon) -> CheckDefaults:
        """The effective interval/timeout/retries/backoff of ``check``."""
        overrides: dict[str, Any] = {
            field: getattr(check, field)
            for field in CheckDefaults.model_fields
            if getattr(check, field) is not None
        }
        return self.defaults.model_copy(update=overrides)

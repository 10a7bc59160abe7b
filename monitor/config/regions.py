"""``alerting.region_health`` in ``smokewatch.yaml``: the region self-health alert.

```yaml
alerting:
  region_health:
    notify: ["slack:#infra"]     # default: every target any alert rule notifies
    severity: critical
    confirm: {failures: 2, of: 3}
    min_samples: 2
    resolve_after: 1
```

A region whose ``control: true`` checks all fail (``failures`` of the last ``of``
runs, at least ``min_samples`` runs) raises one alert, rule ``region_unhealthy``,
key ``region_unhealthy/<region>``; it resolves once the last ``resolve_after``
runs of a control check passed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from monitor.config.items import REGION_RULE as REGION_RULE  # noqa: PLC0414 -- its home
from monitor.config.targets import NotifyTarget
from monitor.modeltypes import Strict


def region_alert_key(region: str) -> str:
    """``region_unhealthy/<region>``: the alert key of one region's self-health alert."""
    return f"{REGION_RULE}/{region}"


class ControlConfirm(Strict):
    """At least ``failures`` of the last ``of`` control runs failed."""

    failures: int = Field(
        2, ge=1, le=100, description="failed control runs that make a region unhealthy"
    )
    of: int = Field(3, ge=1, le=100, description="out of this many latest control runs")

    @model_validator(mode="after")
    def _ordered(self) -> ControlConfirm:
        if self.failures > self.of:
            raise ValueError(f"failures ({self.failures}) cannot exceed of ({self.of})")
        return self


class RegionHealthSettings(Strict):
    """Who hears about a region whose control checks fail, and when."""

    notify: tuple[NotifyTarget, ...] | None = Field(
        None,
        description="targets of the region_unhealthy alert; default: every target any alert "
        "rule notifies (those who would otherwise get one alert per check of the region)",
    )
    severity: Literal["critical", "warning", "info"] = Field(
        "critical", description="severity of the region_unhealthy alert"
    )
    confirm: ControlConfirm = Field(
        ControlConfirm(),
        description="how many control runs must fail before the region is unhealthy",
    )
    min_samples: int = Field(2, ge=1, le=100, description="control runs needed before firing")
    resolve_after: int = Field(
        1, ge=1, le=100, description="passing control runs in a row that resolve the alert"
    )

    @model_validator(mode="after")
    def _samples_fit(self) -> RegionHealthSettings:
        if self.min_samples > self.confirm.of:
            raise ValueError(
                f"min_samples ({self.min_samples}) cannot exceed confirm.of ({self.confirm.of})"
            )
        return self

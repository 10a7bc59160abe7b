"""The shape of ``alert-rules.yaml`` and the grammar of a rule's ``condition``.

Condition grammar (whitespace free between tokens)::

    condition   := [aggregation "("] metric [")"] operator threshold [unit]
    aggregation := avg | min | max | p50 | p90 | p95 | p99 | count | ratio | last
    metric      := smoke_test.success | smoke_test.duration
                 | smoke_test.homepage_load | smoke_test.api_response
    operator    := < | <= | > | >= | == | !=
    unit        := ms | s | %            (timings default to ms; % divides by 100)

Without an aggregation, ``smoke_test.success`` is the ratio of passing results in the
window (so ``smoke_test.success < 0.9`` is "success rate under 90 %") and a timing
metric is its average.  The spec's own file loads as it is.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from monitor.config.cron import cron_trigger
from monitor.config.durations import Duration
from monitor.config.models import NAME_PATTERN, Strict
from monitor.config.targets import NotifyTarget

METRICS: dict[str, str] = {
    "smoke_test.success": "ratio",
    "smoke_test.duration": "avg",
    "smoke_test.homepage_load": "avg",
    "smoke_test.api_response": "avg",
}
TIMING_METRICS = frozenset(m for m in METRICS if m != "smoke_test.success")
# The check kinds a metric has values for (as monitor/telemetry/base.py exports them).
METRIC_KINDS: dict[str, frozenset[str]] = {
    "smoke_test.homepage_load": frozenset({"browser"}),
    "smoke_test.api_response": frozenset({"http", "flow"}),
}
# Names every alert carries already (and silence matchers use): a rule label may not reuse them.
RESERVED_LABELS = frozenset({"alertname", "rule", "check", "kind", "region", "severity"})
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
AGGREGATIONS = ("avg", "min", "max", "p50", "p90", "p95", "p99", "count", "ratio", "last")
Operator = Literal["<", "<=", ">", ">=", "==", "!="]

_CONDITION = re.compile(
    r"^\s*(?:(?P<agg>[a-z0-9]+)\s*\(\s*(?P<m1>[a-z_.]+)\s*\)|(?P<m2>[a-z_.]+))"
    r"\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)


class Condition(Strict):
    """A parsed condition.  ``threshold`` is in base units: seconds for timings."""

    metric: str = Field(description="the metric compared, e.g. smoke_test.success")
    aggregation: str = Field(description="how values over the window combine")
    operator: Operator = Field(description="the comparison: <, <=, >, >=, ==, !=")
    threshold: float = Field(description="the value compared against, in base units")
    text: str = Field(description="the condition as written")

    def __str__(self) -> str:
        return self.text


def parse_condition(value: object) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str):
        raise ValueError("condition must be a string like 'smoke_test.success < 0.9'")
    match = _CONDITION.match(value)
    if match is None:
        raise ValueError(
            f"cannot parse condition {value!r}: expected '[aggregation(]metric[)] operator "
            "threshold[unit]', e.g. 'smoke_test.success < 0.9' or 'p95(smoke_test.duration) > 2s'"
        )
    metric = match["m1"] or match["m2"]
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    aggregation = match["agg"] or METRICS[metric]
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}; known: {', '.join(AGGREGATIONS)}")
    threshold = float(match["num"])
    unit = match["unit"]
    if unit == "%":
        threshold /= 100.0
    elif metric in TIMING_METRICS and aggregation != "count":
        threshold = threshold if unit == "s" else threshold / 1000.0
    elif unit is not None:
        raise ValueError(f"unit {unit!r} does not apply to {metric}")
    return Condition(
        metric=metric,
        aggregation=aggregation,
        operator=match["op"],
        threshold=threshold,
        text=value.strip(),
    )


ConditionField = Annotated[
    Condition,
    BeforeValidator(parse_condition),
    PlainSerializer(lambda c: c.text, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "[aggregation(]metric[)] operator threshold[unit], "
            "e.g. 'smoke_test.success < 0.9' or 'p95(smoke_test.duration) > 2s'",
        }
    ),
]


class Confirm(Strict):
    """``confirm: {failures: k, of: n}``: a region is bad when k of its last n voting runs are."""

    failures: int = Field(2, ge=1, description="bad runs needed among the last `of`")
    of: int = Field(3, ge=1, description="how many of the region's last voting runs are looked at")

    @model_validator(mode="after")
    def _failures_fit(self) -> Confirm:
        if self.failures > self.of:
            raise ValueError(
                f"failures ({self.failures}) cannot exceed of ({self.of}): "
                f"{self.failures} bad runs never fit in the last {self.of}"
            )
        return self


class Flapping(Strict):
    """``flapping: {changes, runs, within}``: more state changes than ``changes`` is flapping.

    Changes are counted over ``within`` when set, else over ``runs`` of the check's interval,
    so the same rule tells a flipping target from separate incidents at any interval.
    """

    changes: int = Field(2, ge=1, description="state changes allowed within the period")
    runs: int = Field(10, ge=1, description="the period in check intervals (without `within`)")
    within: Duration | None = Field(None, description="the period as a duration (overrides runs)")

    @field_validator("within")
    @classmethod
    def _within_positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() <= 0:
            raise ValueError("within must be positive")
        return value

    def period(self, interval: timedelta) -> timedelta:
        """How long changes are remembered for a check run every ``interval``."""
        return self.within if self.within is not None else interval * self.runs


_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_min_regions(value: object) -> int | str:
    """A count (``2``) or a share of the group's regions (``"50%"``, normalised)."""
    if isinstance(value, bool):
        raise ValueError("min_regions is a count like 2 or a share like '50%'")
    if isinstance(value, int):
        if value < 1:
            raise ValueError("min_regions must be at least 1")
        return value
    if isinstance(value, str):
        if value.strip().isdigit():
            return parse_min_regions(int(value))
        match = _SHARE.match(value)
        if match is not None:
            share = float(match[1])
            if not 0 < share <= 100:
                raise ValueError(f"min_regions {value!r}: a share is over 0% and at most 100%")
            return f"{match[1]}%"
    raise ValueError(f"min_regions {value!r}: expected a count like 2 or a share like '50%'")


MinRegions = Annotated[
    int | str,
    BeforeValidator(parse_min_regions),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
            ],
            "description": "bad regions needed to fire: a count, or a share of the regions",
        }
    ),
]


class AlertRule(Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN, description="unique rule name")]
    condition: ConditionField = Field(
        description="e.g. 'smoke_test.success < 0.9' (README: Alert rules)"
    )
    window: Duration = Field(
        timedelta(minutes=5), description="the period the condition is evaluated over"
    )
    severity: Literal["critical", "warning", "info"] = Field(
        "warning", description="critical, warning or info"
    )
    notify: tuple[NotifyTarget, ...] = Field(
        (), description="targets: e-mail addresses, slack:#channel, webhook:NAME, pagerduty:NAME"
    )
    checks: tuple[str, ...] | None = Field(None, description="check names (glob allowed)")
    regions: tuple[str, ...] | None = Field(None, description="only results from these regions")
    kinds: tuple[str, ...] | None = Field(None, description="only checks of these kinds")
    min_regions: MinRegions = Field(
        1, description="fire only when this many regions are bad: a count or a share ('50%')"
    )
    confirm: Confirm = Field(
        default_factory=Confirm, description="how many of a region's latest runs must be bad"
    )
    min_samples: int = Field(
        2, ge=1, description="voting runs a region needs before it can be bad (at most confirm.of)"
    )
    pending: Duration = Field(timedelta(0), alias="for", description="hold before firing")
    resolve_after: int = Field(
        1, ge=1, description="good voting runs in a row (in enough regions) to resolve"
    )
    flapping: Flapping = Field(
        default_factory=Flapping, description="damping of alerts that fire and resolve too often"
    )
    repeat_interval: Duration | None = Field(None, description="remind while firing, this often")
    no_data: Literal["keep", "alert", "ok"] = Field(
        "keep",
        description="a window without results: keep the state, alert on it, or count it as good",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="extra labels (key: value) on the alert"
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Jinja templates (summary, description, ...) sent with the alert",
    )

    @field_validator("labels", "annotations")
    @classmethod
    def _label_names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        what = "label" if info.field_name == "labels" else "annotation"
        for name in value:
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                raise ValueError(
                    f"{name!r} is not a valid {what} name: letters, digits and "
                    "'_', not starting with a digit or '__' (Prometheus and Alertmanager rules)"
                )
            if info.field_name == "labels" and name in RESERVED_LABELS:
                raise ValueError(
                    f"label {name!r} is set by smokewatch on every alert; reserved: "
                    f"{', '.join(sorted(RESERVED_LABELS))}"
                )
        return value

    @field_validator("checks", "regions", "kinds")
    @classmethod
    def _selector_not_empty(
        cls, value: tuple[str, ...] | None, info: ValidationInfo
    ) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError(
                f"an empty list selects nothing: leave '{info.field_name}' out for all"
            )
        if value is not None and any(not item.strip() for item in value):
            raise ValueError("an empty name selects nothing")
        return value

    @field_validator("window")
    @classmethod
    def _window_positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("window must be positive")
        return value

    @field_validator("min_samples")
    @classmethod
    def _samples_fit(cls, value: int, info: ValidationInfo) -> int:
        confirm = info.data.get("confirm")
        if isinstance(confirm, Confirm) and value > confirm.of:
            raise ValueError(
                f"min_samples ({value}) cannot exceed confirm.of ({confirm.of}): only the last "
                f"{confirm.of} runs are looked at"
            )
        return value

    @property
    def aggregated(self) -> bool:
        """One group over all of a check's regions (``min_regions`` other than 1)."""
        return self.min_regions != 1

    def regions_needed(self, regions: int) -> int:
        """Bad regions needed to fire among ``regions``: the count, or the share rounded up."""
        if isinstance(self.min_regions, int):
            return self.min_regions
        share = float(self.min_regions.rstrip("%"))
        return max(1, math.ceil(share / 100 * regions - 1e-9))


class MaintenanceWindow(Strict):
    """A recurring window (e.g. nightly deploys) in which matching alerts notify nobody."""

    name: Annotated[str, Field(pattern=NAME_PATTERN, description="unique window name")]
    cron: str = Field(description="when each window starts: 5-field cron, UTC")
    duration: Duration = Field(description="how long each window lasts")
    checks: tuple[str, ...] | None = Field(None, description="check names (glob); default all")
    rules: tuple[str, ...] | None = Field(None, description="rule names; default all")

    @field_validator("cron")
    @classmethod
    def _cron_valid(cls, value: str) -> str:
        cron_trigger(value)  # raises ValueError naming what is wrong
        return value


class SilenceSpec(Strict):
    """A silence declared in the rules file (the API can add more at run time)."""

    matchers: dict[str, str] = Field(
        description="label -> value (glob) that an alert must all match: rule, check, region, "
        "severity, or a rule label"
    )
    starts_at: datetime = Field(description="when the silence starts (ISO 8601; default: now)")
    ends_at: datetime = Field(description="when the silence ends (ISO 8601)")
    author: str = Field(description="who set the silence")
    comment: str = Field("", description="why")

    @model_validator(mode="after")
    def _ordered_and_aware(self) -> SilenceSpec:
        for value in (self.starts_at, self.ends_at):
            if value.tzinfo is None:
                raise ValueError("starts_at and ends_at need a timezone, e.g. 2026-01-01T00:00:00Z")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not self.matchers:
            raise ValueError("a silence needs at least one matcher")
        return self


class AlertRules(Strict):
    """``alert-rules.yaml``."""

    alerts: tuple[AlertRule, ...] = Field((), description="the alert rules")
    maintenance: tuple[MaintenanceWindow, ...] = Field(
        (), description="windows during which matching alerts are not notified"
    )
    silences: tuple[SilenceSpec, ...] = Field(
        (), description="silences set in the file (more can be set through the API)"
    )

    @model_validator(mode="after")
    def _names_unique(self, info: ValidationInfo) -> AlertRules:
        if info.context and info.context.get("items_checked"):
            return self  # the loader checked these, with lines (monitor.config.items)
        names = [rule.name for rule in self.alerts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alert name(s) used twice: {dupes}")
        return self

"""Alerts and silences as the API answers them and the status page shows them.

The alert store (``monitor.store.AlertStore``) holds the engine's state per alert
group and the silences added at run time; the rules file holds the rules and the
silences declared there.  :func:`alert_views` joins them: each active group with its
rule's labels and whether (and why) its notifications are held right now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from monitor.alerting.silences import Suppressions, alert_labels
from monitor.api.scrub import Scrubber
from monitor.config.durations import parse_duration
from monitor.config.rules import AlertRules, SilenceSpec
from monitor.store import AlertStateRecord, SilenceRecord

# The labels every alert has; a rule's own labels come on top (see monitor.alerting.silences).
ALERT_LABELS = frozenset({"alertname", "rule", "check", "region", "severity"})


MAX_SILENCE = timedelta(days=3660)


def _silence_duration(value: object) -> timedelta:
    try:
        duration = parse_duration(value)
    except OverflowError:
        duration = MAX_SILENCE * 2
    if duration > MAX_SILENCE:
        raise ValueError("a silence lasts at most 10 years")
    return duration


SilenceDuration = Annotated[
    timedelta,
    BeforeValidator(_silence_duration),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number", "minimum": 0}],
            "description": "'2h', '30m', '1h30m', or seconds",
        }
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Alert(Model):
    """One alert group: a rule on a check, in a region (or over regions with min_regions)."""

    key: str = Field(description="stable for the group: rule/check/region")
    rule: str
    check: str
    region: str | None = Field(description="null: evaluated over regions (min_regions > 1)")
    regions: list[str] = Field(description="the regions that were bad at the last bad evaluation")
    state: Literal["inactive", "pending", "firing", "recovering", "inhibited", "resolved"] = Field(
        description="recovering: still firing, good runs await confirmation (resolve_after)"
    )
    no_data: bool = Field(
        description="the last window held no results (with no_data: alert, such an alert fires)"
    )
    since: datetime | None = Field(description="pending/firing: the first bad evaluation")
    value: float | None = Field(description="last value in base units (ratio, seconds)")
    severity: str
    summary: str
    labels: dict[str, str] = Field(description="what silences match: rule, check, region, ...")
    silenced_by: str | None = Field(
        description="why its notifications are held now (a silence or maintenance), or null"
    )
    notified: Literal["none", "firing", "flapping"] = Field(description="what was last notified")
    flapping: bool = Field(
        False, description="changing state too often: one flapping notification until it settles"
    )
    outage_started_at: datetime | None = Field(None, description="the first failing run's start")
    outage_ended_at: datetime | None = Field(
        None, description="the first passing run's start (recovering or resolved)"
    )
    last_notified_at: datetime | None
    updated_at: datetime


class AlertList(Model):
    alerts: list[Alert]


class Silence(Model):
    """A silence: alerts whose labels all match ``matchers`` (globs) notify nobody."""

    id: int | None = Field(description="null: declared in alert-rules.yaml (not expirable here)")
    source: Literal["api", "config"]
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str
    created_at: datetime | None
    expired_at: datetime | None
    active: bool = Field(description="in force now")


class SilenceList(Model):
    silences: list[Silence]


class NewSilence(BaseModel):
    """``POST /api/v1/silences``: give ``ends_at`` or ``duration``; times without a zone are UTC."""

    model_config = ConfigDict(extra="forbid")

    matchers: dict[str, str] = Field(
        min_length=1,
        max_length=20,
        description="label -> glob, all must match: rule (or alertname), check, region "
        "('*' for alerts over regions), severity, or a label a rule sets",
        examples=[{"check": "homepage", "region": "eu-*"}],
    )
    starts_at: datetime | None = Field(None, description="default: now")
    ends_at: datetime | None = None
    duration: SilenceDuration | None = Field(None, description="instead of ends_at: '2h', '30m'")
    author: str = Field(min_length=1, max_length=200)
    comment: str = Field("", max_length=2000)


def alert_view(
    state: AlertStateRecord,
    rules: AlertRules,
    *,
    suppressions: Suppressions,
    silences: Sequence[SilenceRecord],
    now: datetime,
    scrubber: Scrubber,
) -> Alert:
    rule = next((r for r in rules.alerts if r.name == state.rule), None)
    if rule is None:  # removed from the rules file since: its labels are gone with it
        labels = {"alertname": state.rule, "rule": state.rule, "check": state.check}
        held = None
    else:
        labels = alert_labels(rule, state.check, state.region)
        held = suppressions.reason(rule, labels, now=now, stored=silences)
    return Alert(
        key=state.alert_key,
        rule=state.rule,
        check=state.check,
        region=state.region,
        regions=list(state.regions),
        state=state.state,
        no_data=state.no_data,
        since=state.since,
        value=state.value,
        severity=state.severity,
        summary=scrubber.text(state.summary),
        labels=labels,
        silenced_by=held,
        notified=state.notified,
        flapping=state.flapping_since is not None,
        outage_started_at=state.outage_started_at,
        outage_ended_at=state.outage_ended_at,
        last_notified_at=state.last_notified_at,
        updated_at=state.updated_at,
    )


def alert_views(
    states: Sequence[AlertStateRecord],
    rules: AlertRules,
    silences: Sequence[SilenceRecord],
    *,
    now: datetime,
    scrubber: Scrubber,
) -> list[Alert]:
    """The API's view of ``states`` at ``now``, in the store's order."""
    suppressions = Suppressions(rules)
    return [
        alert_view(
            s, rules, suppressions=suppressions, silences=silences, now=now, scrubber=scrubber
        )
        for s in states
    ]


def stored_silence(record: SilenceRecord, now: datetime) -> Silence:
    return Silence(
        id=record.id,
        source="api",
        matchers=dict(record.matchers),
        starts_at=record.starts_at,
        ends_at=record.ends_at,
        author=record.author,
        comment=record.comment,
        created_at=record.created_at,
        expired_at=record.expired_at,
        active=record.active_at(now),
    )


def config_silence(spec: SilenceSpec, now: datetime) -> Silence:
    return Silence(
        id=None,
        source="config",
        matchers=dict(spec.matchers),
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        author=spec.author,
        comment=spec.comment,
        created_at=None,
        expired_at=None,
        active=spec.starts_at <= now < spec.ends_at,
    )


def silence_problem(body: NewSilence, rules: AlertRules) -> str | None:
    """What is wrong with a new silence (naming the field), or ``None``."""
    known = ALERT_LABELS | {label for rule in rules.alerts for label in rule.labels}
    for name, glob in body.matchers.items():
        if name not in known:
            return (
                f"body 'matchers': {name!r} is no alert label; use one of "
                f"{', '.join(sorted(known))}"
            )
        if not glob or len(glob) > 200:
            return f"body 'matchers.{name}': give a value (glob) of 1 to 200 characters"
    if (body.ends_at is None) == (body.duration is None):
        return "body: give either 'ends_at' or 'duration'"
    if body.duration is not None and body.duration <= timedelta(0):
        return "body 'duration': must be positive"
    return None

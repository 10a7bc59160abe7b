"""Silences and maintenance windows: while one applies, an alert notifies nobody.

A silenced alert still changes state (and opens its incident); only its
notifications wait.  Matchers are label -> glob, all of which must match the
alert's labels: ``rule`` (also ``alertname``), ``check``, ``region`` (``*`` for an
alert aggregated over regions), ``severity`` and the rule's own labels.  A
maintenance window (recurring, cron in UTC) silences the alerts of its ``checks``
and ``rules`` (globs; default all) from each start for its ``duration``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from monitor.config.cron import cron_trigger
from monitor.config.rules import AlertRule, AlertRules, MaintenanceWindow
from monitor.store.alert_records import SilenceRecord

AGGREGATED_REGION = "*"
_JUST_AFTER = timedelta(microseconds=1)


def alert_labels(rule: AlertRule, check: str, region: str | None) -> dict[str, str]:
    """The labels silences match on (and notifications carry)."""
    return {
        **rule.labels,
        "alertname": rule.name,
        "rule": rule.name,
        "check": check,
        "region": region if region is not None else AGGREGATED_REGION,
        "severity": rule.severity,
    }


def matches(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Every matcher's glob matches its label (a missing label is the empty string)."""
    return all(fnmatchcase(labels.get(name, ""), glob) for name, glob in matchers.items())


@dataclass(frozen=True, slots=True)
class _Window:
    spec: MaintenanceWindow
    trigger: Any  # apscheduler CronTrigger (untyped)

    def active_at(self, now: datetime) -> bool:
        # In a window iff a window started in (now - duration, now].
        start = now - self.spec.duration
        fire: datetime | None = self.trigger.get_next_fire_time(None, start + _JUST_AFTER)
        return fire is not None and fire <= now

    def covers(self, rule: str, check: str) -> bool:
        checks, rules = self.spec.checks, self.spec.rules
        return (checks is None or any(fnmatchcase(check, g) for g in checks)) and (
            rules is None or any(fnmatchcase(rule, g) for g in rules)
        )


class Suppressions:
    """The rules file's silences and maintenance windows, plus silences stored at run time."""

    def __init__(self, rules: AlertRules) -> None:
        self._windows = [_Window(w, cron_trigger(w.cron)) for w in rules.maintenance]
        self._silences = rules.silences

    def reason(
        self,
        rule: AlertRule,
        labels: Mapping[str, str],
        *,
        now: datetime,
        stored: Iterable[SilenceRecord] = (),
    ) -> str | None:
        """Why an alert with ``labels`` is silenced at ``now`` (for the log), or ``None``."""
        check = labels.get("check", "")
        for window in self._windows:
            if window.covers(rule.name, check) and window.active_at(now):
                return f"maintenance {window.spec.name}"
        for index, spec in enumerate(self._silences):
            if spec.starts_at <= now < spec.ends_at and matches(spec.matchers, labels):
                return f"silence #{index} of the rules file ({spec.author})"
        for silence in stored:
            if silence.active_at(now) and matches(silence.matchers, labels):
                return f"silence {silence.id} ({silence.author})"
        return None

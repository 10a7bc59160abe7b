"""The engine over a real store (SQLite and PostgreSQL) with a controlled clock: each scenario
is a list of ticks (results stored, then one evaluation) and what the outbox gained."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from monitor.config.rules import AlertRules
from monitor.store import ResultRecord
from tests.alerting.conftest import SPEC_RULES, MakeHarness, loaded_config, read_rules, result

DOWN = """
alerts:
  - name: down
    condition: smoke_test.success < 0.5
    window: {window}
    notify: ["webhook:ops"]
    confirm: {{failures: 1, of: 1}}
    min_samples: 1
{extra}
"""


def down(window: str = "5m", extra: str = "", rule: str = "") -> str:
    """The ``down`` rule, confirmed by one failing run (confirmation: test_confirm.py), with
    extra rule fields (``rule``) and extra top-level sections."""
    text = DOWN.format(window=window, extra=extra)
    if rule:
        lines = text.splitlines()
        at = lines.index('    notify: ["webhook:ops"]') + 1
        text = "\n".join([*lines[:at], *("    " + r for r in rule.splitlines()), *lines[at:]])
    return text


@dataclass(frozen=True)
class Tick:
    minutes: float
    results: tuple[ResultRecord, ...] = ()
    sent: tuple[str, ...] = ()  # outbox rows written by this tick: "kind target"
    states: dict[str, str] = field(default_factory=dict)  # alert_key -> state | "absent"


@dataclass(frozen=True)
class Scenario:
    rules: str | None  # None: the spec's alert-rules.yaml
    ticks: tuple[Tick, ...]
    regions: tuple[str, ...] = ()


FAIL_API = "down/api/eu"
SCENARIOS = {
    "spec-failure-fires-then-resolves": Scenario(
        None,
        (
            Tick(
                0,
                (result("api", "eu", 0, "fail"),),
                states={"smoke_test_failure/api/eu": "absent"},  # one run is not enough
            ),
            Tick(
                10,
                (result("api", "eu", 10, "fail"),),
                sent=("firing oncall@example.com", "firing slack:#alerts"),
                states={"smoke_test_failure/api/eu": "firing"},
            ),
            Tick(
                30,
                (result("api", "eu", 30, "pass"),),
                sent=("resolved oncall@example.com", "resolved slack:#alerts"),
                states={"smoke_test_failure/api/eu": "inactive"},
            ),
        ),
    ),
    "spec-slow-api-warns-on-the-window-average": Scenario(
        None,
        (
            Tick(
                0,
                (
                    result("api", "eu", 0, total_ms=800),
                    result("homepage", "eu", 0, total_ms=4000, load_ms=3900),
                ),
                states={
                    "performance_degradation/api/eu": "absent",
                    "performance_degradation/homepage/eu": "absent",  # no API time: no data
                },
            ),
            Tick(
                1,
                (result("api", "eu", 1, total_ms=700),),
                sent=("firing team@example.com",),
                states={"performance_degradation/api/eu": "firing"},
            ),
            Tick(
                5,
                (result("api", "eu", 5, total_ms=100),),  # the first fast run resolves
                sent=("resolved team@example.com",),
                states={"performance_degradation/api/eu": "inactive"},
            ),
        ),
    ),
    "spec-degraded-counts-as-success": Scenario(
        None,
        (
            Tick(
                0,
                (result("api", "eu", 0, "degraded"),),
                states={"smoke_test_failure/api/eu": "absent"},
            ),
        ),
    ),
    "failed-retry-that-recovered-does-not-alert": Scenario(
        None,
        (
            Tick(
                0,
                (result("api", "eu", 0, "pass", attempts=2),),
                states={"smoke_test_failure/api/eu": "absent"},
            ),
        ),
    ),
    "error-results-are-no-evidence": Scenario(
        down(),
        (Tick(0, (result("api", "eu", 0, "error"),), states={FAIL_API: "absent"}),),
    ),
    "one-region-failing-with-min-regions-2-stays-quiet": Scenario(
        down(window="10m", rule="min_regions: 2"),
        (
            Tick(
                0,
                (result("api", "eu", 0, "fail"), result("api", "us", 0, "pass")),
                states={"down/api/*": "absent"},
            ),
            Tick(5, (result("api", "eu", 5, "fail"),), states={"down/api/*": "absent"}),
        ),
    ),
    "two-regions-failing-with-min-regions-2-alert-once": Scenario(
        down(window="10m", rule="min_regions: 2"),
        (
            Tick(
                0,
                (
                    result("api", "eu", 0, "fail"),
                    result("api", "us", 0, "fail"),
                    result("api", "ap", 0, "pass"),
                ),
                sent=("firing webhook:ops",),
                states={"down/api/*": "firing", "down/api/eu": "absent"},
            ),
        ),
    ),
    "pending-fires-after-for": Scenario(
        down(window="10m", rule="for: 10m"),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), states={FAIL_API: "pending"}),
            Tick(5, (result("api", "eu", 5, "fail"),), states={FAIL_API: "pending"}),
            Tick(
                10,
                (result("api", "eu", 10, "fail"),),
                sent=("firing webhook:ops",),
                states={FAIL_API: "firing"},
            ),
        ),
    ),
    "pending-that-turns-good-goes-back-silently": Scenario(
        down(window="10m", rule="for: 10m"),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), states={FAIL_API: "pending"}),
            Tick(5, (result("api", "eu", 5, "pass"),), states={FAIL_API: "inactive"}),  # 0.5
            Tick(20, (result("api", "eu", 20, "pass"),), states={FAIL_API: "inactive"}),
        ),
    ),
    "resolve-after-two-good-runs-recovering-between": Scenario(
        down(rule="resolve_after: 2"),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), sent=("firing webhook:ops",)),
            Tick(6, (result("api", "eu", 6, "pass"),), states={FAIL_API: "recovering"}),
            Tick(7, states={FAIL_API: "recovering"}),  # the same runs again: not a 2nd good run
            Tick(
                12,
                (result("api", "eu", 12, "pass"),),
                sent=("resolved webhook:ops",),
                states={FAIL_API: "inactive"},
            ),
        ),
    ),
    "reminders-every-repeat-interval": Scenario(
        down(rule="repeat_interval: 1h"),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), sent=("firing webhook:ops",)),
            Tick(30, states={FAIL_API: "firing"}),
            Tick(60, sent=("reminder webhook:ops",)),
            Tick(90),
            Tick(120, sent=("reminder webhook:ops",)),
            Tick(121, (result("api", "eu", 121, "pass"),), sent=("resolved webhook:ops",)),
            Tick(200),
        ),
    ),
    "silence-suppresses-and-its-end-sends-the-firing-message": Scenario(
        down(
            extra="silences:\n  - matchers: {check: ap*}\n    starts_at: 2025-03-03T00:00:00Z\n"
            "    ends_at: 2025-03-03T01:30:00Z\n    author: ops\n    comment: deploy"
        ),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), states={FAIL_API: "firing"}),
            Tick(20, (result("api", "eu", 20, "fail"),), states={FAIL_API: "firing"}),
            Tick(31, (result("api", "eu", 31, "fail"),), sent=("firing webhook:ops",)),
        ),
    ),
    "alert-that-fires-and-resolves-inside-a-silence-sends-nothing": Scenario(
        down(
            extra="silences:\n  - matchers: {rule: down, region: eu}\n"
            "    starts_at: 2025-03-03T00:00:00Z\n    ends_at: 2025-03-03T01:30:00Z\n"
            "    author: ops"
        ),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), states={FAIL_API: "firing"}),
            Tick(10, (result("api", "eu", 10, "pass"),), states={FAIL_API: "inactive"}),
            Tick(40, (result("api", "eu", 40, "pass"),)),
        ),
    ),
    "silence-of-another-region-does-not-apply": Scenario(
        down(
            extra="silences:\n  - matchers: {region: us}\n"
            "    starts_at: 2025-03-03T00:00:00Z\n    ends_at: 2025-03-03T01:30:00Z\n"
            "    author: ops"
        ),
        (Tick(0, (result("api", "eu", 0, "fail"),), sent=("firing webhook:ops",)),),
    ),
    "maintenance-window-suppresses-until-it-ends": Scenario(
        down(
            extra="maintenance:\n  - name: nightly\n    cron: '0 2 * * *'\n    duration: 1h\n"
            "    checks: [api]"
        ),
        (
            Tick(60, (result("api", "eu", 60, "fail"),), states={FAIL_API: "firing"}),  # 02:00
            Tick(110, (result("api", "eu", 110, "fail"),)),
            Tick(121, (result("api", "eu", 121, "fail"),), sent=("firing webhook:ops",)),
        ),
    ),
    "maintenance-of-another-check-does-not-apply": Scenario(
        down(
            extra="maintenance:\n  - name: nightly\n    cron: '0 2 * * *'\n    duration: 1h\n"
            "    checks: [status]"
        ),
        (Tick(60, (result("api", "eu", 60, "fail"),), sent=("firing webhook:ops",)),),
    ),
    "no-data-keep-holds-the-state": Scenario(
        down(rule="no_data: keep"),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), sent=("firing webhook:ops",)),
            Tick(10, states={FAIL_API: "firing"}),
            Tick(40, states={FAIL_API: "firing"}),
        ),
    ),
    "no-data-alert-notifies-no-data": Scenario(
        down(rule="no_data: alert\nchecks: [api]"),
        (
            Tick(0, sent=("no_data webhook:ops",), states={FAIL_API: "firing"}),
            Tick(5, (result("api", "eu", 5, "pass"),), sent=("resolved webhook:ops",)),
        ),
        regions=("eu",),
    ),
    "no-data-ok-counts-as-good": Scenario(
        down(rule="no_data: ok"),
        (
            Tick(0, (result("api", "eu", 0, "fail"),), sent=("firing webhook:ops",)),
            Tick(10, states={FAIL_API: "firing"}),  # the run of 0 is within the lookback
            Tick(50, sent=("resolved webhook:ops",), states={FAIL_API: "inactive"}),
        ),
    ),
}


class TestScenarios:
    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    async def test_scenario(self, scenario: Scenario, make_harness: MakeHarness) -> None:
        """Each tick writes exactly the outbox rows listed, and groups reach the states listed."""
        text = SPEC_RULES.read_text() if scenario.rules is None else scenario.rules
        harness = await make_harness(loaded_config(text, regions=scenario.regions))
        seen = 0
        for tick in scenario.ticks:
            await harness.add(*tick.results)
            await harness.evaluate(tick.minutes)
            rows = await harness.outbox()
            sent = sorted(f"{r.payload['kind']} {r.target}" for r in rows[seen:])
            assert (tick.minutes, sent) == (tick.minutes, sorted(tick.sent))
            seen = len(rows)
            states = {
                s.alert_key: s.state
                for s in await harness.alerting.alerts.alert_states(active_only=False)
            }
            for key, expected in tick.states.items():
                assert (tick.minutes, key, states.get(key, "absent")) == (
                    tick.minutes,
                    key,
                    expected,
                )


def test_spec_rules_load_as_they_are() -> None:
    """The shipped alert-rules.yaml parses into the spec's two rules."""
    rules = read_rules(SPEC_RULES.read_text())
    assert isinstance(rules, AlertRules)
    assert [(r.name, r.condition.text, r.severity) for r in rules.alerts] == [
        ("smoke_test_failure", "smoke_test.success < 0.9", "critical"),
        ("performance_degradation", "smoke_test.api_response > 500", "warning"),
    ]

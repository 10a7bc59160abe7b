"""Confirmation and recovery by evidence (issue 11, defects 4 and 5) over a real store on each
backend with a controlled clock: votes per run, k of the last n, a minimum sample count, regions
by count and percentage, ``recovering``, flap damping and the incident's outage length."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from monitor.store import ResultRecord
from tests.alerting.conftest import CHECKS, SPEC_RULES, MakeHarness, at, loaded_config, result

RULE = """
alerts:
  - name: down
    condition: smoke_test.success < 0.9
    window: 5m
    notify: ["webhook:ops"]
"""
SPEC = "smoke_test_failure/api/eu"
DOWN = "down/api/eu"
REGIONS = ("eu", "us", "ap", "sa")


def rule(*fields: str) -> str:
    """The ``down`` rule with extra rule fields, one per argument."""
    return RULE + "".join(f"    {f}\n" for f in fields)


def runs(
    pattern: str, *, start: float = 0.0, every: float = 0.5, region: str = "eu"
) -> list[tuple[float, ResultRecord]]:
    """Runs of ``api`` every ``every`` minutes: ``p`` pass, ``f`` fail, ``e`` error."""
    status = {"p": "pass", "f": "fail", "e": "error"}
    out = []
    for i, letter in enumerate(pattern):
        minutes = start + i * every
        out.append((minutes, result("api", region, minutes, status[letter])))
    return out


@dataclass(frozen=True)
class Case:
    rules: str | None  # None: the spec's alert-rules.yaml
    pattern: str
    states: dict[int, str] = field(default_factory=dict)  # run index -> state of the group
    sent: dict[int, tuple[str, ...]] = field(default_factory=dict)  # run index -> kinds written
    key: str = DOWN


CASES = {
    "one-failure-among-three-at-start-up-never-fires": Case(
        None, "fpp", states={0: "absent", 1: "absent", 2: "absent"}, key=SPEC
    ),
    "one-failure-between-passes-never-fires": Case(
        None, "pfp", states={1: "absent", 2: "absent"}, key=SPEC
    ),
    "two-failures-of-three-fire": Case(
        None, "ff", states={0: "absent", 1: "firing"}, sent={1: ("firing", "firing")}, key=SPEC
    ),
    "recovery-resolves-on-the-first-good-run-with-failures-in-the-window": Case(
        None,
        "fffp",
        states={2: "firing", 3: "inactive"},
        sent={1: ("firing", "firing"), 3: ("resolved", "resolved")},
        key=SPEC,
    ),
    "k-of-n-two-of-three-with-a-pass-between": Case(
        rule(), "fpf", states={1: "absent", 2: "firing"}, sent={2: ("firing",)}
    ),
    "k-of-n-failures-further-apart-than-n-stay-quiet": Case(rule(), "fppf", states={3: "absent"}),
    "after-a-resolution-only-new-failures-confirm": Case(
        rule(),
        "ffpfpf",
        states={1: "firing", 2: "inactive", 3: "inactive", 4: "inactive", 5: "firing"},
        # The third change within 10 runs: it pages as flapping (README, "Flapping").
        sent={1: ("firing",), 2: ("resolved",), 3: (), 4: (), 5: ("flapping",)},
    ),
    "k-of-n-three-of-five": Case(
        rule("confirm: {failures: 3, of: 5}"),
        "ffpf",
        states={1: "absent", 2: "absent", 3: "firing"},
    ),
    "min-samples-one-fires-on-one-failure-with-one-of-one": Case(
        rule("confirm: {failures: 1, of: 1}", "min_samples: 1"),
        "f",
        states={0: "firing"},
        sent={0: ("firing",)},
    ),
    "errors-cast-no-vote": Case(rule(), "fef", states={1: "absent", 2: "firing"}),
    "recovering-until-resolve-after-good-runs": Case(
        rule("resolve_after: 2"),
        "ffpp",
        states={1: "firing", 2: "recovering", 3: "inactive"},
        sent={1: ("firing",), 2: (), 3: ("resolved",)},
    ),
    "recovering-that-fails-again-is-firing-without-a-new-message": Case(
        rule("resolve_after: 2"),
        "ffpfpp",
        states={2: "recovering", 3: "firing", 4: "recovering", 5: "inactive"},
        sent={2: (), 3: (), 4: (), 5: ("resolved",)},
    ),
}


async def play(case: Case, make_harness: MakeHarness) -> None:
    text = SPEC_RULES.read_text() if case.rules is None else case.rules
    harness = await make_harness(loaded_config(text))
    seen = 0
    for index, (minutes, record) in enumerate(runs(case.pattern)):
        await harness.add(record)
        await harness.evaluate(minutes)
        rows = await harness.outbox()
        kinds = tuple(sorted(r.payload["kind"] for r in rows[seen:]))
        seen = len(rows)
        if index in case.sent:
            assert (index, kinds) == (index, tuple(sorted(case.sent[index])))
        if index in case.states:
            states = {
                s.alert_key: s.state
                for s in await harness.alerting.alerts.alert_states(active_only=False)
            }
            assert (index, states.get(case.key, "absent")) == (index, case.states[index])


class TestConfirmation:
    @pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
    async def test_case(self, case: Case, make_harness: MakeHarness) -> None:
        """After each run the group is in the state listed and wrote the notifications listed."""
        await play(case, make_harness)

    async def test_window_extends_back_to_the_last_n_runs(self, make_harness: MakeHarness) -> None:
        """With a 30 min interval a 5 min window holds one run; the last 3 runs still decide."""
        checks = [{"name": "api", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "30m"}]
        harness = await make_harness(loaded_config(SPEC_RULES.read_text(), checks=checks))
        for minutes in (0, 30):
            await harness.add(result("api", "eu", minutes, "fail"))
            await harness.evaluate(minutes + 1)
        states = await harness.alerting.alerts.alert_states()
        assert [(s.alert_key, s.state) for s in states] == [(SPEC, "firing")]


class TestRegions:
    @pytest.mark.parametrize(
        ("min_regions", "bad", "fires"),
        [
            ("2", 1, False),
            ("2", 2, True),
            ("'50%'", 1, False),
            ("'50%'", 2, True),
            ("'75%'", 2, False),
            ("'75%'", 3, True),
        ],
        ids=["count-1-of-2", "count-2-of-2", "half-1", "half-2", "75-2", "75-3"],
    )
    async def test_min_regions(
        self, min_regions: str, bad: int, fires: bool, make_harness: MakeHarness
    ) -> None:
        """Bad regions (2 of 3 failing runs each) are counted against a count or a share of 4."""
        harness = await make_harness(
            loaded_config(rule(f"min_regions: {min_regions}"), regions=REGIONS)
        )
        for minutes in (0.0, 0.5):
            for i, region in enumerate(REGIONS):
                await harness.add(result("api", region, minutes, "fail" if i < bad else "pass"))
        await harness.evaluate(0.5)
        states = {s.alert_key: s.state for s in await harness.alerting.alerts.alert_states()}
        assert states.get("down/api/*") == ("firing" if fires else None)


class TestFlapping:
    async def test_one_notification_to_start_and_one_to_settle(
        self, make_harness: MakeHarness
    ) -> None:
        """More than 4 changes within 1h: one ``flapping`` message, then one when it settles."""
        quick = rule(
            "confirm: {failures: 1, of: 1}", "min_samples: 1", "flapping: {changes: 4, within: 1h}"
        )
        harness = await make_harness(loaded_config(quick))
        minutes = 0.0
        for letter in "fpfpfpfpfp":  # ten changes, one every 2 minutes
            await harness.add(result("api", "eu", minutes, "fail" if letter == "f" else "pass"))
            await harness.evaluate(minutes)
            minutes += 2
        kinds = [r.payload["kind"] for r in await harness.outbox()]
        assert kinds == ["firing", "resolved", "firing", "resolved", "flapping"]
        (state,) = await harness.alerting.alerts.alert_states()  # flapping counts as active
        assert (state.state, state.flapping_since) == ("inactive", at(8))
        while minutes < 90:  # stable (passing) for an hour
            await harness.add(result("api", "eu", minutes, "pass"))
            await harness.evaluate(minutes)
            minutes += 2
        kinds = [r.payload["kind"] for r in await harness.outbox()]
        assert kinds == ["firing", "resolved", "firing", "resolved", "flapping", "resolved"]
        (state,) = await harness.alerting.alerts.alert_states(active_only=False)
        assert (state.state, state.flapping_since) == ("inactive", None)

    @staticmethod
    async def _kinds_at_3s(make_harness: MakeHarness, pattern: str) -> list[str]:
        """Outbox kinds after one run of ``api`` every 3 s per letter of ``pattern``."""
        checks = [{**CHECKS[0], "interval": "3s"}]
        quick = rule("confirm: {failures: 1, of: 1}", "min_samples: 1")
        harness = await make_harness(loaded_config(quick, checks=checks))
        for n, letter in enumerate(pattern):
            minutes = n * 0.05
            await harness.add(result("api", "eu", minutes, "fail" if letter == "f" else "pass"))
            await harness.evaluate(minutes)
        return [r.payload["kind"] for r in await harness.outbox()]

    async def test_three_real_outages_four_minutes_apart_are_three_incidents(
        self, make_harness: MakeHarness
    ) -> None:
        """60 s outages 4 min apart at a 3 s interval: 1 firing + 1 resolved each, no flapping."""
        healthy, down = "p" * 80, "f" * 20
        kinds = await self._kinds_at_3s(make_harness, (healthy + down) * 3 + healthy)
        assert kinds == ["firing", "resolved"] * 3

    async def test_a_target_flipping_every_two_runs_is_one_flapping_incident(
        self, make_harness: MakeHarness
    ) -> None:
        """Flipping every 2 runs: firing, resolved, one ``flapping``, one when it settles."""
        kinds = await self._kinds_at_3s(make_harness, "p" * 10 + "ffpp" * 15 + "p" * 30)
        assert kinds == ["firing", "resolved", "flapping", "resolved"]


class TestIncidentDuration:
    async def test_incident_lasts_from_first_failing_to_first_passing_run(
        self, make_harness: MakeHarness
    ) -> None:
        """The incident spans the outage (first failing run to first passing run), not the alert."""
        harness = await make_harness(loaded_config(SPEC_RULES.read_text()))
        for minutes, record in runs("ppffffpp"):
            await harness.add(record)
            await harness.evaluate(minutes + 0.2)  # evaluations lag the runs' starts
        (incident,) = await harness.store.incidents()
        assert (incident.started_at, incident.resolved_at) == (at(1.0), at(3.0))
        (state,) = await harness.alerting.alerts.alert_states(active_only=False)
        assert (state.outage_started_at, state.outage_ended_at) == (at(1.0), at(3.0))


class TestReadmeTimeline:
    async def test_worked_timeline(self, make_harness: MakeHarness) -> None:
        """The README's timeline: runs every 30 s, fails from +0.5 min, passes again at +2.5."""
        checks = [{"name": "api", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "30s"}]
        harness = await make_harness(loaded_config(SPEC_RULES.read_text(), checks=checks))
        seen: list[tuple[float, str]] = []
        for minutes, record in runs("p" * 21 + "ffffpp", start=-10):
            await harness.add(record)
            await harness.evaluate(minutes + 0.05)  # stored 3 s after its start
            states = await harness.alerting.alerts.alert_states(active_only=False)
            state = next((s.state for s in states if s.alert_key == SPEC), "absent")
            if not seen or seen[-1][1] != state:
                seen.append((minutes, state))
        assert seen == [(-10.0, "absent"), (1.0, "firing"), (2.5, "inactive")]
        (incident,) = await harness.store.incidents()
        assert (incident.started_at, incident.resolved_at) == (at(0.5), at(2.5))

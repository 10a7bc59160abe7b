"""Dependencies over a real store (SQLite and PostgreSQL) with a controlled clock: while a
parent check's alert is active its children's new alerts are recorded ``inhibited`` and not
notified, the parent's notification lists them, and resolution is never inhibited."""

from __future__ import annotations

from typing import Any

from monitor.alerting.inhibit import Dependencies
from monitor.config.root import config_model
from tests.alerting.conftest import MakeHarness, loaded_config, result

RULE = """
alerts:
  - name: down
    condition: smoke_test.success < 0.5
    window: 5m
    confirm: {failures: 1, of: 1}  # one failing run confirms: these tests are about holding
    min_samples: 1
    notify: ["webhook:ops"]
"""
CHILDREN = [f"c{i}" for i in range(1, 6)]
# The children come first in the file: the parent must still be evaluated before them.
CHECKS: list[dict[str, Any]] = [
    *(
        {"name": n, "kind": "http", "url": f"http://127.0.0.1:9/{n}", "depends_on": ["db"]}
        for n in CHILDREN
    ),
    {"name": "db", "kind": "http", "url": "http://127.0.0.1:9/db"},
    {"name": "other", "kind": "http", "url": "http://127.0.0.1:9/other"},
]
PARENT = "down/db/eu"


def sent(rows: list[Any]) -> list[tuple[str, str]]:
    """``(kind, alert_key)`` of each outbox row, in order."""
    return [(r.payload["kind"], r.alert_key) for r in rows]


async def tick(harness: Any, minutes: float, statuses: dict[str, str]) -> None:
    """Store one run per check (``check -> status``) in eu at ``minutes``, then evaluate."""
    await harness.add(*(result(c, "eu", minutes, s) for c, s in statuses.items()))
    await harness.evaluate(minutes)


class TestDependencies:
    def test_dependents_are_transitive_and_parents_come_first(self) -> None:
        """A grandchild is a dependent too; ordering puts every parent before its children."""
        config = config_model().model_validate(
            {
                "checks": [
                    {"name": "c", "kind": "http", "url": "http://x/", "depends_on": ["b"]},
                    {"name": "b", "kind": "http", "url": "http://x/", "depends_on": ["a"]},
                    {"name": "a", "kind": "http", "url": "http://x/"},
                ]
            }
        )
        deps = Dependencies(config.checks)
        assert deps.dependents("a") == ("c", "b")
        assert deps.ancestors("c") == ("b", "a")
        ordered = [check.name for _, check in deps.ordered([("rule", config.checks)])]
        assert ordered == ["a", "b", "c"]


class TestInhibition:
    async def test_children_of_a_firing_parent_are_inhibited_and_listed(
        self, make_harness: MakeHarness
    ) -> None:
        """Parent and 5 children fail together: one notification, naming the 5 children."""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {**dict.fromkeys(CHILDREN, "fail"), "db": "fail"})
        rows = await harness.outbox()
        assert sent(rows) == [("firing", PARENT)]
        assert rows[0].payload["dependents"] == CHILDREN
        assert "dependent checks (alerts held): c1, c2, c3, c4, c5" in rows[0].payload["summary"]
        states = await harness.alerting.alerts.states()
        for child in CHILDREN:
            held = states[f"down/{child}/eu"]
            assert (held.state, held.inhibited_by, held.notified) == ("inhibited", PARENT, "none")

    async def test_inhibited_children_resolve_in_silence(self, make_harness: MakeHarness) -> None:
        """Everything recovers: only the parent's resolution goes out (the children never paged)."""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {**dict.fromkeys(CHILDREN, "fail"), "db": "fail"})
        await tick(harness, 10, {**dict.fromkeys(CHILDREN, "pass"), "db": "pass"})
        assert sent(await harness.outbox()) == [("firing", PARENT), ("resolved", PARENT)]
        states = await harness.alerting.alerts.states()
        assert {states[f"down/{c}/eu"].state for c in CHILDREN} == {"inactive"}

    async def test_a_child_that_paged_first_gets_its_resolution(
        self, make_harness: MakeHarness
    ) -> None:
        """Resolution is never inhibited: a child notified before its parent fired resolves."""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail"})
        await tick(harness, 1, {"c1": "fail", "db": "fail"})
        states = await harness.alerting.alerts.states()
        assert states["down/c1/eu"].state == "firing"
        await tick(harness, 10, {"c1": "pass", "db": "pass"})
        assert sent(await harness.outbox()) == [
            ("firing", "down/c1/eu"),
            ("firing", PARENT),
            ("resolved", PARENT),
            ("resolved", "down/c1/eu"),
        ]

    async def test_a_child_still_down_after_its_parent_recovers_pages(
        self, make_harness: MakeHarness
    ) -> None:
        """The hold lasts while the parent's alert does: then the child is down on its own."""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "fail"})
        await tick(harness, 10, {"c1": "fail", "db": "pass"})
        assert sent(await harness.outbox()) == [
            ("firing", PARENT),
            ("resolved", PARENT),
            ("firing", "down/c1/eu"),
        ]
        child = (await harness.alerting.alerts.states())["down/c1/eu"]
        assert (child.state, child.inhibited_by, child.notified) == ("firing", None, "firing")

    async def test_a_check_without_dependencies_is_never_held(
        self, make_harness: MakeHarness
    ) -> None:
        """``other`` depends on nothing: it pages while ``db`` fires."""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"db": "fail", "other": "fail"})
        assert sorted(sent(await harness.outbox())) == [
            ("firing", PARENT),
            ("firing", "down/other/eu"),
        ]

    async def test_the_hold_is_per_region(self, make_harness: MakeHarness) -> None:
        """The parent failing in eu holds nothing in us."""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu", "us")))
        await harness.add(result("db", "eu", 0, "fail"), result("c1", "us", 0, "fail"))
        await harness.evaluate(0)
        assert sorted(sent(await harness.outbox())) == [
            ("firing", "down/c1/us"),
            ("firing", PARENT),
        ]

    async def test_a_pending_parent_holds_until_it_settles(self, make_harness: MakeHarness) -> None:
        """A parent waiting out ``for`` already holds; when it recovers unfired, the child that is
        still down pages on the next evaluation."""
        rules = RULE + "  - name: db_slow\n    condition: smoke_test.success < 0.5\n"
        rules += "    checks: [db]\n    for: 10m\n    confirm: {failures: 1, of: 1}\n"
        rules += "    min_samples: 1\n"
        rules = rules.replace("    window: 5m\n", "    window: 5m\n    checks: [c1]\n", 1)
        harness = await make_harness(loaded_config(rules, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "fail"})
        states = await harness.alerting.alerts.states()
        assert states["db_slow/db/eu"].state == "pending"
        assert (states["down/c1/eu"].state, states["down/c1/eu"].inhibited_by) == (
            "inhibited",
            "db_slow/db/eu",
        )
        await tick(harness, 1, {"c1": "fail", "db": "pass"})
        assert sent(await harness.outbox()) == [("firing", "down/c1/eu")]


CONFIRMING = RULE.replace("confirm: {failures: 1, of: 1}", "confirm: {failures: 2, of: 3}").replace(
    "min_samples: 1", "min_samples: 2"
)


class TestHoldFromTheFirstFailingRun:
    """The hold starts at a parent's first failing run, not at its alert's confirmation."""

    async def test_a_child_confirmed_before_its_parent_is_held(
        self, make_harness: MakeHarness
    ) -> None:
        """The child has 2 failures (confirmed), the parent 1 (not yet): the child waits, then
        stays inhibited and is listed when the parent fires."""
        harness = await make_harness(loaded_config(CONFIRMING, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "fail"})
        await tick(harness, 1, {"c1": "fail"})
        child = (await harness.alerting.alerts.states())["down/c1/eu"]
        assert (child.state, child.inhibited_by, child.notified) == ("inhibited", PARENT, "none")
        assert sent(await harness.outbox()) == []
        await tick(harness, 2, {"db": "fail"})
        rows = await harness.outbox()
        assert sent(rows) == [("firing", PARENT)]
        assert "c1" in rows[0].payload["dependents"]
        states = await harness.alerting.alerts.states()
        assert states["down/c1/eu"].state == "inhibited"

    async def test_a_child_failing_before_its_parent_ran_waits_for_the_parent_run(
        self, make_harness: MakeHarness
    ) -> None:
        """The parent's newest run predates the child's failures: held until the parent runs;
        it passes, so the child pages then (later, not lost)."""
        harness = await make_harness(loaded_config(CONFIRMING, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "pass", "db": "pass"})
        await tick(harness, 1, {"c1": "fail"})
        await tick(harness, 2, {"c1": "fail"})
        assert sent(await harness.outbox()) == []
        await tick(harness, 3, {"db": "pass"})
        assert sent(await harness.outbox()) == [("firing", "down/c1/eu")]

    async def test_children_failing_until_the_parent_recovers_never_page(
        self, make_harness: MakeHarness
    ) -> None:
        """The parent passes again while the children's newest runs still failed (they ran
        during the outage): the children wait for their own next run, which passes."""
        harness = await make_harness(loaded_config(CONFIRMING, checks=CHECKS, regions=("eu",)))
        down = {**dict.fromkeys(CHILDREN, "fail"), "db": "fail"}
        await tick(harness, 0, down)
        await tick(harness, 1, down)
        await tick(harness, 2, {"db": "pass"})
        await tick(harness, 3, dict.fromkeys(CHILDREN, "pass"))
        assert sent(await harness.outbox()) == [("firing", PARENT), ("resolved", PARENT)]

    async def test_a_child_down_on_its_own_while_the_parent_passes_pages(
        self, make_harness: MakeHarness
    ) -> None:
        """Never hide an outage: the parent's runs pass throughout, the child pages as usual."""
        harness = await make_harness(loaded_config(CONFIRMING, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "pass"})
        await tick(harness, 1, {"c1": "fail", "db": "pass"})
        assert sent(await harness.outbox()) == [("firing", "down/c1/eu")]

    async def test_a_parents_chance_failure_costs_fresh_votes_not_the_old_ones_ageing_out(
        self, make_harness: MakeHarness
    ) -> None:
        """The parent fails once by chance as the child goes down, then passes: the child
        pages once it has ``confirm.failures`` (2) bad votes after the parent was seen up
        again, not when its first bad vote has left its last ``confirm.of`` (3) runs."""
        harness = await make_harness(loaded_config(CONFIRMING, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "fail"})
        await tick(harness, 1, {"db": "pass"})
        await tick(harness, 2, {"c1": "fail"})
        assert sent(await harness.outbox()) == []  # one fresh bad vote: not yet
        await tick(harness, 3, {"c1": "fail"})
        assert sent(await harness.outbox()) == [("firing", "down/c1/eu")]

    async def test_a_parent_no_rule_alerts_on_holds_nothing(
        self, make_harness: MakeHarness
    ) -> None:
        """Never hide an outage: ``db`` fails on and on but no rule selects it (it can never
        page), so its children's failures page as usual."""
        only_c1 = CONFIRMING.replace("    window: 5m\n", "    window: 5m\n    checks: [c1]\n", 1)
        harness = await make_harness(loaded_config(only_c1, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "fail"})
        await tick(harness, 1, {"c1": "fail", "db": "fail"})
        assert sent(await harness.outbox()) == [("firing", "down/c1/eu")]


class TestHeldChangesAreNotFlaps:
    async def test_a_held_episode_does_not_make_the_next_outage_flapping(
        self, make_harness: MakeHarness
    ) -> None:
        """A child held (its parent down) and released in silence never paged: its own
        outage afterwards is one firing + one resolved, not ``flapping``.  (Before: the
        hidden inactive -> firing -> inactive counted as two of the three flaps, and the
        chaos bench saw a clean outage's resolution sent as ``flapping``, 50 min late.)"""
        harness = await make_harness(loaded_config(RULE, checks=CHECKS, regions=("eu",)))
        await tick(harness, 0, {"c1": "fail", "db": "fail"})
        await tick(harness, 10, {"c1": "pass", "db": "pass"})
        await tick(harness, 20, {"c1": "fail", "db": "pass"})
        await tick(harness, 30, {"c1": "pass", "db": "pass"})
        assert sent(await harness.outbox()) == [
            ("firing", PARENT),
            ("resolved", PARENT),
            ("firing", "down/c1/eu"),
            ("resolved", "down/c1/eu"),
        ]
        child = (await harness.alerting.alerts.states())["down/c1/eu"]
        assert child.flapping_since is None
        assert len(child.flips) == 2  # the firing and the resolution people saw

"""Votes, a region's verdict and a group's verdict (no store needed): the rules of
:mod:`monitor.alerting.confirm` one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from monitor.alerting.confirm import Vote, judge, lookback, observe, vote
from monitor.config.rules import AlertRule
from tests.alerting.conftest import at, result


def rule(condition: str = "smoke_test.success < 0.9", **fields: object) -> AlertRule:
    return AlertRule.model_validate({"name": "r", "condition": condition, **fields})


def votes(pattern: str, *, every: float = 0.5) -> list[Vote]:
    """``f`` a bad vote, ``p`` a good one, every ``every`` minutes from T0."""
    return [
        Vote(i, at(i * every), 0.0 if c == "f" else 1.0, c == "f") for i, c in enumerate(pattern)
    ]


def now_after(pattern: str, every: float = 0.5) -> datetime:
    return at(len(pattern) * every)


class TestVote:
    @pytest.mark.parametrize(
        ("status", "bad"),
        [("pass", False), ("degraded", False), ("fail", True), ("error", None)],
        ids=["pass-good", "degraded-good", "fail-bad", "error-no-vote"],
    )
    def test_status(self, status: str, bad: bool | None) -> None:
        """A run votes by its own value; an error casts no vote."""
        cast = vote(rule(), replace(result(status=status), id=1))
        assert (cast.bad if cast else None) == bad

    def test_timing_vote(self) -> None:
        """For a timing rule a run is bad when its own value meets the condition."""
        slow, fast = replace(result(total_ms=800), id=1), replace(result(total_ms=100), id=2)
        r = rule("smoke_test.api_response > 500")
        assert [vote(r, slow), vote(r, fast)] == [
            Vote(1, slow.started_at, 0.8, True),
            Vote(2, fast.started_at, 0.1, False),
        ]


class TestLookback:
    def test_extends_to_the_last_n_runs(self) -> None:
        """30 min interval, 30 s timeout, n = 3: 3 x 30 min x 1.5 + 30 s beyond a 5 min window."""
        assert lookback(rule(), timedelta(minutes=30), timedelta(seconds=30)) == timedelta(
            minutes=135, seconds=30
        )

    def test_window_when_longer(self) -> None:
        """A window longer than n runs is read whole."""
        assert lookback(rule(window="1h"), timedelta(seconds=30), timedelta(seconds=5)) == (
            timedelta(hours=1)
        )


class TestJudge:
    @pytest.mark.parametrize(
        ("pattern", "fields", "bad"),
        [
            ("f", {}, False),
            ("ff", {}, True),
            ("fpf", {}, True),
            ("fppf", {}, False),
            ("ffp", {}, False),
            ("ffp", {"resolve_after": 2}, True),
            ("f", {"confirm": {"failures": 1, "of": 1}, "min_samples": 1}, True),
            ("ff", {"min_samples": 3}, False),
        ],
        ids=[
            "one-sample-is-not-enough", "two-of-two", "two-of-three", "one-of-last-three",
            "newest-good-has-recovered", "newest-good-awaits-resolve-after", "one-of-one",
            "min-samples-three",
        ],
    )  # fmt: skip
    def test_bad(self, pattern: str, fields: dict[str, Any], bad: bool) -> None:
        """A region is bad on k of its last n votes, enough samples and no recovery yet."""
        assert judge(rule(**fields), "eu", votes(pattern), now_after(pattern)).bad is bad

    def test_condition_over_the_window_must_hold(self) -> None:
        """Two failures of the last three, but 18 of 20 passing in the window: not bad."""
        pattern = "p" * 17 + "fpf"
        r = rule(window="10m")
        assert judge(r, "eu", votes(pattern), now_after(pattern)).bad is False

    def test_outage_bounds(self) -> None:
        """The outage starts at the first bad run of the last n and ends at the good streak."""
        verdict = judge(rule(resolve_after=3), "eu", votes("pffpp"), at(2.5))
        assert (verdict.outage_start, verdict.recovery_start, verdict.streak) == (
            at(1.0),
            at(1.5),
            2,
        )


class TestObserve:
    @pytest.mark.parametrize(
        ("min_regions", "by_region", "bad"),
        [
            (1, {"eu": "ff"}, True),
            (1, {"eu": "pp"}, False),
            (2, {"eu": "ff", "us": "pp"}, False),
            (2, {"eu": "ff", "us": "ff", "ap": "pp"}, True),
            ("50%", {"eu": "ff", "us": "pp", "ap": "pp", "sa": ""}, False),
            ("50%", {"eu": "ff", "us": "ff", "ap": "pp", "sa": ""}, True),
            ("34%", {"eu": "ff", "us": "pp", "ap": "pp"}, False),
        ],
        ids=[
            "one-region-bad", "one-region-good", "one-of-two-is-not-enough", "two-bad",
            "half-of-four-needs-two", "two-of-four-is-half", "34-percent-of-three-is-two",
        ],
    )  # fmt: skip
    def test_verdict(self, min_regions: int | str, by_region: dict[str, str], bad: bool) -> None:
        """Bad regions are counted against min_regions, a share of all the group's regions."""
        seen = observe(
            rule(min_regions=min_regions), {r: votes(p) for r, p in by_region.items()}, at(1)
        )
        assert seen.bad is bad

    def test_no_votes_is_no_data(self) -> None:
        """A group whose regions cast no vote has no data."""
        assert observe(rule(), {"eu": []}, at(1)).no_data

    def test_recovering_then_resolved(self) -> None:
        """With resolve_after 2, one good run is recovering and two resolve."""
        r = rule(resolve_after=2)
        one = observe(r, {"eu": votes("ffp")}, at(1.5))
        two = observe(r, {"eu": votes("ffpp")}, at(2))
        assert (one.recovering, one.resolved, two.resolved) == (True, False, True)

    def test_evidence_follows_the_votes(self) -> None:
        """The same votes give the same evidence; one more vote gives another."""
        first = observe(rule(), {"eu": votes("pp")}, at(1)).evidence
        assert observe(rule(), {"eu": votes("pp")}, at(1)).evidence == first
        assert observe(rule(), {"eu": votes("ppp")}, at(1)).evidence != first

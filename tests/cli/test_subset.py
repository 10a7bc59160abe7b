"""Specifications of ``run --once --check NAME`` and ``--tag TAG``: a CI gate runs a subset,
against the demo target over real HTTP, and a selection that matches nothing is an error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.demo_target import TargetState
from tests.cli.conftest import Completed

Run = Callable[..., Completed]

CHECKS = """\
- name: health
  kind: http
  url: ${TARGET}/health
  tags: {tier: critical}
- name: api-status
  kind: http
  url: ${TARGET}/api/v1/status
  tags: {tier: critical, team: api}
- name: api-test
  kind: http
  url: ${TARGET}/api/v1/test
  tags: {team: api}
"""
PATHS = {"health": "/health", "api-status": "/api/v1/status", "api-test": "/api/v1/test"}


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Path:
    return write_config(CHECKS)


class TestSubset:
    @pytest.mark.parametrize(
        ("args", "ran"),
        [
            (["--check", "health"], {"health"}),
            (["--check", "health", "--check", "api-test"], {"health", "api-test"}),
            (["--tag", "tier=critical"], {"health", "api-status"}),
            (["--tag", "team"], {"api-status", "api-test"}),
            (["--check", "health", "--tag", "team=api"], {"health", "api-status", "api-test"}),
            ([], {"health", "api-status", "api-test"}),
        ],
        ids=["one-name", "two-names", "tag-value", "tag-key", "name-or-tag", "everything"],
    )
    def test_only_the_selected_checks_run(
        self, smokewatch: Run, config: Path, target: TargetState, args: list[str], ran: set[str]
    ) -> None:
        """A check runs when it is named or carries a given tag; the others send nothing."""
        done = smokewatch("run", "--once", "--config", str(config), "--json", *args)
        assert done.code == 0, done.stderr
        assert {r["check"] for r in json.loads(done.stdout)} == ran
        for name, path in PATHS.items():
            assert target.stats.request_count(path, "GET") == (name in ran), name

    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["--check", "nope"], "no check named 'nope' (checks: health, api-status, api-test)"),
            (["--tag", "team=web"], "no check has the tag 'team=web'"),
        ],
        ids=["unknown-name", "unmatched-tag"],
    )
    def test_a_selection_matching_nothing_is_an_error(
        self, smokewatch: Run, config: Path, target: TargetState, args: list[str], says: str
    ) -> None:
        """Exit 2 with one line naming what matched nothing, and no request is sent: a gate
        must never pass by running no check."""
        done = smokewatch("run", "--once", "--config", str(config), *args)
        assert done.code == 2
        assert f"error: {says}" in done.stderr
        assert "Traceback" not in done.stderr
        assert sum(target.stats.request_count(p, "GET") for p in PATHS.values()) == 0


class TestRunWithoutOnce:
    def test_it_says_what_to_do(self, cli: Run, config: Path) -> None:
        """`run` without --once exits 2 and names both ways on: run --once and serve."""
        done = cli("run", "--config", str(config))
        assert done.code == 2
        assert "smokewatch run --once" in done.stderr
        assert "smokewatch serve" in done.stderr

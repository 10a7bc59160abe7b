"""Specifications of a rule's own fields in alert-rules.yaml: label and annotation names,
selectors and the window, each error naming the file, line, rule and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.rules import METRIC_KINDS
from monitor.errors import ConfigError, ConfigProblem
from monitor.telemetry.base import API_KINDS, BROWSER_KINDS

CONFIG = """\
checks:
  - name: homepage
    kind: browser
    url: https://example.com/
  - name: api
    kind: http
    url: https://example.com/api
"""


def problems(tmp_path: Path, rule: str) -> list[ConfigProblem]:
    """Load a config whose alert-rules.yaml holds one rule ``r``; return its problems."""
    (tmp_path / "smokewatch.yaml").write_text(CONFIG)
    (tmp_path / "alert-rules.yaml").write_text(
        "alerts:\n  - name: r\n    condition: smoke_test.success < 0.9\n"
        + textwrap.indent(textwrap.dedent(rule), "    ")
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "smokewatch.yaml", env={})
    return info.value.problems


class TestFields:
    @pytest.mark.parametrize(
        ("rule", "field", "line", "message"),
        [
            ("labels: {team-name: web}\n", "labels", 4, "'team-name' is not a valid label name"),
            ("labels: {__x: y}\n", "labels", 4, "'__x' is not a valid label name"),
            ("labels: {severity: high}\n", "labels", 4, "label 'severity' is set by smokewatch"),
            ("labels: {check: x}\n", "labels", 4, "label 'check' is set by smokewatch"),
            ("annotations: {run book: x}\n", "annotations", 4, "not a valid annotation name"),
            ("checks: []\n", "checks", 4, "an empty list selects nothing"),
            ("regions: []\n", "regions", 4, "leave 'regions' out for all"),
            ("kinds: ['']\n", "kinds", 4, "an empty name selects nothing"),
            ("window: 0s\n", "window", 4, "window must be positive"),
        ],
        ids=[
            "label-dash", "label-dunder", "label-severity", "label-check", "annotation-space",
            "empty-checks", "empty-regions", "empty-kind", "zero-window",
        ],
    )  # fmt: skip
    def test_a_bad_field_is_named(
        self, tmp_path: Path, rule: str, field: str, line: int, message: str
    ) -> None:
        """Each problem names alert-rules.yaml, its line, the rule and the field."""
        (problem,) = problems(tmp_path, rule)
        assert problem.file.endswith("alert-rules.yaml")
        assert (problem.line, problem.item, problem.field) == (line, "alerts[0] (r)", field)
        assert message in problem.message

    def test_good_labels_and_annotations_load(self, tmp_path: Path) -> None:
        """Prometheus-style names load, values are free text."""
        (tmp_path / "smokewatch.yaml").write_text(CONFIG)
        (tmp_path / "alert-rules.yaml").write_text(
            textwrap.dedent("""\
                alerts:
                  - name: r
                    condition: smoke_test.success < 0.9
                    labels: {team: web, _tier: "1"}
                    annotations: {summary: "{{ check }} is down", runbook_url: "https://x/y"}
            """)
        )
        rule = load_config(tmp_path / "smokewatch.yaml", env={}).rules.alerts[0]
        assert rule.labels == {"team": "web", "_tier": "1"}
        assert set(rule.annotations) == {"summary", "runbook_url"}


class TestMetricKinds:
    def test_metric_kinds_follow_telemetry(self) -> None:
        """The kinds a timing metric has values for are those telemetry exports it for."""
        assert METRIC_KINDS == {
            "smoke_test.homepage_load": BROWSER_KINDS,
            "smoke_test.api_response": API_KINDS,
        }

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


class TestEvidenceFields:
    @pytest.mark.parametrize(
        ("rule", "field", "line", "message"),
        [
            ("confirm: {failures: 2, of: 3}\nmin_samples: 4\n", "min_samples", 5,
             "min_samples (4) cannot exceed confirm.of (3)"),
            ("min_samples: 4\n", "min_samples", 4, "cannot exceed confirm.of (3)"),
            ("confirm: {failures: 4, of: 3}\n", "confirm", 4, "failures (4) cannot exceed of (3)"),
            ("confirm: {failures: 0}\n", "confirm.failures", 4, "greater than or equal to 1"),
            ("min_regions: 150%\n", "min_regions", 4, "at most 100%"),
            ("min_regions: half\n", "min_regions", 4, "a count like 2 or a share like '50%'"),
            ("min_regions: 0\n", "min_regions", 4, "at least 1"),
            ("flapping: {changes: 4, within: 0s}\n", "flapping.within", 4, "must be positive"),
            ("resolve_after: 0\n", "resolve_after", 4, "greater than or equal to 1"),
        ],
        ids=[
            "samples-over-n", "samples-over-default-n", "k-over-n", "k-zero", "share-over-100",
            "share-word", "regions-zero", "flapping-within-zero", "resolve-after-zero",
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

    def test_defaults(self, tmp_path: Path) -> None:
        """Without the fields: 2 of 3, 2 samples, 1 region, 1 good run, 2 changes in 10 runs."""
        (tmp_path / "smokewatch.yaml").write_text(CONFIG)
        (tmp_path / "alert-rules.yaml").write_text(
            "alerts:\n  - name: r\n    condition: smoke_test.success < 0.9\n"
        )
        rule = load_config(tmp_path / "smokewatch.yaml", env={}).rules.alerts[0]
        assert (rule.confirm.failures, rule.confirm.of, rule.min_samples) == (2, 3, 2)
        assert (rule.min_regions, rule.resolve_after, rule.aggregated) == (1, 1, False)
        assert (rule.flapping.changes, rule.flapping.runs, rule.flapping.within) == (2, 10, None)

    @pytest.mark.parametrize(
        ("value", "regions", "needed"),
        [("2", 5, 2), ("'50%'", 4, 2), ("'50%'", 3, 2), ("'34%'", 3, 2), ("'100%'", 3, 3)],
        ids=["count", "half-of-4", "half-of-3-rounds-up", "34-of-3", "all"],
    )
    def test_min_regions_share(self, tmp_path: Path, value: str, regions: int, needed: int) -> None:
        """A share of the group's regions is rounded up to whole regions."""
        (tmp_path / "smokewatch.yaml").write_text(CONFIG)
        (tmp_path / "alert-rules.yaml").write_text(
            "alerts:\n  - name: r\n    condition: smoke_test.success < 0.9\n"
            f"    min_regions: {value}\n"
        )
        rule = load_config(tmp_path / "smokewatch.yaml", env={}).rules.alerts[0]
        assert (rule.aggregated, rule.regions_needed(regions)) == (True, needed)


class TestMetricKinds:
    def test_metric_kinds_follow_telemetry(self) -> None:
        """The kinds a timing metric has values for are those telemetry exports it for."""
        assert METRIC_KINDS == {
            "smoke_test.homepage_load": BROWSER_KINDS,
            "smoke_test.api_response": API_KINDS,
        }

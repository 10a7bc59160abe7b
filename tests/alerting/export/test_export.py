"""Specifications of the PromQL mapping: conditions, selectors, min_regions, durations,
labels and annotations of the exported rules, and what cannot be exported."""

from __future__ import annotations

import fnmatch
import re
from datetime import timedelta

import pytest
from ruamel.yaml import YAML

from monitor.alerting.export import (
    ExportError,
    alerting_rule,
    export_rules,
    glob_regex,
    prom_duration,
    rule_expr,
    rule_groups,
    value_expr,
)
from monitor.config.rules import AlertRules
from tests.alerting.export.conftest import SHIPPED, rule, rules_from

BY = "by (check, kind, region) "
SUM = f"sum {BY}(increase("
SUM_LE = "sum by (check, kind, region, le) (increase(smoke_test_duration_seconds_bucket[5m]))"
UP = 'smoke_test_runs_total{result=~"pass|degraded"}'
RAN = 'smoke_test_runs_total{result!~"error|suspect"}'
HIST = "smoke_test_duration_seconds"
API = "smoke_test_api_response_seconds"
HOME = "smoke_test_homepage_load_seconds"


def one_line(expr: str) -> str:
    return " ".join(expr.split())


class TestDurations:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (timedelta(minutes=5), "5m"),
            (timedelta(minutes=90), "1h30m"),
            (timedelta(seconds=90), "1m30s"),
            (timedelta(days=1, seconds=1), "1d1s"),
            (timedelta(seconds=1.5), "1s500ms"),
            (timedelta(0), "0s"),
        ],
        ids=["minutes", "hours-minutes", "minutes-seconds", "days", "milliseconds", "zero"],
    )
    def test_prometheus_durations(self, value: timedelta, expected: str) -> None:
        """Windows and `for` become Prometheus durations, largest unit first."""
        assert prom_duration(value) == expected


class TestGlobs:
    NAMES = ("homepage", "api-health", "api-login", "api.v1", "bpi-x", "a", "api-", "[x]")

    @pytest.mark.parametrize(
        ("pattern", "regex"),
        [
            ("homepage", "homepage"),
            ("api-*", "api-.*"),
            ("api-?ealth", "api-.ealth"),
            ("[ab]pi-*", "[ab]pi-.*"),
            ("[!a]pi-*", "[^a]pi-.*"),
            ("api.v1", r"api\.v1"),
            ("[x]", "[x]"),
            ("x[", r"x\["),
        ],
        ids=["plain", "star", "question", "class", "negated-class", "dot", "bracket", "open"],
    )
    def test_globs_become_anchored_regexes(self, pattern: str, regex: str) -> None:
        """Each glob translates to the RE2 regex matching exactly the names fnmatch matches."""
        assert glob_regex([pattern]) == regex
        for name in self.NAMES:
            assert bool(re.fullmatch(regex, name)) == fnmatch.fnmatchcase(name, pattern), name

    def test_several_globs_are_alternatives(self) -> None:
        """A list of globs is one alternation."""
        assert glob_regex(["homepage", "api-*"]) == "homepage|api-.*"


class TestConditions:
    @pytest.mark.parametrize(
        ("condition", "fragments"),
        [
            ("smoke_test.success < 0.9", [f"{SUM}{UP}[5m])) / ({SUM}{RAN}[5m])) > 0)", "< 0.9"]),
            ("avg(smoke_test.success) < 0.9", [f"{SUM}{UP}[5m])) / ({SUM}{RAN}[5m])) > 0)"]),
            ("count(smoke_test.success) < 2", [f"{SUM}{RAN}[5m])) > 0) < 2"]),
            ("min(smoke_test.success) == 0", ['{result="fail"}[5m])) == bool 0']),
            ("max(smoke_test.success) == 0", [f"{SUM}{UP}[5m])) > bool 0"]),
            ("p95(smoke_test.success) == 0", ["> 0)) > bool 0.05) == 0"]),
            ("last(smoke_test.success) != 1", ["last_over_time(smoke_test_success[5m])"]),
            ("smoke_test.duration > 2s", [f"{SUM}{HIST}_sum[5m]))", f"({SUM}{HIST}_count[5m]))"]),
            ("p99(smoke_test.duration) > 2s", [f"histogram_quantile(0.99, {SUM_LE}"]),
            ("count(smoke_test.duration) < 1", [f"{SUM}{HIST}_count[5m])) > 0) < 1"]),
            ("smoke_test.api_response > 500", [f"avg {BY}(avg_over_time({API}[5m]))", "> 0.5"]),
            ("ratio(smoke_test.api_response) > 500", [f"avg_over_time({API}[5m])"]),
            ("max(smoke_test.homepage_load) > 3s", [f"max {BY}(max_over_time({HOME}[5m]))", "> 3"]),
            ("min(smoke_test.api_response) > 1s", [f"min {BY}(min_over_time({API}[5m]))"]),
            ("p90(smoke_test.homepage_load) > 3s", [f"quantile_over_time(0.9, {HOME}[5m])"]),
            ("last(smoke_test.api_response) > 1s", [f"last_over_time({API}[5m])"]),
            ("count(smoke_test.api_response) < 3", [f"and on (check, kind, region) {API}) < 3"]),
        ],
        ids=[
            "spec-success", "success-avg", "success-count", "success-min", "success-max",
            "success-p95", "success-last", "duration-avg", "duration-p99", "duration-count",
            "spec-api-response", "timing-ratio-is-avg", "homepage-max", "api-min", "homepage-p90",
            "api-last", "api-count",
        ],
    )  # fmt: skip
    def test_each_condition_maps_to_promql(self, condition: str, fragments: list[str]) -> None:
        """The value and comparison each condition exports to, in base units."""
        expr = one_line(rule_expr(rule(condition)))
        for fragment in fragments:
            assert fragment in expr

    @pytest.mark.parametrize(
        "condition",
        [
            "smoke_test.api_response > 1s",
            "p99(smoke_test.duration) > 1s",
            "last(smoke_test.success) < 1",
        ],
        ids=["gauge", "histogram", "last"],
    )
    def test_no_run_in_the_window_is_no_data(self, condition: str) -> None:
        """Values are kept only where a non-error run happened in the window."""
        expr = one_line(value_expr(rule(condition)))
        assert expr.endswith("> 0)")
        assert "and on (check, kind, region)" in expr

    @pytest.mark.parametrize("aggregation", ["min", "max", "last"])
    def test_duration_without_an_equivalent_is_refused(self, aggregation: str) -> None:
        """min/max/last of the run duration (a histogram) is an error naming rule and field."""
        with pytest.raises(ExportError, match=r"rule 'r': field 'condition': .*histogram"):
            rule_expr(rule(f"{aggregation}(smoke_test.duration) > 1s"))


class TestSelectors:
    @pytest.mark.parametrize(
        ("fields", "matchers"),
        [
            ({"checks": ["homepage"]}, 'check="homepage"'),
            ({"checks": ["api-*", "homepage"]}, 'check=~"api-.*|homepage"'),
            ({"regions": ["eu", "us"]}, 'region=~"eu|us"'),
            ({"kinds": ["browser"]}, 'kind="browser"'),
            (
                {"checks": ["a"], "regions": ["eu"], "kinds": ["http"]},
                'check="a",region="eu",kind="http"',
            ),
        ],
        ids=["one-check", "globs", "regions", "kind", "all-three"],
    )  # fmt: skip
    def test_selectors_become_label_matchers(
        self, fields: dict[str, list[str]], matchers: str
    ) -> None:
        """Every selector of the metric is restricted to the rule's checks, regions and kinds."""
        expr = rule_expr(rule("smoke_test.success < 0.9", **fields))
        assert f'smoke_test_runs_total{{result!~"error|suspect",{matchers}}}' in expr
        assert f'smoke_test_runs_total{{result=~"pass|degraded",{matchers}}}' in expr


class TestMinRegions:
    @pytest.mark.parametrize(
        ("condition", "worst"),
        [("smoke_test.success < 0.9", "min"), ("smoke_test.api_response > 500", "max")],
        ids=["below-threshold", "above-threshold"],
    )
    def test_count_of_bad_regions_per_check(self, condition: str, worst: str) -> None:
        """min_regions N: `count by (check) (bad) >= N`, valued at the worst region's value."""
        expr = one_line(rule_expr(rule(condition, min_regions=3)))
        assert expr.startswith(f"{worst} by (check) (")
        assert " and on (check) count by (check) (" in expr
        assert expr.endswith(") >= 3")

    def test_one_region_alerts_per_region(self) -> None:
        """min_regions 1 keeps one series (alert) per check, kind and region."""
        expr = rule_expr(rule("smoke_test.success < 0.9"))
        assert "count by" not in expr
        assert expr.rstrip().endswith("< 0.9")


class TestAlertingRule:
    def test_for_labels_and_severity(self) -> None:
        """`for` is exported (when set), labels carry the rule's labels and its severity."""
        exported = alerting_rule(
            rule(
                "smoke_test.success < 0.9",
                pending="2m",
                severity="critical",
                labels={"team": "web"},
            )
        )
        assert exported["alert"] == "r"
        assert exported["for"] == "2m"
        assert exported["labels"] == {"team": "web", "severity": "critical"}

    def test_no_pending_means_no_for(self) -> None:
        """A rule without `for` fires at once: the exported rule has no `for`."""
        assert "for" not in alerting_rule(rule("smoke_test.success < 0.9"))

    def test_no_data_alert_gets_a_companion_rule(self) -> None:
        """no_data: alert adds `<name>_no_data`: a selected check with no non-error run."""
        groups = rule_groups(
            AlertRules(alerts=(rule("smoke_test.success < 0.9", no_data="alert"),))
        )
        (group,) = groups["groups"]
        names = [r["alert"] for r in group["rules"]]
        assert names == ["r", "r_no_data"]
        expr = one_line(group["rules"][1]["expr"])
        assert expr.startswith("group by (check, kind, region) (smoke_test_runs_total)")
        assert "unless on (check, kind, region)" in expr

    def test_a_no_data_alert_may_not_shadow_a_rule(self) -> None:
        """A rule named like another's no-data alert is refused rather than exported twice."""
        rules = AlertRules(
            alerts=(
                rule("smoke_test.success < 0.9", no_data="alert"),
                rule("smoke_test.success < 0.5").model_copy(update={"name": "r_no_data"}),
            )
        )
        with pytest.raises(ExportError, match=r"\['r_no_data'\] would be exported twice"):
            rule_groups(rules)


class TestAnnotations:
    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{ check }} in {{ region }}", "{{ $labels.check }} in {{ $labels.region }}"),
            ("{{ value }}", "{{ $value }}"),
            ("{{ value | round(2) }}", '{{ printf "%.2f" $value }}'),
            ("{{ value_text }}", '{{ printf "%.2f" $value }}'),
            ("{{ rule }} {{ severity }} {{ threshold }}", "r critical 0.9"),
            ("{{ labels.team }}/{{ labels.check }}", "web/{{ $labels.check }}"),
            ("{{ regions | join(', ') }}", "{{ $labels.region }}"),
            ("{{ '{{' }} x", '{{ "{{" }} x'),
        ],
        ids=[
            "labels", "value", "rounded", "value-text", "literals", "rule-labels", "regions",
            "braces",
        ],
    )  # fmt: skip
    def test_jinja_variables_become_go_templates(self, template: str, expected: str) -> None:
        """Alert-time values become $labels/$value; everything else is rendered as text."""
        exported = alerting_rule(
            rule("smoke_test.success < 0.9", severity="critical", labels={"team": "web"},
                 annotations={"description": template})
        )  # fmt: skip
        assert exported["annotations"]["description"] == expected

    def test_every_rule_has_a_summary(self) -> None:
        """Without a summary of its own, a rule exports the default one."""
        exported = alerting_rule(rule("smoke_test.api_response > 500"))
        assert exported["annotations"]["summary"] == (
            "r: {{ $labels.check }} in {{ $labels.region }}: smoke_test.api_response > 500 "
            "(now {{ humanizeDuration $value }})"
        )

    def test_min_regions_names_the_regions_it_needs(self) -> None:
        """With min_regions, there is no region label: `region` reads "N+ regions"."""
        exported = alerting_rule(
            rule("smoke_test.success < 0.9", min_regions=2, annotations={"summary": "{{ region }}"})
        )
        assert exported["annotations"]["summary"] == "2+ regions"

    @pytest.mark.parametrize(
        "template",
        ["{{ value * 100 }}", "{{ '%.1f' | format(value) }}", "{% if value > 1 %}x{% endif %}"],
        ids=["arithmetic", "format", "comparison"],
    )
    def test_computing_with_the_value_is_refused(self, template: str) -> None:
        """A template computing with the alert-time value names rule and annotation."""
        with pytest.raises(ExportError, match=r"rule 'r': field 'annotations': annotation 'x'"):
            alerting_rule(rule("smoke_test.success < 0.9", annotations={"x": template}))


class TestDocuments:
    def test_rule_file(self) -> None:
        """The rule file is YAML with one group holding every rule, label values quoted."""
        text = export_rules(rules_from(SHIPPED), "prometheus")
        assert text.startswith("# Generated by `smokewatch rules export`")
        assert "severity: 'critical'" in text
        document = YAML(typ="safe").load(text)
        (group,) = document["groups"]
        assert [r["alert"] for r in group["rules"]] == [
            "smoke_test_failure",
            "performance_degradation",
        ]

    def test_prometheus_rule_manifest(self) -> None:
        """The manifest is a PrometheusRule whose spec is the rule file's groups."""
        rules = rules_from(SHIPPED)
        text = export_rules(rules, "prometheus-rule", name="alerts", namespace="monitoring")
        document = YAML(typ="safe").load(text)
        assert document["apiVersion"] == "monitoring.coreos.com/v1"
        assert document["kind"] == "PrometheusRule"
        assert document["metadata"]["name"] == "alerts"
        assert document["metadata"]["namespace"] == "monitoring"
        assert document["spec"] == YAML(typ="safe").load(export_rules(rules, "prometheus"))

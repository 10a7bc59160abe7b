"""`promtool` (the Debian prometheus package) on the exported rules: it accepts every
form we export, and its unit tests show the spec's rule and ``min_regions`` firing."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest

from monitor.alerting.export import Format, export_rules
from monitor.config.loader import load_config
from monitor.config.rules import AGGREGATIONS, METRICS, AlertRules
from tests.alerting.export.conftest import HERE, SHIPPED, Promtool, read_yaml, rule, rules_from

RICH_CONFIG = HERE / "smokewatch.yaml"
UNIT_TESTS = HERE / "promtool-tests.yml"
TWO_REGIONS = HERE / "two-regions.yaml"
REFUSED = {("smoke_test.duration", a) for a in ("min", "max", "last")}


def write_rule_file(rules: AlertRules, fmt: Format, path: Path) -> Path:
    """Export ``rules`` and write what promtool reads: a manifest's ``spec`` is a rule file."""
    text = export_rules(rules, fmt)
    if fmt == "prometheus-rule":
        from ruamel.yaml import YAML  # noqa: PLC0415 -- only the manifest needs re-dumping

        document: Any = YAML(typ="safe").load(text)
        assert (document["apiVersion"], document["kind"]) == (
            "monitoring.coreos.com/v1",
            "PrometheusRule",
        )
        YAML(typ="safe").dump(document["spec"], path)
    else:
        path.write_text(text)
    return path


def assert_accepted(promtool: Promtool, path: Path, count: int) -> None:
    done = promtool("check", "rules", path.name, cwd=path.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {count} rules found" in done.stdout


class TestCheckRules:
    @pytest.mark.parametrize("fmt", ["prometheus", "prometheus-rule"])
    def test_the_shipped_rules(self, promtool: Promtool, tmp_path: Path, fmt: Format) -> None:
        """The spec's alert-rules.yaml exports to rules promtool accepts, in both formats."""
        path = write_rule_file(rules_from(SHIPPED), fmt, tmp_path / "rules.yaml")
        assert_accepted(promtool, path, 2)

    @pytest.mark.parametrize("fmt", ["prometheus", "prometheus-rule"])
    def test_the_rich_example(self, promtool: Promtool, tmp_path: Path, fmt: Format) -> None:
        """Selectors, min_regions, for, labels, templates and no-data alerts: all accepted."""
        loaded = load_config(RICH_CONFIG, env={})
        path = write_rule_file(loaded.rules, fmt, tmp_path / "rules.yaml")
        no_data = sum(r.no_data == "alert" for r in loaded.rules.alerts)
        assert_accepted(promtool, path, len(loaded.rules.alerts) + no_data)

    def test_every_metric_aggregation_and_operator(
        self, promtool: Promtool, tmp_path: Path
    ) -> None:
        """Each exportable (metric, aggregation), with each operator and min_regions 1 or 3."""
        operators = ("<", "<=", ">", ">=", "==", "!=")
        rules = [
            rule(f"{aggregation}({metric}) {op} 1", min_regions=regions).model_copy(
                update={"name": f"r{index}"}
            )
            for index, (metric, aggregation, op, regions) in enumerate(
                (m, a, o, n)
                for m, a, o, n in itertools.product(METRICS, AGGREGATIONS, operators, (1, 3))
                if (m, a) not in REFUSED
            )
        ]
        path = write_rule_file(AlertRules(alerts=tuple(rules)), "prometheus", tmp_path / "r.yml")
        assert_accepted(promtool, path, len(rules))


class TestUnitTests:
    def _run(self, promtool: Promtool, tmp_path: Path, rules: AlertRules) -> tuple[bool, str]:
        write_rule_file(rules, "prometheus", tmp_path / "rules.yaml")
        shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
        done = promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
        return done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr

    def test_exported_rules_fire_as_specified(self, promtool: Promtool, tmp_path: Path) -> None:
        """Spec rule fires at success 0.80 (not 0.95); min_regions 2 fires with 2 regions only."""
        ok, output = self._run(promtool, tmp_path, rules_from(SHIPPED, TWO_REGIONS))
        assert ok, output
        scenarios = read_yaml(UNIT_TESTS)["tests"]
        checked = {t["alertname"] for s in scenarios for t in s["alert_rule_test"]}
        assert checked == {"smoke_test_failure", "performance_degradation", "outage_in_two_regions"}

    @pytest.mark.parametrize(
        ("name", "change"),
        [
            ("smoke_test_failure", {"condition": "smoke_test.success < 0.7"}),
            ("outage_in_two_regions", {"min_regions": 1}),
            ("performance_degradation", {"condition": "smoke_test.api_response > 900"}),
        ],
        ids=["lower-threshold", "one-region-enough", "higher-budget"],
    )
    def test_the_unit_tests_catch_a_wrong_rule(
        self, promtool: Promtool, tmp_path: Path, name: str, change: dict[str, Any]
    ) -> None:
        """The promtool file fails on rules that differ from the spec: it really checks."""
        rules = rules_from(SHIPPED, TWO_REGIONS)
        changed = tuple(
            r.model_validate({**r.model_dump(by_alias=True), **change}) if r.name == name else r
            for r in rules.alerts
        )
        ok, output = self._run(promtool, tmp_path, AlertRules(alerts=changed))
        assert not ok
        assert f"alertname: {name}" in output

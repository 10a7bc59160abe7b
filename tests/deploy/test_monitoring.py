"""Specifications of what the chart gives Prometheus and Grafana: the ServiceMonitor, the
PrometheusRule (checked and unit-tested with promtool) and the dashboard ConfigMap."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from tests.deploy.chart import CHART_DIR, ROOT, Rendered, render

SOURCE_DASHBOARD = ROOT / "dashboards" / "grafana" / "smokewatch.json"
CHART_DASHBOARD = CHART_DIR / "dashboards" / "smokewatch.json"
SOURCE_RULES = ROOT / "dashboards" / "prometheus" / "smokewatch-rules.yml"

# Region eu-west-1 runs every minute (its heartbeat keeps up with the clock); us-east-1 ran
# last at t=0 with a 30 min interval, so it is overdue from t=60 min (+ the rule's `for`).
UNIT_TEST = """\
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'smokewatch_last_run_timestamp_seconds{job="sw",instance="a",region="eu-west-1"}'
        values: '0+60x120'
      - series: 'smokewatch_run_interval_seconds{job="sw",instance="a",region="eu-west-1"}'
        values: '1800x120'
      - series: 'smokewatch_last_run_timestamp_seconds{job="sw",instance="b",region="us-east-1"}'
        values: '0x120'
      - series: 'smokewatch_run_interval_seconds{job="sw",instance="b",region="us-east-1"}'
        values: '1800x120'
      - series: 'smokewatch_build_info{version="0.1.0"}'
        values: '1x120'
    alert_rule_test:
      - {eval_time: 59m, alertname: SmokewatchNotRunning, exp_alerts: []}
      - eval_time: 65m
        alertname: SmokewatchNotRunning
        exp_alerts:
          - exp_labels: {severity: critical, job: sw, instance: b, region: us-east-1}
      - {eval_time: 65m, alertname: SmokewatchNotRunningDefaultInterval, exp_alerts: []}
      - {eval_time: 65m, alertname: SmokewatchMetricsAbsent, exp_alerts: []}
"""


@pytest.fixture(scope="module")
def everything_on(chart: helm_python.Chart) -> Rendered:
    return render(chart, {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}})


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/install-system-deps.sh installs prometheus"
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


class TestGrafanaDashboard:
    def test_chart_copy_equals_the_source(self) -> None:
        """helm/smokewatch/dashboards/ holds dashboards/grafana/smokewatch.json byte for byte."""
        assert SOURCE_DASHBOARD.exists(), "the telemetry dashboard is missing"
        assert CHART_DASHBOARD.read_bytes() == SOURCE_DASHBOARD.read_bytes(), (
            "cp dashboards/grafana/smokewatch.json helm/smokewatch/dashboards/smokewatch.json"
        )

    def test_provisioning_config_map(self, everything_on: Rendered) -> None:
        """A ConfigMap labelled for Grafana's sidecar carries the dashboard's JSON intact."""
        config_map = everything_on.one("ConfigMap", "sw-smokewatch-dashboard")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(config_map["data"]["smokewatch.json"]) == json.loads(
            SOURCE_DASHBOARD.read_text()
        )


class TestServiceMonitor:
    def test_scrapes_metrics_of_the_service(self, everything_on: Rendered) -> None:
        """The ServiceMonitor selects the chart's Service and scrapes its http port's /metrics."""
        monitor = everything_on.one("ServiceMonitor")
        service = everything_on.one("Service")
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        selector: dict[str, str] = monitor["spec"]["selector"]["matchLabels"]
        assert selector.items() <= service["metadata"]["labels"].items()
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


class TestPrometheusRule:
    def test_default_groups_are_the_telemetry_rules(self) -> None:
        """values.yaml's default groups equal dashboards/prometheus/smokewatch-rules.yml."""
        values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
        assert (
            values["prometheusRule"]["groups"] == yaml.safe_load(SOURCE_RULES.read_text())["groups"]
        )

    def test_promtool_accepts_the_rules(self, everything_on: Rendered, tmp_path: Path) -> None:
        """`promtool check rules` parses every expression and annotation template."""
        rule = everything_on.one("PrometheusRule")
        assert rule["apiVersion"] == "monitoring.coreos.com/v1"
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
        done = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout

    def test_not_running_fires_after_two_intervals(
        self, everything_on: Rendered, tmp_path: Path
    ) -> None:
        """SmokewatchNotRunning fires for a region whose heartbeat stopped 2 intervals ago, only."""
        spec: dict[str, Any] = everything_on.one("PrometheusRule")["spec"]
        for group in spec["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)  # texts: checked by `check rules` above
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
        (tmp_path / "unit.yaml").write_text(UNIT_TEST)
        done = _promtool("test", "rules", "unit.yaml", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr

"""Specifications of the shipped dashboards and rules: they parse, and query what we export."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.config.telemetry import TelemetrySettings
from monitor.telemetry.datadog import METRICS, SERVICE_CHECK
from monitor.telemetry.hub import build_telemetry
from probes.base import Status
from tests.support.prometheus import PrometheusServer
from tests.telemetry.helpers import json_logger, make_run

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "dashboards" / "grafana" / "smokewatch.json"
DATADOG = ROOT / "dashboards" / "datadog" / "smokewatch.json"
RULES = ROOT / "dashboards" / "prometheus" / "smokewatch-rules.yml"
RULES_TEST = Path(__file__).with_name("rules_test.yml")
PROMTOOL = "/usr/bin/promtool"
PROM_METRIC = re.compile(r"\b(?:smoke_test|probe|smokewatch)_[a-z_]+\b")
DD_METRIC = re.compile(r"\bsmoke_test\.[a-z_]+\b")
# Grafana's variables as a query would see them with "All" selected.
GRAFANA_VARS = {"$region": ".*", "$check": ".*", "$__rate_interval": "5m", "$__range": "1h"}


def exported_names() -> set[str]:
    """Every sample name the service exports, after runs of every kind and every outcome."""
    registry = CollectorRegistry()
    log, _ = json_logger()
    telemetry = build_telemetry(
        TelemetrySettings(), registry=registry, region="eu", env={}, log=log, version="1",
        interval=timedelta(minutes=30),
    )  # fmt: skip
    telemetry.record(
        [
            make_run("a", "http", timings={"connect": 1, "tls": 1, "request": 1, "first_byte": 1,
                                           "transfer": 1, "total": 5}),
            make_run("b", "flow", timings={"step:login": 1, "total": 2}),
            make_run("c", "browser", timings={"ttfb": 1, "dcl": 2, "load": 3, "lcp": 2}),
            make_run("d", "websocket", Status.ERROR),
        ]
    )  # fmt: skip
    telemetry.ctx.failed("datadog", "down")
    return {sample.name for family in registry.collect() for sample in family.samples}


def grafana_queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    """Panel title -> its PromQL expressions (template variables included as 'variables')."""
    queries = {
        panel["title"]: [target["expr"] for target in panel.get("targets", [])]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }
    queries["variables"] = [
        v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"
    ]
    return queries


def datadog_queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for widget in dashboard["widgets"]:
        definition = widget["definition"]
        out[definition["title"]] = [
            query["query"]
            for request in definition.get("requests", [])
            for query in request.get("queries", [])
        ]
    return out


class TestGrafanaDashboard:
    def test_every_metric_a_panel_queries_is_exported(self) -> None:
        """Each panel queries at least one smokewatch metric, and every one it names exists."""
        queries = grafana_queries(json.loads(GRAFANA.read_text()))
        exported = exported_names()
        for title, exprs in queries.items():
            names = {m for expr in exprs for m in PROM_METRIC.findall(expr)}
            assert names, f"panel {title!r} queries no smokewatch metric"
            assert names <= exported, f"panel {title!r}: not exported: {names - exported}"

    @pytest.mark.parametrize(
        ("what", "pattern"),
        [
            ("success by check and region", r"by \(check, region\) \(smoke_test_success"),
            ("latency percentiles", r"quantile\(0\.95, .*smoke_test_duration_seconds_bucket"),
            ("timing phases", r"smoke_test_phase_seconds"),
            ("browser timings", r"smoke_test_browser_timing_seconds"),
            ("last run", r"smokewatch_last_run_timestamp_seconds"),
        ],
        ids=["success", "percentiles", "phases", "browser", "last-run"],
    )  # fmt: skip
    def test_the_dashboard_shows(self, what: str, pattern: str) -> None:
        """The panels the issue asks for are there."""
        exprs = [e for es in grafana_queries(json.loads(GRAFANA.read_text())).values() for e in es]
        assert any(re.search(pattern, expr) for expr in exprs), what

    def test_every_query_is_valid_promql(self, prometheus_server: PrometheusServer) -> None:
        """A real Prometheus accepts every panel's expression ("All" selected)."""
        for title, exprs in grafana_queries(json.loads(GRAFANA.read_text())).items():
            if title == "variables":
                continue
            for expr in exprs:
                for var, value in GRAFANA_VARS.items():
                    expr = expr.replace(var, value)  # noqa: PLW2901 -- substituted in place
                data = prometheus_server.api("query?" + urllib.parse.urlencode({"query": expr}))
                assert data["resultType"] in ("vector", "scalar"), (title, expr)


class TestDatadogDashboard:
    def test_every_metric_a_widget_queries_is_one_we_send(self) -> None:
        """Widgets query only smoke_test.* metrics the Datadog exporters send, and all of them."""
        dashboard = json.loads(DATADOG.read_text())
        used: set[str] = set()
        for title, queries in datadog_queries(dashboard).items():
            names = {m for q in queries for m in DD_METRIC.findall(q)}
            assert names <= set(METRICS), f"widget {title!r}: unknown {names - set(METRICS)}"
            used |= names
        assert used == set(METRICS)

    def test_the_service_check_widget_reads_our_service_check(self) -> None:
        """The check_status widget shows smoke_test.check, grouped by check and region."""
        dashboard = json.loads(DATADOG.read_text())
        (widget,) = [
            w["definition"]
            for w in dashboard["widgets"]
            if w["definition"]["type"] == "check_status"
        ]
        assert (widget["check"], widget["group_by"]) == (SERVICE_CHECK, ["check", "region"])

    def test_template_variables_are_the_tags_we_send(self) -> None:
        """Filters are env, region and check: tags on every metric."""
        dashboard = json.loads(DATADOG.read_text())
        assert {v["prefix"] for v in dashboard["template_variables"]} == {"env", "region", "check"}


class TestPrometheusRules:
    @pytest.mark.parametrize(
        ("command", "path"), [("check", RULES), ("test", RULES_TEST)], ids=["check", "unit-tests"]
    )
    def test_promtool_accepts_the_rules(self, command: str, path: Path) -> None:
        """promtool check rules passes; its unit tests prove 'not run for 2 intervals' fires."""
        done = subprocess.run(
            [PROMTOOL, command, "rules", path.name], cwd=path.parent, capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout

    def test_rule_metrics_are_exported(self) -> None:
        """Every metric the rules use exists."""
        names = set(PROM_METRIC.findall(RULES.read_text()))
        assert names
        assert names <= exported_names()

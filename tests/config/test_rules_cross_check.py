"""Specifications of the load-time cross-check of alert-rules.yaml against smokewatch.yaml:
what a rule selects must exist, its targets must be deliverable, its templates must render."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.config.loader import _cross_check
from monitor.config.root import config_model
from monitor.config.rules import AlertRules
from monitor.config.source import read_yaml
from monitor.errors import ConfigError, ConfigProblem

CONFIG = """\
regions: [eu, us, ap]
checks:
  - name: homepage
    kind: browser
    url: https://example.com/
  - name: api-health
    kind: http
    url: https://example.com/api/v1/health
  - name: api-login
    kind: flow
    regions: [eu]
    steps:
      - {name: login, url: https://example.com/api/v1/login}
"""
CHECKS: list[dict[str, Any]] = [
    {"name": "homepage", "kind": "browser", "url": "https://example.com/"},
    {"name": "api", "kind": "http", "url": "https://example.com/api"},
]


def load_problems(tmp_path: Path, rules: str) -> list[ConfigProblem]:
    """The problems of CONFIG beside an alert-rules.yaml of ``rules`` ([] if it loads)."""
    (tmp_path / "smokewatch.yaml").write_text(CONFIG)
    (tmp_path / "alert-rules.yaml").write_text(textwrap.dedent(rules))
    try:
        load_config(tmp_path / "smokewatch.yaml", env={})
    except ConfigError as exc:
        return exc.problems
    return []


def one_rule(body: str) -> str:
    return "alerts:\n  - name: r\n" + textwrap.indent(textwrap.dedent(body), "    ")


def target_problems(
    tmp_path: Path, notify: list[str], alerting: dict[str, Any]
) -> list[ConfigProblem]:
    """The cross-check of one rule notifying ``notify`` under ``alerting`` settings."""
    path = tmp_path / "alert-rules.yaml"
    targets = "".join(f"      - '{t}'\n" for t in notify)
    path.write_text(one_rule("condition: smoke_test.success < 0.9\nnotify:\n") + targets)
    doc = read_yaml(path)
    config = config_model().model_validate({"checks": CHECKS, "alerting": alerting})
    return _cross_check(doc, AlertRules.model_validate(doc.data), config)


SLACK = {"slack": {"webhook_url": "https://hooks.slack.example/T/B/x"}}
EMAIL = {"email": {"host": "smtp.example.com", "from_address": "sw@example.com"}}
HOOKS = {"webhooks": {"ops": {"url": "https://hooks.example/ops"}}}
PAGERDUTY = {"pagerduty": {"primary": {"routing_key": "k"}}}


class TestSelectors:
    @pytest.mark.parametrize(
        ("body", "field", "line", "message"),
        [
            ("checks: [homepage, 'web-*']\n", "checks[1]", 4, "no check matches 'web-*'"),
            ("checks: [Homepage]\n", "checks[0]", 4, "no check matches 'Homepage'"),
            ("regions: [eu, mars]\n", "regions[1]", 4, "unknown region 'mars' (regions: eu, us"),
            ("kinds: [ftp]\n", "kinds[0]", 4, "unknown kind 'ftp' (kinds: "),
            ("kinds: [websocket]\n", "kinds[0]", 4, "no check of kind 'websocket'"),
            ("checks: [homepage]\nkinds: [http]\n", "checks", 4, "together select no check"),
            ("checks: [api-login]\nregions: [us]\n", "checks", 4, "together select no check"),
        ],
        ids=[
            "glob-matches-nothing", "globs-are-case-sensitive", "unknown-region", "unknown-kind",
            "kind-without-check", "check-and-kind-disjoint", "check-not-in-region",
        ],
    )  # fmt: skip
    def test_a_selector_naming_nothing_is_an_error(
        self, tmp_path: Path, body: str, field: str, line: int, message: str
    ) -> None:
        """Checks, regions and kinds must select something; the item in the list is named."""
        (problem,) = load_problems(tmp_path, one_rule("condition: smoke_test.success < 1\n" + body))
        assert (problem.item, problem.field, problem.line) == ("alerts[0] (r)", field, line)
        assert message in problem.message

    def test_several_problems_are_all_reported(self, tmp_path: Path) -> None:
        """Every bad selector of every rule is reported in one load."""
        rules = one_rule("condition: smoke_test.success < 1\nchecks: [x, y]\nregions: [mars]\n")
        found = {p.field for p in load_problems(tmp_path, rules)}
        assert found == {"checks[0]", "checks[1]", "regions[0]"}

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            (
                "condition: smoke_test.homepage_load > 3s\nchecks: ['api-*']\n",
                "condition",
                "smoke_test.homepage_load has values only for browser checks",
            ),
            (
                "condition: smoke_test.api_response > 200\nkinds: [browser]\n",
                "condition",
                "smoke_test.api_response has values only for flow and http checks",
            ),
            (
                "condition: smoke_test.success < 0.9\nmin_regions: 4\n",
                "min_regions",
                "4 regions can never fail at once: the rule sees 3 (eu, us, ap)",
            ),
            (
                "condition: smoke_test.success < 0.9\nregions: [eu, us]\nmin_regions: 3\n",
                "min_regions",
                "the rule sees 2 (eu, us)",
            ),
        ],
        ids=[
            "homepage-load-on-api", "api-response-on-browser", "more-than-known",
            "more-than-selected",
        ],
    )  # fmt: skip
    def test_a_rule_that_could_never_fire(
        self, tmp_path: Path, body: str, field: str, message: str
    ) -> None:
        """A metric with no values for the selected checks, or unreachable min_regions."""
        (problem,) = load_problems(tmp_path, one_rule(body))
        assert (problem.item, problem.field) == ("alerts[0] (r)", field)
        assert message in problem.message

    @pytest.mark.parametrize(
        "body",
        [
            "condition: smoke_test.success < 0.9\nchecks: ['api-*', homepage]\nregions: [eu]\n",
            "condition: p95(smoke_test.homepage_load) > 3s\n",
            "condition: smoke_test.api_response > 200\nkinds: [http, flow]\nmin_regions: 3\n",
        ],
        ids=["globs-and-region", "metric-fits-some", "min-regions-reachable"],
    )
    def test_a_rule_that_selects_something_loads(self, tmp_path: Path, body: str) -> None:
        """Rules whose selectors, metric and min_regions fit the config load."""
        assert load_problems(tmp_path, one_rule(body)) == []


class TestNotifyTargets:
    @pytest.mark.parametrize(
        ("notify", "alerting", "message"),
        [
            (["oncall@example.com"], {}, "needs alerting.channels.email"),
            (["slack:#alerts"], {"channels": EMAIL}, "needs alerting.channels.slack"),
            (["webhook:ops"], {"channels": {}}, "no webhook named 'ops'"),
            (["pagerduty:backup"], {"channels": PAGERDUTY}, "no pagerduty service named 'backup'"),
        ],
        ids=["email-unconfigured", "slack-unconfigured", "webhook-unknown", "pagerduty-unknown"],
    )  # fmt: skip
    def test_an_undeliverable_target_is_an_error(
        self, tmp_path: Path, notify: list[str], alerting: dict[str, Any], message: str
    ) -> None:
        """A target whose channel is not configured names the rule and the list entry."""
        (problem,) = target_problems(tmp_path, notify, alerting)
        assert (problem.item, problem.field, problem.line) == ("alerts[0] (r)", "notify[0]", 5)
        assert message in problem.message

    def test_every_configured_channel_is_deliverable(self, tmp_path: Path) -> None:
        """With the spec's targets and each kind of channel configured, nothing is reported."""
        targets = ["oncall@example.com", "slack:#alerts", "webhook:ops", "pagerduty:primary"]
        channels = {**SLACK, **EMAIL, **HOOKS, **PAGERDUTY}
        assert target_problems(tmp_path, targets, {"channels": channels}) == []

    def test_alerting_disabled_sends_nothing_so_checks_nothing(self, tmp_path: Path) -> None:
        """With alerting.enabled false no target is checked (none is ever used)."""
        assert target_problems(tmp_path, ["slack:#alerts"], {"enabled": False}) == []


class TestTemplates:
    @pytest.mark.parametrize(
        ("annotation", "message"),
        [
            ("'{{ check '", "does not compile"),
            ("'{{ chek }}'", "fails with a sample value: UndefinedError: 'chek' is undefined"),
            ("'{{ labels.team }}'", "UndefinedError"),
            ("'{{ check.__class__.__mro__ }}'", "SecurityError"),
            ("'{{ value | round(2) }}'", "fails with no data (value None)"),
        ],
        ids=["syntax", "undefined-variable", "undefined-label", "sandbox", "none-value"],
    )
    def test_a_bad_template_is_an_error(
        self, tmp_path: Path, annotation: str, message: str
    ) -> None:
        """Templates compile and render with sample values (and no value, for no-data rules)."""
        body = (
            "condition: smoke_test.success < 0.9\nno_data: alert\n"
            f"annotations:\n  summary: {annotation}\n"
        )
        (problem,) = load_problems(tmp_path, one_rule(body))
        assert (problem.item, problem.field, problem.line) == (
            "alerts[0] (r)",
            "annotations.summary",
            6,
        )
        assert message in problem.message

    def test_every_variable_renders(self, tmp_path: Path) -> None:
        """rule, check, region(s), value, threshold, severity, labels are all defined."""
        template = (
            '\'{{ rule }} {{ check }} {{ region }} {{ regions | join(",") }} {{ value }} '
            "{{ value_text }} {{ threshold }} {{ threshold_text }} {{ condition }} "
            "{{ severity }} {{ labels.team }} {{ labels.check }}'"
        )
        body = (
            "condition: smoke_test.success < 0.9\nlabels: {team: web}\n"
            f"annotations:\n  summary: {template}\n"
        )
        assert load_problems(tmp_path, one_rule(body)) == []


class TestMaintenanceAndSilences:
    def test_names_that_exist_nowhere(self, tmp_path: Path) -> None:
        """Maintenance windows name existing checks and rules; silences match alert labels."""
        rules = """\
            alerts:
              - name: r
                condition: smoke_test.success < 0.9
                labels: {team: web}
            maintenance:
              - name: deploys
                cron: "0 2 * * *"
                duration: 30m
                checks: [shop]
                rules: [r, 'q*']
            silences:
              - matchers: {check: homepage, team: web, owner: me, alertname: r}
                starts_at: 2026-01-01T00:00:00Z
                ends_at: 2026-01-02T00:00:00Z
                author: ops
        """
        found = {(p.item, p.field, p.message) for p in load_problems(tmp_path, rules)}
        assert found == {
            ("maintenance[0] (deploys)", "checks[0]",
             "no check matches 'shop' (checks: homepage, api-health, api-login)"),
            ("maintenance[0] (deploys)", "rules[1]", "no alert rule matches 'q*'"),
            ("silences[0]", "matchers.owner",
             "'owner' is no alert label: use rule (or alertname), check, region, severity or a "
             "label a rule sets"),
        }  # fmt: skip

"""Specifications of ``control``, ``depends_on`` and ``alerting.region_health`` in the config:
every bad dependency is a located error naming the file, line, check and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError, ConfigProblem

CHECKS = """\
checks:
  - name: db
    kind: http
    url: https://example.com/db
  - name: api
    kind: http
    url: https://example.com/api
    depends_on: [{api_deps}]
  - name: web
    kind: http
    url: https://example.com/
    depends_on: [{web_deps}]
"""


def write(tmp_path: Path, text: str, name: str = "smokewatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    return info.value.problems


class TestDependsOn:
    def test_dependencies_and_controls_load(self, tmp_path: Path) -> None:
        """Known parents without a cycle load; ``control`` defaults to false."""
        text = CHECKS.format(api_deps="db", web_deps="api, db")
        text += "  - name: canary\n    kind: http\n    url: https://example.com/\n"
        text += "    control: true\n"
        config = load_config(write(tmp_path, text), env={}).config
        assert config.check("web").depends_on == ("api", "db")
        assert config.check("canary").control is True
        assert config.check("db").control is False

    @pytest.mark.parametrize(
        ("api_deps", "web_deps", "item", "field", "line", "message"),
        [
            pytest.param(
                "nope", "api", "checks[1] (api)", "depends_on[0]", 8, "unknown check 'nope'",
                id="unknown-name",
            ),
            pytest.param(
                "db, api", "api", "checks[1] (api)", "depends_on[1]", 8,
                "check 'api' cannot depend on itself", id="self",
            ),
            pytest.param(
                "web", "api", "checks[2] (web)", "depends_on[0]", 12,
                "dependency cycle: api -> web -> api", id="cycle",
            ),
        ],
    )  # fmt: skip
    def test_a_bad_dependency_is_located(
        self,
        tmp_path: Path,
        api_deps: str,
        web_deps: str,
        item: str,
        field: str,
        line: int,
        message: str,
    ) -> None:
        """Unknown names, self-dependency and cycles name the file, line, check and field."""
        [problem] = problems(tmp_path, CHECKS.format(api_deps=api_deps, web_deps=web_deps))
        assert (problem.item, problem.field, problem.line) == (item, field, line)
        assert problem.message.startswith(message)
        assert problem.file.endswith("smokewatch.yaml")

    def test_a_longer_cycle_is_reported_once_with_its_loop(self, tmp_path: Path) -> None:
        """db -> web -> api -> db is one problem spelling out the loop."""
        text = CHECKS.format(api_deps="db", web_deps="api").replace(
            "url: https://example.com/db", "url: https://example.com/db\n    depends_on: [web]"
        )
        [problem] = problems(tmp_path, text)
        assert "dependency cycle:" in problem.message
        assert {"db", "api", "web"} <= set(problem.message.replace("->", " ").split())


class TestRegionHealthSettings:
    def test_defaults(self, tmp_path: Path) -> None:
        """Critical, 2 of the last 3 control runs, at least 2 runs, resolved by 1 pass."""
        text = CHECKS.format(api_deps="db", web_deps="db")
        health = load_config(write(tmp_path, text), env={}).config.alerting.region_health
        assert health.notify is None
        assert health.severity == "critical"
        assert (health.confirm.failures, health.confirm.of) == (2, 3)
        assert (health.min_samples, health.resolve_after) == (2, 1)

    def test_a_target_without_its_channel_is_located(self, tmp_path: Path) -> None:
        """A notify target needs its channel configured, like a rule's."""
        text = CHECKS.format(api_deps="db", web_deps="db")
        text += "alerting:\n  region_health:\n    notify: ['slack:#infra']\n"
        [problem] = problems(tmp_path, text)
        assert problem.line == 15
        assert problem.field == "alerting.region_health.notify[0]"

    def test_the_rule_name_region_unhealthy_is_reserved(self, tmp_path: Path) -> None:
        """A user rule named ``region_unhealthy`` is refused at its line."""
        write(
            tmp_path,
            "alerts:\n  - name: region_unhealthy\n    condition: smoke_test.success < 0.9\n",
            "alert-rules.yaml",
        )
        [problem] = problems(tmp_path, CHECKS.format(api_deps="db", web_deps="db"))
        assert (problem.item, problem.field, problem.line) == (
            "alerts[0] (region_unhealthy)",
            "name",
            2,
        )
        assert "reserved" in problem.message
        assert problem.file.endswith("alert-rules.yaml")

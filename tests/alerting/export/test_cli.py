"""`smokewatch rules export`: the command reads the config's rules and prints them."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from monitor.cli.commands import app
from tests.alerting.export.conftest import HERE, SHIPPED

CONFIG = """\
# The shipped rules notify an address and slack:#alerts: both channels are configured.
alerting:
  channels:
    email: {host: smtp.example.com, from_address: smokewatch@example.com}
    slack: {bot_token: xoxb-test}
checks:
  - name: homepage
    kind: http
    url: https://example.com/
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config beside the shipped alert-rules.yaml."""
    shutil.copy(SHIPPED, tmp_path / "alert-rules.yaml")
    path = tmp_path / "smokewatch.yaml"
    path.write_text(CONFIG)
    return path


class TestRulesExport:
    @pytest.mark.parametrize(
        ("args", "top"),
        [([], "groups"), (["--format", "prometheus"], "groups"),
         (["--format", "prometheus-rule"], "spec")],
        ids=["default", "prometheus", "prometheus-rule"],
    )  # fmt: skip
    def test_prints_the_rules(self, config: Path, args: list[str], top: str) -> None:
        """Prints the shipped rules as a rule file (the default) or as a manifest."""
        result = CliRunner().invoke(app, ["rules", "export", "--config", str(config), *args])
        assert result.exit_code == 0, result.output
        document = YAML(typ="safe").load(result.stdout)
        groups = document[top]["groups"] if top == "spec" else document["groups"]
        assert [r["alert"] for r in groups[0]["rules"]] == [
            "smoke_test_failure",
            "performance_degradation",
        ]

    def test_manifest_name_and_namespace(self, config: Path) -> None:
        """--name and --namespace set the PrometheusRule's metadata."""
        args = ["--format", "prometheus-rule", "--name", "sw", "--namespace", "monitoring"]
        result = CliRunner().invoke(app, ["rules", "export", "-c", str(config), *args])
        assert result.exit_code == 0, result.output
        metadata = YAML(typ="safe").load(result.stdout)["metadata"]
        assert (metadata["name"], metadata["namespace"]) == ("sw", "monitoring")

    def test_the_rich_example(self) -> None:
        """The rich example's 14 rules (one with a no-data companion) all export."""
        result = CliRunner().invoke(
            app, ["rules", "export", "--config", str(HERE / "smokewatch.yaml")]
        )
        assert result.exit_code == 0, result.output
        (group,) = YAML(typ="safe").load(result.stdout)["groups"]
        assert len(group["rules"]) == 15

    def test_a_rule_without_an_equivalent_exits_2(self, config: Path) -> None:
        """A rule Prometheus cannot express is named on stderr, with exit code 2."""
        (config.parent / "alert-rules.yaml").write_text(
            textwrap.dedent("""\
                alerts:
                  - name: slowest_run
                    condition: max(smoke_test.duration) > 10s
            """)
        )
        result = CliRunner().invoke(app, ["rules", "export", "--config", str(config)])
        assert result.exit_code == 2
        assert "cannot export: rule 'slowest_run': field 'condition'" in result.stderr
        assert result.stdout == ""

    def test_an_invalid_config_exits_2(self, config: Path) -> None:
        """An invalid rules file is reported like `validate` does, with exit code 2."""
        (config.parent / "alert-rules.yaml").write_text(
            "alerts:\n  - name: x\n    condition: smoke_test.nope < 1\n"
        )
        result = CliRunner().invoke(app, ["rules", "export", "--config", str(config)])
        assert result.exit_code == 2
        assert "alerts[0] (x): field 'condition': unknown metric 'smoke_test.nope'" in result.stderr

    def test_an_unknown_format_is_refused(self, config: Path) -> None:
        """Only the two formats exist."""
        result = CliRunner().invoke(
            app, ["rules", "export", "--config", str(config), "--format", "datadog"]
        )
        assert result.exit_code == 2
        assert "prometheus-rule" in result.stderr

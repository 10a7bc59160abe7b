"""Specifications of config loading: defaults, interpolation, secrets, and located errors."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError

MINIMAL = """
checks:
  - name: health
    kind: http
    url: https://example.com/health
"""


def write(tmp_path: Path, text: str, name: str = "smokewatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


class TestDefaults:
    def test_a_check_gets_the_spec_defaults(self, tmp_path: Path) -> None:
        """Interval 30 min, timeout 30 s, 2 retries with exponential backoff, unless set."""
        loaded = load_config(write(tmp_path, MINIMAL), env={})
        settings = loaded.config.settings_for(loaded.config.checks[0])
        assert settings.interval == timedelta(minutes=30)
        assert settings.timeout == timedelta(seconds=30)
        assert settings.retries == 2
        assert settings.backoff.factor == 2.0

    def test_a_check_overrides_the_defaults(self, tmp_path: Path) -> None:
        """Per-check interval, timeout and retries win over the defaults block."""
        text = MINIMAL + "    interval: 5m\n    timeout: 10s\n    retries: 0\n"
        loaded = load_config(write(tmp_path, text), env={})
        settings = loaded.config.settings_for(loaded.config.checks[0])
        assert (settings.interval, settings.timeout, settings.retries) == (
            timedelta(minutes=5),
            timedelta(seconds=10),
            0,
        )

    def test_the_spec_alert_rules_load_as_they_are(self, tmp_path: Path) -> None:
        """The shipped alert-rules.yaml (the spec's own) loads next to a config."""
        shipped = Path(__file__).resolve().parents[2] / "alert-rules.yaml"
        write(tmp_path, shipped.read_text(), "alert-rules.yaml")
        # Its targets (an address, slack:#alerts) need those channels configured.
        channels = (
            "alerting:\n  channels:\n"
            "    email: {host: smtp.example.com, from_address: smokewatch@example.com}\n"
            "    slack: {bot_token: xoxb-test}\n"
        )
        loaded = load_config(write(tmp_path, MINIMAL + channels), env={})
        rule = loaded.rules.alerts[0]
        assert (rule.condition.metric, rule.condition.operator, rule.condition.threshold) == (
            "smoke_test.success",
            "<",
            0.9,
        )
        assert rule.window == timedelta(minutes=5)
        assert loaded.rules.alerts[1].condition.threshold == pytest.approx(0.5)  # 500 ms

    def test_database_url_from_the_environment_wins(self, tmp_path: Path) -> None:
        """SMOKEWATCH_DATABASE_URL replaces storage.url so regions can share PostgreSQL."""
        env = {"SMOKEWATCH_DATABASE_URL": "postgresql://db/smoke"}
        loaded = load_config(write(tmp_path, MINIMAL), env=env)
        assert loaded.config.storage.url == "postgresql://db/smoke"


class TestInterpolation:
    @pytest.mark.parametrize(
        ("value", "env", "expected"),
        [
            ("${HOST}/health", {"HOST": "https://a.example"}, "https://a.example/health"),
            ("${HOST:-https://b.example}/x", {}, "https://b.example/x"),
            ("${HOST:-https://b.example}/x", {"HOST": ""}, "https://b.example/x"),
            ("https://c.example/$$HOME", {}, "https://c.example/$HOME"),
        ],
        ids=["plain", "default-unset", "default-empty", "dollar-escape"],
    )
    def test_values_are_substituted(
        self, tmp_path: Path, value: str, env: dict[str, str], expected: str
    ) -> None:
        """${VAR}, ${VAR:-default} and $$ work inside any string."""
        text = f"checks:\n  - name: a\n    kind: http\n    url: '{value}'\n"
        loaded = load_config(write(tmp_path, text), env=env)
        assert str(loaded.config.checks[0].url) == expected  # type: ignore[attr-defined]

    def test_secret_values_are_collected(self, tmp_path: Path) -> None:
        """Credential-like variables and secret files are remembered for redaction."""
        (tmp_path / "token").write_text("file-secret-value\n")
        text = """
        checks:
          - name: a
            kind: http
            url: https://example.com/?q=${QUERY}
            headers:
              Authorization: Bearer ${API_TOKEN}
              X-Key: ${file:token}
        """
        loaded = load_config(
            write(tmp_path, text), env={"API_TOKEN": "tok-12345", "QUERY": "plain"}
        )
        assert loaded.secrets == {"tok-12345", "file-secret-value"}
        header = loaded.config.checks[0].headers["X-Key"]  # type: ignore[attr-defined]
        assert header.get_secret_value() == "file-secret-value"
        assert "file-secret-value" not in repr(loaded.config)

    def test_env_values_cannot_inject_yaml(self, tmp_path: Path) -> None:
        """A value with YAML syntax stays a plain string."""
        text = MINIMAL + "    description: '${P}'\n"
        loaded = load_config(write(tmp_path, text), env={"P": "a\n  kind: evil"})
        assert loaded.config.checks[0].description == "a\n  kind: evil"


class TestErrors:
    def test_an_unset_variable_names_file_line_item_and_field(self, tmp_path: Path) -> None:
        """An unset ${VAR} is reported where it is used, not as a bare KeyError."""
        text = """\
        checks:
          - name: one
            kind: http
            url: https://example.com
          - name: two
            kind: http
            url: ${MISSING}
        """
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        assert [str(p) for p in info.value.problems] == [
            f"{path}:7: checks[1] (two): field 'url': environment variable MISSING is not set"
        ]

    def test_validation_problems_are_all_collected(self, tmp_path: Path) -> None:
        """Without interpolation errors, every validation problem is listed at once."""
        text = """\
        checks:
          - name: one
            kind: http
            url: https://example.com
            timeout: soon
          - name: two
            kind: http
            url: https://example.com
            retries: -1
        """
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        found = {(p.item, p.field, p.line) for p in info.value.problems}
        assert found == {("checks[0] (one)", "timeout", 5), ("checks[1] (two)", "retries", 9)}

"""Specifications of the finishing touches: `--version`, shell completion, and `init`, whose
starter config must validate as written (the installed script, in a subprocess)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from monitor.version import smokewatch_version
from tests.cli.conftest import Completed
from tests.support.processes import SMOKEWATCH

Run = Callable[..., Completed]


class TestVersion:
    def test_version_prints_the_installed_version(self, smokewatch: Run) -> None:
        """`smokewatch --version` prints one line, the package version, and exits 0."""
        done = smokewatch("--version")
        assert (done.code, done.stdout) == (0, f"smokewatch {smokewatch_version()}\n")


class TestCompletion:
    def test_bash_completion_script(self, cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
        """`--show-completion bash` prints a script that registers the completer."""
        # Typer otherwise ignores the shell named and asks shellingham for the parent shell,
        # which a pytest started outside a shell (a CI runner, a detached job) does not have.
        monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
        done = cli("--show-completion", "bash")
        assert done.code == 0
        assert "complete -o default -F _smokewatch_completion smokewatch" in done.stdout

    @pytest.mark.parametrize(
        ("words", "cword", "expected"),
        [("smokewatch ru", "1", ["run", "rules"]), ("smokewatch run --ta", "2", ["--tag"])],
        ids=["command", "option"],
    )
    def test_the_completer_completes(self, words: str, cword: str, expected: list[str]) -> None:
        """What bash asks through the environment, the script answers: commands and options."""
        env = {**os.environ, "_SMOKEWATCH_COMPLETE": "complete_bash"}
        env |= {"COMP_WORDS": words, "COMP_CWORD": cword}
        done = subprocess.run(
            [SMOKEWATCH], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert (done.returncode, done.stdout.split()) == (0, expected)


class TestInit:
    def test_init_then_validate(self, smokewatch: Run, tmp_path: Path) -> None:
        """The starter config validates as written: exit 0, with the two secrets it leaves
        as placeholders named as unset (warnings), each with file and line."""
        config = tmp_path / "smokewatch.yaml"
        done = smokewatch("init", "https://shop.example.com/", "--config", str(config))
        assert done.code == 0, done.stderr
        assert f"wrote {config}" in done.stdout
        checked = smokewatch("validate", "--config", str(config))
        assert checked.code == 0, checked.stderr
        assert f"ok: {config} (2 checks, 1 alert rule)" in checked.stdout
        assert f"{config}:17: field 'alerting.channels.slack.webhook_url'" in checked.stderr
        assert "environment variable SMTP_PASSWORD is not set" in checked.stderr

    def test_the_starter_has_what_the_readme_promises(self, cli: Run, tmp_path: Path) -> None:
        """A health check with a JSON assertion on the given URL, a homepage browser check,
        and one rule notifying Slack and e-mail; and it is commented."""
        config = tmp_path / "smokewatch.yaml"
        assert cli("init", "https://shop.example.com", "--config", str(config)).code == 0
        data = YAML(typ="safe").load(config.read_text())
        health, home = data["checks"]
        assert (health["kind"], health["url"]) == ("http", "https://shop.example.com/health")
        assert health["expect"]["json"] == [{"path": "$.status", "equals": "healthy"}]
        assert (home["kind"], home["url"]) == ("browser", "https://shop.example.com/")
        (rule,) = YAML(typ="safe").load((tmp_path / "alert-rules.yaml").read_text())["alerts"]
        assert rule["notify"] == ["slack:#alerts", "oncall@example.com"]
        assert config.read_text().count("#") >= 10

    def test_with_the_secrets_set_strict_validation_passes(
        self, smokewatch: Run, tmp_path: Path
    ) -> None:
        """Once its two secrets are set, the starter passes `validate --strict` too."""
        config = tmp_path / "smokewatch.yaml"
        assert smokewatch("init", "--config", str(config)).code == 0
        env = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x", "SMTP_PASSWORD": "pw"}
        done = smokewatch("validate", "--strict", "--config", str(config), env=env)
        assert (done.code, done.stderr) == (0, "")

    def test_init_never_overwrites_without_force(self, cli: Run, tmp_path: Path) -> None:
        """An existing config is kept (exit 2, named); --force replaces it."""
        config = tmp_path / "smokewatch.yaml"
        config.write_text("mine\n")
        done = cli("init", "--config", str(config))
        assert done.code == 2
        assert f"error: {config} already exists: pass --force" in done.stderr
        assert config.read_text() == "mine\n"
        assert cli("init", "--config", str(config), "--force").code == 0
        assert "checks:" in config.read_text()

    def test_a_url_that_is_not_http_is_refused(self, cli: Run, tmp_path: Path) -> None:
        """`init ftp://x` exits 2 naming the URL and writes nothing."""
        done = cli("init", "ftp://x", "--config", str(tmp_path / "smokewatch.yaml"))
        assert done.code == 2
        assert "'ftp://x' is not an http(s) URL" in done.stderr
        assert list(tmp_path.iterdir()) == []

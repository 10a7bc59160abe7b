"""Specifications of the instance's region at start: with ``regions`` declared, ``run`` and
``serve`` refuse a region outside them (exit 2, naming it and the list) before anything runs;
``local`` (no ``--region``, no ``$SMOKEWATCH_REGION``) is fine only when none are declared."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from examples.demo_target import DemoTargetThread
from monitor.cli.commands import app
from tests.cli.conftest import Completed

HEALTH = "- {name: health, kind: http, url: '${TARGET}/health'}\n"
WriteConfig = Callable[[str], Path]


@pytest.fixture
def invoke(served: DemoTargetThread) -> Callable[..., Completed]:
    """The CLI in-process, ``$SMOKEWATCH_REGION`` unset unless given."""

    def run(*args: str, region_env: str | None = None) -> Completed:
        env = {"TARGET": served.url, "SMOKEWATCH_REGION": region_env}
        result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
        return Completed(result.exit_code, result.stdout, result.stderr)

    return run


def declared(write_config: WriteConfig, regions: str = "[eu-west-1, us-east-1]") -> Path:
    path = write_config(HEALTH)
    path.write_text(f"regions: {regions}\n" + path.read_text())
    return path


def stored_regions(tmp_path: Path) -> list[str]:
    if not (tmp_path / "results.db").exists():
        return []
    with sqlite3.connect(tmp_path / "results.db") as db:
        return [row[0] for row in db.execute("SELECT region FROM results")]


class TestUndeclaredRegionAtStart:
    @pytest.mark.parametrize("command", ["run", "serve"])
    def test_no_region_with_regions_declared_exits_2(
        self,
        invoke: Callable[..., Completed],
        write_config: WriteConfig,
        tmp_path: Path,
        command: str,
    ) -> None:
        """Without --region the instance would run as 'local': exit 2 naming it and the list."""
        config = declared(write_config)
        args = ["run", "--once"] if command == "run" else ["serve", "--port", "1"]
        done = invoke(*args, "--config", str(config))
        assert done.code == 2
        assert "region 'local' is not declared" in done.stderr
        assert "regions: eu-west-1, us-east-1" in done.stderr
        assert stored_regions(tmp_path) == []

    def test_an_undeclared_region_from_the_environment_exits_2(
        self, invoke: Callable[..., Completed], write_config: WriteConfig
    ) -> None:
        """$SMOKEWATCH_REGION outside the declared regions is refused the same way."""
        config = declared(write_config)
        done = invoke("run", "--once", "--config", str(config), region_env="ap-south-1")
        assert done.code == 2
        assert "region 'ap-south-1' is not declared" in done.stderr

    def test_the_flag_wins_over_the_environment(
        self, invoke: Callable[..., Completed], write_config: WriteConfig, tmp_path: Path
    ) -> None:
        """--region names the instance's region even when $SMOKEWATCH_REGION says otherwise."""
        config = declared(write_config)
        done = invoke(
            "run", "--once", "--config", str(config), "--region", "us-east-1", region_env="nope"
        )
        assert done.code == 0, done.stderr
        assert stored_regions(tmp_path) == ["us-east-1"]

    def test_local_is_fine_when_no_regions_are_declared(
        self, invoke: Callable[..., Completed], write_config: WriteConfig, tmp_path: Path
    ) -> None:
        """No regions declared: any region runs, 'local' by default."""
        done = invoke("run", "--once", "--config", str(write_config(HEALTH)))
        assert done.code == 0, done.stderr
        assert stored_regions(tmp_path) == ["local"]

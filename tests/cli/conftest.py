"""The CLI as users run it: the installed ``smokewatch`` script in a subprocess, against
the demo target served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from examples.demo_target import DemoTargetThread, TargetState
from tests.support.processes import SMOKEWATCH, with_pycache

# Fast retries so tests stay quick; the shape is the same as production's.
PREAMBLE = """\
defaults:
  retries: 2
  backoff: {initial: 10ms, max: 50ms}
  timeout: 5s
storage:
  url: sqlite:///{db}
alert_rules: null
checks:
"""


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a smokewatch.yaml with the test preamble and the given checks block."""

    def write(checks: str) -> Path:
        path = tmp_path / "smokewatch.yaml"
        body = PREAMBLE.replace("{db}", str(tmp_path / "results.db"))
        path.write_text(body + textwrap.indent(textwrap.dedent(checks), "  "))
        return path

    return write


@pytest.fixture
def smokewatch(served: DemoTargetThread, pycache: Path) -> Callable[..., Completed]:
    """Run the smokewatch command with TARGET pointing at the demo target."""

    def run(*args: str, env: dict[str, str] | None = None) -> Completed:
        full_env = with_pycache(
            {
                **os.environ,
                "TARGET": served.url,
                "TARGET_WS": served.url.replace("http://", "ws://"),
                **(env or {}),
            },
            pycache,
        )
        full_env.pop("SMOKEWATCH_DATABASE_URL", None)
        done = subprocess.run(  # noqa: PLW1510 -- the exit code is what the tests assert
            [SMOKEWATCH, *args], capture_output=True, text=True, env=full_env, timeout=60
        )
        return Completed(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def served_url(served: DemoTargetThread, target: TargetState) -> str:
    return served.url


@pytest.fixture
def cli() -> Callable[..., Completed]:
    """Run the CLI in-process (the same Typer app the script runs): fast, for large tables."""
    from typer.testing import CliRunner  # noqa: PLC0415 -- only these tests need it

    from monitor.cli.commands import app  # noqa: PLC0415

    def run(*args: str, env: dict[str, str] | None = None) -> Completed:
        result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
        return Completed(result.exit_code, result.stdout, result.stderr)

    return run

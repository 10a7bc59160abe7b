"""Specifications of how the CLI starts and speaks: it imports only what a command needs, a
busy port fails before anything runs, and output without a terminal is not wrapped."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from examples.demo_target import TargetState
from tests.cli.conftest import Completed
from tests.support.processes import HOST

Run = Callable[..., Completed]
HEAVY = ("playwright", "sqlalchemy", "alembic", "aiosmtplib", "fastapi", "uvicorn")


def _imported_after(statement: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after ``statement``, in a fresh interpreter."""
    code = f"{statement}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return {name.partition(".")[0] for name in json.loads(done.stdout)}


class TestLazyImports:
    def test_importing_the_cli_loads_no_heavy_package(self) -> None:
        """`import monitor.cli` (what `--help` costs) loads neither Playwright, SQLAlchemy,
        alembic, aiosmtplib nor the API stack."""
        loaded = _imported_after("import monitor.cli")
        assert "typer" in loaded  # the check can see what was imported
        assert sorted(loaded & set(HEAVY)) == []

    def test_loading_a_config_loads_no_browser_and_no_migrations(self) -> None:
        """The config loader (what `validate` costs) needs the probes' models, not Playwright,
        and checks storage.url with the standard library, not SQLAlchemy."""
        loaded = _imported_after("import monitor.config.loader")
        assert "probes" in loaded
        # aiosmtplib still comes with the notifier registry the loader checks targets with.
        assert sorted(loaded & (set(HEAVY) - {"aiosmtplib"})) == []


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen()
        yield sock.getsockname()[1]


class TestBusyPort:
    @pytest.mark.parametrize(
        ("command", "hint"),
        [("serve", "pick another with --port"), ("demo", "(make demo PORT=8081)")],
    )
    def test_a_busy_port_fails_first(
        self,
        smokewatch: Run,
        write_config: Callable[[str], Path],
        target: TargetState,
        taken_port: int,
        command: str,
        hint: str,
    ) -> None:
        """Exit 2 with one line naming the port and suggesting --port, before the config or
        the store is touched and before any check runs."""
        config = write_config("- name: health\n  kind: http\n  url: ${TARGET}/health\n")
        args = ["--config", str(config)] if command == "serve" else []
        started = time.monotonic()
        done = smokewatch(command, "--port", str(taken_port), *args)
        assert done.code == 2
        assert done.stderr == (
            f"error: cannot listen on 127.0.0.1:{taken_port}: the port is already in use; "
            f"pick another with --port{' ' + hint if command == 'demo' else ''}\n"
        )
        assert time.monotonic() - started < 10
        assert target.stats.request_count("/health") == 0
        assert not (config.parent / "results.db").exists()


class TestNoTerminal:
    def test_a_pipe_gets_whole_lines(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """Without a TTY (CI logs), a run's table rows are not wrapped at 80 columns: a long
        failure message stays on its row."""
        config = write_config(
            "- name: a-check-with-a-rather-long-name-to-widen-the-table\n  kind: http\n"
            "  url: ${TARGET}/health\n  retries: 0\n"
            "  expect: {json: [{path: $.status, equals: some-status-this-target-never-reports}]}\n"
        )
        done = smokewatch("run", "--once", "--config", str(config), env={"COLUMNS": ""})
        assert done.code == 1, done.stderr
        rows = [line for line in done.stdout.splitlines() if line.startswith("│ a-check-with")]
        assert len(rows) == 1
        assert "some-status-this-target-never-reports" in rows[0]
        assert len(rows[0]) > 120

"""Specification of ``smokewatch demo``: the README's first command works on its own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.conftest import SMOKEWATCH


class TestDemo:
    def test_demo_starts_the_target_and_watches_it(self, tmp_path: Path) -> None:
        """One demo run starts the bundled target, runs every bundled check, stores them."""
        done = subprocess.run(  # noqa: PLW1510 -- the exit code is asserted
            [SMOKEWATCH, "demo", "--runs", "1"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")},
            timeout=90,
        )
        assert done.returncode == 0, done.stderr
        checks = ("health", "api-status", "api-test", "api-login", "echo-websocket", "homepage")
        for check in (*checks, "ui-login"):
            assert check in done.stdout
        assert " fail" not in done.stdout
        assert "error" not in done.stdout
        assert (tmp_path / "smokewatch-demo.db").stat().st_size > 0

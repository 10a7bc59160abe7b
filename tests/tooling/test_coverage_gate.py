"""The coverage gate of ``make test``: the Makefile's own pytest command, with the project's
``[tool.coverage]`` settings, fails the run when branch coverage falls under ``fail_under``.
Shown on a tiny synthetic package in a real pytest subprocess measured by real coverage."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

PACKAGE = """\
def grade(score: int) -> str:
    if score >= 50:
        return "pass"
    return "fail"


def describe(score: int) -> str:
    words = []
    for threshold, word in ((90, "excellent"), (70, "good"), (50, "fair")):
        if score >= threshold:
            words.append(word)
            break
    else:
        words.append("poor")
    return ", ".join(words)
"""

# Only grade()'s pass branch runs: well under any defensible gate.
HALF_TESTED = """\
from pkg import grade


def test_pass() -> None:
    assert grade(60) == "pass"
"""

# Every line and every branch runs.
FULLY_TESTED = """\
from pkg import describe, grade


def test_grade() -> None:
    assert [grade(60), grade(10)] == ["pass", "fail"]


def test_describe() -> None:
    assert [describe(s) for s in (95, 75, 55, 5)] == ["excellent", "good", "fair", "poor"]
"""

# The same tests as FULLY_TESTED but half of them in a child Python process, as the CLI and
# service tests run `smokewatch`: it passes only if child processes are measured and combined.
HALF_IN_A_CHILD = """\
import subprocess
import sys

from pkg import grade


def test_grade() -> None:
    assert [grade(60), grade(10)] == ["pass", "fail"]


def test_describe_in_a_child() -> None:
    code = "from pkg import describe; print([describe(s) for s in (95, 75, 55, 5)])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['excellent', 'good', 'fair', 'poor']"
"""


def coverage_settings() -> dict[str, Any]:
    """The project's ``[tool.coverage]`` tables."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = pyproject["tool"]["coverage"]
    return settings


def make_test_pytest_args() -> list[str]:
    """The arguments ``make test`` passes to pytest (from the Makefile's ``run pytest`` line)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^\t\$\(UV\) run pytest\b(.*)$", makefile, re.MULTILINE)
    assert match is not None, "make test runs no `$(UV) run pytest` line"
    return shlex.split(match.group(1))


def synthetic_project(root: Path, tests: str) -> None:
    """A package ``pkg`` and its tests under ``root``, with the project's coverage gate."""
    settings = coverage_settings()
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text(PACKAGE)
    (root / "test_pkg.py").write_text(tests)
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'addopts = ["-p", "no:cacheprovider"]\n'
        "[tool.coverage.run]\n"
        f"branch = {str(settings['run']['branch']).lower()}\n"
        f"parallel = {str(settings['run']['parallel']).lower()}\n"
        f"patch = {settings['run']['patch']!r}\n"
        'source = ["pkg"]\n'
        "[tool.coverage.report]\n"
        f"fail_under = {settings['report']['fail_under']}\n"
    )


class TestCoverageGate:
    def test_the_gate_is_configured(self) -> None:
        """make test measures coverage of the tests and their child processes, branch coverage
        is on, and fail_under is a real bar."""
        settings = coverage_settings()
        assert "--cov" in make_test_pytest_args()
        assert settings["run"]["branch"] is True
        assert settings["run"]["parallel"] is True
        assert "subprocess" in settings["run"]["patch"]
        assert 40 <= settings["report"]["fail_under"] <= 100

    @pytest.mark.parametrize(
        ("tests", "passes"),
        [
            pytest.param(HALF_TESTED, False, id="under-the-bar-fails"),
            pytest.param(FULLY_TESTED, True, id="covered-passes"),
            pytest.param(HALF_IN_A_CHILD, True, id="covered-in-a-child-process-passes"),
        ],
    )
    def test_make_tests_command_enforces_fail_under(
        self, tmp_path: Path, tests: str, passes: bool
    ) -> None:
        """A change that leaves code untested fails make test's pytest even with every test
        green; the same package fully tested passes."""
        synthetic_project(tmp_path, tests)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COV", "PYTEST"))}
        # Only pytest-cov among the installed plugins: the gate is its job, and the run starts
        # in a second instead of importing every plugin of the dev group.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        env["PYTHONPATH"] = str(tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "pytest_cov", *make_test_pytest_args()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        fail_under = coverage_settings()["report"]["fail_under"]
        assert (done.returncode == 0) is passes, done.stdout + done.stderr
        verdict = "reached" if passes else "not reached"
        gate = re.search(rf"Required test coverage of ([\d.]+)% {verdict}\.", done.stdout)
        assert gate is not None, done.stdout
        assert float(gate.group(1)) == fail_under
        assert re.search(r"\d+ passed", done.stdout)

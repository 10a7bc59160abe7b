"""mypy's settings in ``pyproject.toml``: strict over the shipped code, the tests and the
benchmarks alike (``make test`` runs plain ``mypy``, so these settings are the gate)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHECKED = {"monitor", "probes", "examples", "tests", "bench"}
# Per-module options that would quietly take a module out of strict mode.
LOOSENING = {
    "disallow_untyped_defs",
    "disallow_incomplete_defs",
    "check_untyped_defs",
    "ignore_errors",
    "disallow_any_generics",
    "warn_return_any",
}


def mypy_settings() -> dict[str, Any]:
    """The ``[tool.mypy]`` table."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = pyproject["tool"]["mypy"]
    return settings


class TestMypySettings:
    def test_strict_covers_code_tests_and_benchmarks(self) -> None:
        """strict is on and every top-level package, tests/ and bench/ included, is checked."""
        settings = mypy_settings()
        assert settings["strict"] is True
        assert set(settings["packages"]) == CHECKED
        assert all((ROOT / name / "__init__.py").is_file() for name in CHECKED)

    def test_no_override_loosens_strict_mode(self) -> None:
        """Overrides only tell mypy about untyped third-party modules; none relaxes our code."""
        for override in mypy_settings().get("overrides", []):
            assert not LOOSENING & set(override), override
            modules = override["module"]
            names = [modules] if isinstance(modules, str) else modules
            assert not any(name.partition(".")[0] in CHECKED for name in names), override

"""Every third-party package that smokewatch's code, tests and benchmarks import is declared in
``pyproject.toml``: the shipped code needs only what ``make demo`` installs (the dependencies
and the extras), tests and benchmarks at most what ``make test`` adds (the dev group)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = frozenset({"monitor", "probes", "examples", "tests", "bench"})
SHIPPED = ("monitor", "probes", "examples")
DEVELOPMENT = ("tests", "bench")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """The distribution a requirement string names (``"sqlalchemy[asyncio]>=2"``: sqlalchemy)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    assert match is not None, f"not a requirement: {spec!r}"
    return normalise(match.group())


def declared(pyproject: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """What the runtime may import (dependencies and extras), and what tests may (plus dev)."""
    project = pyproject["project"]
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    runtime = {requirement_name(spec) for spec in project["dependencies"]}
    runtime |= {requirement_name(spec) for specs in extras.values() for spec in specs}
    groups: dict[str, list[Any]] = pyproject.get("dependency-groups", {})
    dev = {requirement_name(spec) for spec in groups.get("dev", []) if isinstance(spec, str)}
    return frozenset(runtime), frozenset(runtime | dev)


def typing_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:``: imports for the type checker, never run."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }


def imported(root: Path, folders: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Top-level third-party modules imported under ``folders``, each with its first file:line:
    those imported at run time, and those imported only under ``if TYPE_CHECKING:``."""
    run_time: dict[str, str] = {}
    checker: dict[str, str] = {}
    for folder in folders:
        for file in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
            checker_only = typing_only(tree)
            for node in ast.walk(tree):
                found = checker if node in checker_only else run_time
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        found.setdefault(top, f"{file.relative_to(root)}:{node.lineno}")
    return run_time, checker


def undeclared(
    imports: Mapping[str, str], allowed: frozenset[str], owners: Mapping[str, Sequence[str]]
) -> list[str]:
    """One line per import whose distribution is not among ``allowed``, naming file and line."""
    problems = []
    for module, where in sorted(imports.items()):
        dists = sorted({normalise(dist) for dist in owners.get(module, [])})
        if not set(dists) & allowed:
            source = ", ".join(dists) or "no installed distribution"
            problems.append(f"{where}: imports {module} ({source}), not declared in pyproject.toml")
    return problems


@pytest.fixture(scope="module")
def allowed() -> tuple[frozenset[str], frozenset[str]]:
    """The runtime and the development sets of declared distributions, from pyproject.toml."""
    return declared(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8")))


class TestDeclaredDependencies:
    def test_shipped_code_imports_only_runtime_packages(
        self, allowed: tuple[frozenset[str], frozenset[str]]
    ) -> None:
        """monitor/, probes/ and examples/ import only dependencies and extras at run time, and
        declared dev packages (stubs) under ``if TYPE_CHECKING:``."""
        runtime, development = allowed
        owners = packages_distributions()
        run_time, checker = imported(ROOT, SHIPPED)
        assert undeclared(run_time, runtime, owners) == []
        assert undeclared(checker, development, owners) == []

    def test_tests_and_benchmarks_import_only_declared_packages(
        self, allowed: tuple[frozenset[str], frozenset[str]]
    ) -> None:
        """tests/ and bench/ import only packages declared as dependencies, extras or dev."""
        _, development = allowed
        run_time, checker = imported(ROOT, DEVELOPMENT)
        imports = {**checker, **run_time}
        assert undeclared(imports, development, packages_distributions()) == []

    @pytest.mark.parametrize(
        ("source", "problem"),
        [
            pytest.param(
                "import os\nimport yaml\n",
                "pkg/mod.py:2: imports yaml (pyyaml), not declared in pyproject.toml",
                id="installed-but-undeclared",
            ),
            pytest.param(
                "from surely_not_installed.sub import x\n",
                "pkg/mod.py:1: imports surely_not_installed (no installed distribution),"
                " not declared in pyproject.toml",
                id="not-installed",
            ),
            pytest.param("import httpx\nfrom monitor import cli\n", None, id="declared"),
            pytest.param(
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import yaml\n",
                None,
                id="typing-only-is-not-run-time",
            ),
        ],
    )
    def test_the_check_names_an_undeclared_import(
        self, tmp_path: Path, source: str, problem: str | None
    ) -> None:
        """A deliberately undeclared import in a synthetic tree is reported with file and line."""
        (tmp_path / "pkg").mkdir()
        (tmp_path / "pkg" / "mod.py").write_text(source)
        runtime = frozenset({"httpx"})
        found, _ = imported(tmp_path, ["pkg"])
        problems = undeclared(found, runtime, packages_distributions())
        assert problems == ([problem] if problem else [])

"""Specifications of `smokewatch schema`: editors and CI lint with it, so it must accept every
config the project ships or writes, and explain every property it has."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from tests.cli.conftest import Completed
from tests.support.processes import SMOKEWATCH

REPO = Path(__file__).resolve().parents[2]
# Every config file in the repository: a top-level `checks:` is a smokewatch.yaml, a
# top-level `alerts:` an alert-rules.yaml.  Found by content, so a new example is covered.
SEARCHED = ("*.yaml", "examples/**/*.yaml", "tests/**/*.yaml")


def _configs() -> Iterator[tuple[Path, bool]]:
    seen: set[Path] = set()
    for pattern in SEARCHED:
        for path in sorted(REPO.glob(pattern)):
            if path in seen or ".venv" in path.parts:
                continue
            seen.add(path)
            text = path.read_text(encoding="utf-8")
            if "\nchecks:" in f"\n{text}":
                yield path, False
            elif "\nalerts:" in f"\n{text}":
                yield path, True


CONFIGS = list(_configs())


def _schema(cli: Any, *, rules: bool) -> dict[str, Any]:
    done: Completed = cli("schema", *(["--rules"] if rules else []))
    assert done.code == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _errors(schema: dict[str, Any], path: Path) -> list[str]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(data)
    ]


def _undescribed(node: Any, where: str = "") -> Iterator[str]:
    """Every property (in any object schema, any depth) that has no description."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if not (isinstance(prop, dict) and prop.get("description")):
                yield f"{where}.{name}"
        for key, value in node.items():
            yield from _undescribed(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _undescribed(value, f"{where}[{i}]")


class TestShippedConfigsPassTheSchema:
    def test_the_search_finds_the_examples(self) -> None:
        """The demo config and both rule files are among the configs checked below."""
        found = {path.relative_to(REPO).as_posix() for path, _ in CONFIGS}
        assert {"examples/smokewatch.yaml", "examples/alert-rules.yaml", "alert-rules.yaml"} <= (
            found
        )

    @pytest.mark.parametrize(
        ("path", "rules"), CONFIGS, ids=[p.relative_to(REPO).as_posix() for p, _ in CONFIGS]
    )
    def test_every_config_in_the_repo_passes(self, cli: Any, path: Path, rules: bool) -> None:
        """Each config the repository holds is valid against the schema `schema` prints
        (the demo config's `allow_write: ["POST /login"]` included)."""
        assert _errors(_schema(cli, rules=rules), path) == []

    def test_the_starter_config_passes(self, cli: Any, tmp_path: Path) -> None:
        """What `smokewatch init` writes passes the schema too."""
        config = tmp_path / "smokewatch.yaml"
        assert cli("init", "https://app.example.com", "--config", str(config)).code == 0
        assert _errors(_schema(cli, rules=False), config) == []
        assert _errors(_schema(cli, rules=True), tmp_path / "alert-rules.yaml") == []

    @pytest.mark.parametrize(
        ("allowance", "valid"),
        [("POST /login", True), ("{method: DELETE, url: /x}", True), ("login please", False)],
        ids=["string", "mapping", "malformed"],
    )
    def test_allow_write_takes_both_spellings_and_nothing_else(
        self, cli: Any, tmp_path: Path, allowance: str, valid: bool
    ) -> None:
        """'METHOD URL' and {method, url} pass, as the model takes them; anything else fails."""
        value = allowance if allowance.startswith("{") else f"'{allowance}'"
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            "checks:\n  - name: b\n    kind: browser\n    url: https://e.com/\n"
            f"    steps:\n      - click: '#go'\n        allow_write: [{value}]\n"
        )
        assert (_errors(_schema(cli, rules=False), config) == []) is valid


class TestDescriptions:
    @pytest.mark.parametrize("rules", [False, True], ids=["smokewatch.yaml", "alert-rules.yaml"])
    def test_every_property_has_a_description(self, cli: Any, rules: bool) -> None:
        """An editor shows a description for every setting, at every depth."""
        assert list(_undescribed(_schema(cli, rules=rules))) == []

    def test_the_check_finds_a_missing_description(self) -> None:
        """The walk above reports a nested property without one (so the test can fail)."""
        schema = {"$defs": {"A": {"properties": {"x": {"type": "string"}}}}}
        assert list(_undescribed(schema)) == ["/$defs/A.x"]


class TestSchemaCommand:
    def test_schema_needs_no_config_and_no_environment(self, tmp_path: Path) -> None:
        """`schema` reads no config: it runs in an empty directory with no ${VAR} set."""
        # Only where the code is (PYTHONPATH, when testing a source tree), nothing else.
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        bare = {"PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in paths if p)}
        done = subprocess.run(
            [SMOKEWATCH, "schema"],
            cwd=tmp_path,
            env=bare,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["title"] == "smokewatch.yaml"
        assert "HttpCheck" in json.loads(done.stdout)["$defs"]

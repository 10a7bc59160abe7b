"""Fixtures of the Prometheus export specs: promtool (the Debian ``prometheus`` package) and
rules built from YAML text as a user writes them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from monitor.config.rules import AlertRule, AlertRules

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHIPPED = ROOT / "alert-rules.yaml"
PROMTOOL = Path("/usr/bin/promtool")

Promtool = Callable[..., subprocess.CompletedProcess[str]]


def read_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def rules_from(*paths: Path) -> AlertRules:
    """The alerts of several rule files, as one ``AlertRules``."""
    return AlertRules.model_validate(
        {"alerts": [alert for path in paths for alert in read_yaml(path)["alerts"]]}
    )


def rule(condition: str, **fields: Any) -> AlertRule:
    """A rule named ``r`` with ``condition`` and any other fields (``for`` as ``pending``)."""
    if "pending" in fields:
        fields["for"] = fields.pop("pending")
    return AlertRule.model_validate({"name": "r", "condition": condition, **fields})


@pytest.fixture
def promtool() -> Promtool:
    """Run ``promtool ARGS`` in a directory; returns the completed process."""
    assert PROMTOOL.exists(), "promtool is missing: scripts/install-system-deps.sh installs it"

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip

    return run

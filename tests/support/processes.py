"""Helpers for tests that start real processes: free loopback ports, the ``smokewatch``
script, and a bytecode cache so each subprocess does not compile the stack again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HOST = "127.0.0.1"
SMOKEWATCH = str(Path(sys.executable).with_name("smokewatch"))
WARM_UP_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may take it before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def python_child(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -c CODE ARGS`` in a fresh interpreter (60 s at most), its output captured;
    ``env`` replaces the environment when given."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def with_pycache(env: dict[str, str], cache: Path) -> dict[str, str]:
    """``env`` made to read and write bytecode in ``cache``."""
    env = {**env, "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@pytest.fixture(scope="session")
def pycache() -> Path:
    """A bytecode cache for ``smokewatch`` subprocesses, outside the tree and kept between
    sessions (the environment may set PYTHONDONTWRITEBYTECODE, so every interpreter would
    otherwise compile the whole API stack again).  Warmed once, here, by one import."""
    cache = Path(tempfile.gettempdir()) / f"smokewatch-test-pycache-{os.getuid()}"
    cache.mkdir(exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import monitor.cli.commands, monitor.api.app, monitor.runtime.serve, uvicorn",
        ],
        env=with_pycache(dict(os.environ), cache),
        check=True,
        timeout=WARM_UP_TIMEOUT_S,
    )
    return cache

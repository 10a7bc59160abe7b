"""Serving the demo target: the asyncio runner, the threaded runner, and ``python -m``."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from examples.demo_target import DemoTarget, DemoTargetThread, TargetState, create_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TestCreateApp:
    def test_state_lives_on_the_app(self) -> None:
        """Each app gets the state it is given, or a fresh one: nothing is shared."""
        given = TargetState(password="s3cret")
        apps = [create_app(given), create_app(), create_app()]
        assert isinstance(apps[0], FastAPI)
        assert apps[0].state.target is given
        assert apps[1].state.target is not apps[2].state.target


class TestDemoTarget:
    async def test_serves_then_stops(self, tls: ssl.SSLContext) -> None:
        """start returns a loopback URL on a free port; after stop the port refuses connections."""
        target = DemoTarget()
        url = await target.start()
        async with httpx.AsyncClient(trust_env=False, verify=tls) as client:
            health = await client.get(f"{url}/health")
            await target.stop()
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{url}/health")
        assert url.startswith("http://127.0.0.1:")
        assert health.json() == {"status": "healthy"}

    async def test_context_manager_uses_the_given_state(self, tls: ssl.SSLContext) -> None:
        """As an async context manager it serves the state it was given (a custom password)."""
        state = TargetState(password="s3cret")
        async with (
            DemoTarget(state) as target,
            httpx.AsyncClient(trust_env=False, verify=tls) as client,
        ):
            login = await client.post(
                f"{target.url}/api/auth/login",
                json={"email": state.email, "password": "s3cret"},
            )
        assert login.status_code == 200
        assert target.state.sessions.opened == 1

    async def test_misuse_is_reported(self) -> None:
        """No URL before start, no second start, and stop when stopped is a no-op."""
        target = DemoTarget()
        with pytest.raises(RuntimeError, match="not started"):
            _ = target.url
        await target.stop()
        async with target:
            with pytest.raises(RuntimeError, match="already started"):
                await target.start()
        with pytest.raises(RuntimeError, match="not started"):
            _ = target.url

    async def test_busy_port_raises(self, busy_port: int) -> None:
        """A port already in use is an OSError at start, not a hang."""
        with pytest.raises(OSError, match="in use"):
            await DemoTarget().start(port=busy_port)


class TestDemoTargetThread:
    def test_serves_sync_clients_then_stops(self, tls: ssl.SSLContext) -> None:
        """In a thread it serves blocking clients; after stop the port refuses connections."""
        with DemoTargetThread() as target:
            url = target.url
            health = httpx.get(f"{url}/health", trust_env=False, verify=tls)
            target.state.set_faults(status=503)
            faulted = httpx.get(f"{url}/health", trust_env=False, verify=tls)
        assert (health.status_code, faulted.status_code) == (200, 503)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", trust_env=False, verify=tls)

    def test_busy_port_raises(self, busy_port: int) -> None:
        """A port in use fails start in the calling thread, with the cause attached."""
        target = DemoTargetThread(port=busy_port)
        with pytest.raises(RuntimeError, match="failed to start") as info:
            target.start()
        assert isinstance(info.value.__cause__, OSError)
        target.stop()


class TestModuleMain:
    def test_runs_standalone(self, tls: ssl.SSLContext) -> None:
        """``python -m examples.demo_target --port N`` serves the target until terminated."""
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "examples.demo_target", "--port", str(port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            body = None
            deadline = time.monotonic() + 15
            while body is None and time.monotonic() < deadline and proc.poll() is None:
                try:
                    body = httpx.get(
                        f"http://127.0.0.1:{port}/health", trust_env=False, verify=tls
                    ).json()
                except httpx.TransportError:
                    time.sleep(0.05)
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
        assert body == {"status": "healthy"}, stderr.decode()
        assert proc.returncode in (0, -15)

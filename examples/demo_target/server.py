"""Serve the demo target in-process on loopback: in an asyncio task, or in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Generator
from types import TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from examples.demo_target.app import create_app
from examples.demo_target.state import TargetState

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def server_config(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, embedded: bool = True
) -> uvicorn.Config:
    """The uvicorn settings the demo target runs with (h11, sans-I/O websockets).

    ``embedded`` leaves logging configuration to the host process and logs no access lines.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        ws="websockets-sansio",
        lifespan="off",
        log_config=None if embedded else LOGGING_CONFIG,
        log_level="warning" if embedded else "info",
        access_log=not embedded,
        timeout_graceful_shutdown=2,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when proto says TCP,
    # and without it every response waits ~40 ms on Nagle plus delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class DemoTarget:
    """The demo target served by uvicorn in a task on the running event loop.

    ``async with DemoTarget() as target: httpx.get(target.url + "/health")``
    """

    def __init__(self, state: TargetState | None = None) -> None:
        self.state = state if state is not None else TargetState()
        self.app = create_app(self.state)
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("the demo target is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0: a free port) and return the base URL once serving."""
        if self._task is not None:
            raise RuntimeError("the demo target is already started")
        sock = _bind(host, port)
        bound_port = sock.getsockname()[1]
        server = _EmbeddedServer(server_config(self.app))
        task = asyncio.create_task(server.serve(sockets=[sock]), name="demo-target")
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT_S
        while not server.started:
            if task.done() or asyncio.get_running_loop().time() > deadline:
                server.should_exit = True
                sock.close()
                error = None if task.cancelled() or not task.done() else task.exception()
                raise RuntimeError(f"the demo target did not start on {host}:{port}") from error
            await asyncio.sleep(0.005)
        self._server, self._task = server, task
        shown = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        """Stop serving; a no-op if not started.  Open connections get a short grace period."""
        server, task = self._server, self._task
        if server is None or task is None:
            return
        self._server = self._task = self._url = None
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=_STOP_TIMEOUT_S)
        except TimeoutError:
            server.force_exit = True
            await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class DemoTargetThread:
    """The demo target on its own event loop in a daemon thread, for sync code and benchmarks.

    ``with DemoTargetThread() as target: httpx.get(target.url + "/health")``
    """

    def __init__(
        self, state: TargetState | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._target = DemoTarget(state)
        self.state = self._target.state
        self.app = self._target.app
        self._host, self._port = host, port
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self._target.url

    def start(self) -> str:
        """Start serving in a background thread; return the base URL once it answers."""
        if self._thread is not None:
            raise RuntimeError("the demo target is already started")
        self._thread = threading.Thread(target=self._run, name="demo-target", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S + 1):
            raise RuntimeError("the demo target thread did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the demo target thread failed to start") from self._error
        return self.url

    def stop(self) -> None:
        """Stop serving and join the thread; a no-op if not started."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between check and call
                loop.call_soon_threadsafe(stop.set)
        thread.join(_STOP_TIMEOUT_S + 1)
        self._thread = None
        self._ready.clear()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            await self._target.start(self._host, self._port)
        except (OSError, RuntimeError) as exc:  # handed to the starting thread, which raises
            self._error = exc
            return
        finally:
            self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._target.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""Serve the API with uvicorn until SIGTERM/SIGINT; SIGHUP reloads the config.

    code = await serve(service, create_app(service), host="127.0.0.1", port=8080)

The app's lifespan starts and stops the service.  On SIGTERM or SIGINT uvicorn stops
accepting connections and finishes open requests, then the lifespan's
``service.stop()`` lets running checks finish within ``scheduler.shutdown_grace``;
the exit code is 0.  On SIGHUP ``service.reload()`` runs; a bad config is logged and
the old one keeps running.

The port is bound first, before the service starts (no check runs and nothing is
stored by a server that cannot listen): a port taken raises ``MonitorError`` naming
it, which the CLI prints as one line and exits 2.  A service that cannot start
returns 2.  Each request must arrive whole within ``api.request_timeout``
(:mod:`monitor.api.limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Generator
from typing import Any

import structlog
import uvicorn
from starlette.types import ASGIApp

from monitor.api.limits import bounded_http
from monitor.contract import ServiceView
from monitor.errors import ConfigError
from monitor.runtime.listen import bind

EXIT_OK, EXIT_ERROR = 0, 2
MAX_HEADER_BYTES = 16 * 1024  # request line and headers; more is answered 400
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Server(uvicorn.Server):
    """uvicorn's server with the signals left to :func:`serve`.

    uvicorn's own handling re-raises a caught SIGTERM after shutting down, which would
    kill the process with the signal instead of letting it exit 0.
    """

    def __init__(self, config: uvicorn.Config, log: Any) -> None:
        super().__init__(config)
        self._log = log

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for server in self.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                self._log.info("serve.listening", url=f"http://{host}:{port}")


async def serve(
    service: ServiceView, app: ASGIApp, *, host: str, port: int, log: Any | None = None
) -> int:
    """Run the server until a stop signal; return the process exit code."""
    log = log if log is not None else structlog.get_logger().bind(component="serve")
    settings = service.loaded.config.scheduler
    api = service.loaded.config.api
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace.total_seconds())),
        http=bounded_http(api.request_timeout.total_seconds(), MAX_HEADER_BYTES),
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = _Server(config, log)
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    def on_stop(sig: signal.Signals) -> None:
        log.info("serve.stopping", signal=sig.name)
        server.handle_exit(sig, None)

    def on_reload() -> None:
        task = asyncio.create_task(_reload(service, log))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_stop, sig)
    loop.add_signal_handler(signal.SIGHUP, on_reload)
    failed = False
    try:
        await server.serve(sockets=[sock])
    except SystemExit:
        # uvicorn exits this way when it cannot bind or the lifespan startup failed.
        failed = True
    finally:
        for sig in (*STOP_SIGNALS, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for task in reloads:
            task.cancel()
        sock.close()
    if failed or not server.started:
        log.error("serve.failed_to_start", host=host, port=port)
        await service.stop()  # a service that did start (the port was taken) stops here
        return EXIT_ERROR
    return EXIT_OK


async def _reload(service: ServiceView, log: Any) -> None:
    try:
        loaded = await service.reload()
    except ConfigError as exc:
        # A warning: the service goes on with the config it had.
        log.warning("config.reload_rejected", problems=[str(p) for p in exc.problems])
    except Exception as exc:
        log.warning(
            "config.reload_failed", error=type(exc).__name__, detail=str(exc), exc_info=True
        )
    else:
        log.info("config.reload_done", path=str(loaded.path))

"""``smokewatch demo``: the bundled demo target, watched by the bundled config.

Everything runs in one process on loopback: the demo target on a free port, and
``smokewatch serve`` running every check against it on a short interval, storing
results in a local SQLite file and serving the status page and API.  With
``max_runs`` it runs the checks that many times, prints each round and exits
(no server): a quick look, and what the tests drive.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from examples.demo_target import DemoTarget
from monitor.config.loader import LoadedConfig, load_config
from monitor.config.models import MIN_INTERVAL
from monitor.output import make_console, print_runs
from monitor.runtime import Runtime

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "smokewatch.yaml"
DEMO_PASSWORD = "demo-password"  # noqa: S105 -- the demo target's own test account


def demo_env(target_url: str) -> dict[str, str]:
    """The environment the demo config interpolates: where the target is, its test password."""
    return {
        **os.environ,
        "DEMO_TARGET_URL": target_url,
        "DEMO_TARGET_URL_WS": target_url.replace("http://", "ws://", 1),
        "SMOKE_TEST_PASSWORD": DEMO_PASSWORD,
    }


def demo_config(target_url: str, interval_s: float) -> LoadedConfig:
    """The bundled config pointed at ``target_url``, every check on ``interval_s``."""
    if interval_s < MIN_INTERVAL.total_seconds():
        raise ValueError(f"interval must be at least {MIN_INTERVAL.total_seconds():g}s")
    loaded = load_config(DEMO_CONFIG, demo_env(target_url))
    config = loaded.config
    interval = timedelta(seconds=interval_s)
    checks = tuple(c.model_copy(update={"interval": interval, "cron": None}) for c in config.checks)
    defaults = config.defaults.model_copy(update={"interval": interval})
    return dataclasses.replace(
        loaded, config=config.model_copy(update={"defaults": defaults, "checks": checks})
    )


async def run_demo(
    *,
    interval_s: float,
    max_runs: int = 0,
    host: str = "127.0.0.1",
    port: int = 8080,
    console: Console | None = None,
) -> int:
    console = console or make_console()
    target = DemoTarget()
    url = await target.start()
    try:
        loaded = demo_config(url, interval_s)
        console.print(f"demo target at [bold]{url}[/]; config {DEMO_CONFIG}", highlight=False)
        if max_runs:
            return await _rounds(loaded, interval_s, max_runs, console)
        return await _serve(loaded, host, port, console)
    finally:
        await target.stop()


async def _rounds(loaded: LoadedConfig, interval_s: float, max_runs: int, console: Console) -> int:
    async with Runtime(loaded) as rt:
        for done in range(1, max_runs + 1):
            print_runs(console, await rt.run_once())
            if done < max_runs:
                await asyncio.sleep(interval_s)
    return 0


async def _serve(loaded: LoadedConfig, host: str, port: int, console: Console) -> int:
    # The service stack loads only when serving.
    from monitor.api.app import create_app  # noqa: PLC0415
    from monitor.serve import serve  # noqa: PLC0415
    from monitor.service import Service  # noqa: PLC0415

    service = Service(loaded)
    app = create_app(service, log=service.log.bind(component="api"))
    console.print(
        f"status page at [bold]http://{host}:{port}/[/], API at http://{host}:{port}/docs; "
        "Ctrl-C stops",
        highlight=False,
    )
    return await serve(service, app, host=host, port=port, log=service.log)

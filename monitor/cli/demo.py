"""``smokewatch demo``: the bundled demo target, watched by the bundled config.

Everything runs in one process on loopback: the demo target on a free port, and
``smokewatch serve`` running every check against it on a short interval, storing
results in a local SQLite file and serving the status page and API.  With
``max_runs`` it runs the checks that many times, prints each round and exits
(no server): a quick look, and what the tests drive.

Two regions without PostgreSQL: two runners in this one process, labelled
:data:`DEMO_REGIONS`, both probe the same demo target and write to the same SQLite
file, as two regions' instances write to one shared PostgreSQL.  Their results differ
only by chance (timing); the page's footer says so.  Browser checks run in the first
region only (one Chromium, not two).  The demo target declares 200
requests a minute and each runner keeps to a twentieth of it (a tenth together, as
one runner would against a target declaring 100).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import make_url

from examples.demo_target import DemoTargetThread, TargetState
from examples.demo_target.state import RateLimiter
from monitor.cli.output import make_console, print_runs
from monitor.config.loader import LoadedConfig, load_config
from monitor.config.models import MIN_INTERVAL
from monitor.runtime.runtime import Runtime
from monitor.runtime.spool import spool_path
from monitor.store import database_url
from monitor.store.urls import sqlite_file

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "smokewatch.yaml"
DEMO_PASSWORD = "demo-password"  # noqa: S105 -- the demo target's own test account
DEMO_REGIONS = ("demo-east", "demo-west")
DEMO_LIMIT = 200  # the demo target's declared requests a minute (X-RateLimit-Limit)
DEMO_FOOTER = (
    "This is smokewatch's demo: two runners in one process, labelled as the regions "
    f"{DEMO_REGIONS[0]} and {DEMO_REGIONS[1]}, probe the same bundled demo target and "
    "store their results in one SQLite file (browser checks run in the first only)."
)


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
    checks = tuple(
        c.model_copy(update={"interval": interval, "cron": None, "regions": _regions(c.kind)})
        for c in config.checks
    )
    defaults = config.defaults.model_copy(update={"interval": interval})
    # Each runner has its own request budget: half the usual share each.
    rate_limit = config.rate_limit.model_copy(
        update={"fraction": config.rate_limit.fraction / len(DEMO_REGIONS)}
    )
    branding = config.api.branding.model_copy(update={"footer": DEMO_FOOTER})
    update = {
        "defaults": defaults,
        "checks": checks,
        "regions": DEMO_REGIONS,
        "rate_limit": rate_limit,
        "api": config.api.model_copy(update={"branding": branding}),
    }
    return dataclasses.replace(loaded, config=config.model_copy(update=update))


def _regions(kind: str) -> tuple[str, ...]:
    """Browser checks run in the first region only: one Chromium for the demo, not two."""
    return DEMO_REGIONS[:1] if kind == "browser" else DEMO_REGIONS


def second_runner(loaded: LoadedConfig) -> LoadedConfig:
    """The config of the second region's runner: its own spool beside the first's (two
    writers must not share one file)."""
    storage = loaded.config.storage
    first = spool_path(storage.spool_path, sqlite_file(make_url(database_url(storage.url))))
    storage = storage.model_copy(update={"spool_path": f"{first}.{DEMO_REGIONS[1]}"})
    return dataclasses.replace(loaded, config=loaded.config.model_copy(update={"storage": storage}))


async def run_demo(
    *,
    interval_s: float,
    max_runs: int = 0,
    host: str = "127.0.0.1",
    port: int = 8080,
    console: Console | None = None,
) -> int:
    console = console or make_console()
    # On its own event loop in a thread: the monitor's own work (starting Chromium, the
    # first page renders) must not show up as the target's response time.
    target = DemoTargetThread(TargetState(limiter=RateLimiter(limit=DEMO_LIMIT)))
    url = await asyncio.to_thread(target.start)
    try:
        loaded = demo_config(url, interval_s)
        console.print(f"demo target at [bold]{url}[/]; config {DEMO_CONFIG}", highlight=False)
        if max_runs:
            return await _rounds(loaded, interval_s, max_runs, console)
        return await _serve(loaded, interval_s, host, port, console)
    finally:
        await asyncio.to_thread(target.stop)


async def _rounds(loaded: LoadedConfig, interval_s: float, max_runs: int, console: Console) -> int:
    first, second = DEMO_REGIONS
    async with (
        Runtime(loaded, region=first) as east,
        Runtime(second_runner(loaded), region=second) as west,
    ):
        for done in range(1, max_runs + 1):
            # Both regions at once (only the first runs browser checks); printed in order.
            for runs in await asyncio.gather(east.run_once(), west.run_once()):
                print_runs(console, runs)
            if done < max_runs:
                await asyncio.sleep(interval_s)
    return 0


async def _serve(
    loaded: LoadedConfig, interval_s: float, host: str, port: int, console: Console
) -> int:
    # The service stack loads only when serving.
    from monitor.api.app import create_app  # noqa: PLC0415
    from monitor.runtime.serve import serve  # noqa: PLC0415
    from monitor.runtime.service import Service  # noqa: PLC0415

    service = Service(loaded, region=DEMO_REGIONS[0])
    app = create_app(service, log=service.log.bind(component="api"))
    console.print(
        f"regions {DEMO_REGIONS[0]} and {DEMO_REGIONS[1]}: two runners in this process; "
        f"status page at [bold]http://{host}:{port}/[/], API at http://{host}:{port}/docs; "
        "Ctrl-C stops",
        highlight=False,
    )
    # The second region's runner: a plain loop over run_once, not a second scheduler (on
    # SQLite one lock file admits one scheduler per database, whatever the region).
    async with Runtime(second_runner(loaded), region=DEMO_REGIONS[1]) as west:
        loop = asyncio.create_task(_every(west, interval_s))
        try:
            return await serve(service, app, host=host, port=port, log=service.log)
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop


async def _every(runtime: Runtime, interval_s: float) -> None:
    """Run every check of ``runtime`` now and then every ``interval_s``; a failed round is
    logged and the next one runs."""
    while True:
        try:
            await runtime.run_once()
        except Exception:  # the loop must outlive one bad round
            runtime.log.exception("demo.round_failed", region=runtime.region)
        await asyncio.sleep(interval_s)

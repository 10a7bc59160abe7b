"""``smokewatch demo``: the bundled demo target, watched by the bundled config.

Everything runs in one process on loopback: the demo target on a free port, and
smokewatch running every check against it, storing results in a local SQLite file.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from rich.console import Console

from examples.demo_target import DemoTarget
from monitor.config.loader import load_config
from monitor.output import print_runs
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


async def run_demo(*, interval_s: float, max_runs: int = 0, console: Console | None = None) -> int:
    console = console or Console()
    target = DemoTarget()
    url = await target.start()
    try:
        loaded = load_config(DEMO_CONFIG, demo_env(url))
        console.print(f"demo target at [bold]{url}[/]; config {DEMO_CONFIG}", highlight=False)
        async with Runtime(loaded) as rt:
            done = 0
            while True:
                print_runs(console, await rt.run_once())
                done += 1
                if max_runs and done >= max_runs:
                    return 0
                await asyncio.sleep(interval_s)
    finally:
        await target.stop()

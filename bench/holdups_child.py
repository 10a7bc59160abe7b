"""The child of ``bench/holdups.py``: run with ``PYTHONPATH`` set to the checkout under test.

``python bench/holdups_child.py URL CHECKS ROUNDS HOLD_S GAP_S FOLDER`` prints one JSON
line: the results' statuses per path (``fast``, ``slow``) and the attempts they took.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

from monitor.config import load_config
from monitor.runtime.runtime import Runtime


def config_text(url: str, checks: int) -> str:
    lines = [
        "defaults: {retries: 2, timeout: 5s}",
        "alert_rules: null",
        "rate_limit: {fraction: 1.0, hosts: {127.0.0.1: {limit: 1000000, window: 1m}}}",
        "checks:",
    ]
    for path, ms in (("fast", 20), ("slow", 200)):
        for i in range(checks):
            lines += [
                f"  - name: {path}-{i}",
                "    kind: http",
                f"    url: {url}/delay?ms={ms}&c={i}",
                "    expect: {response_time: {degraded_ms: 100}}",
            ]
    return "\n".join(lines) + "\n"


def block(seconds: float) -> None:
    """The hold-up: the event loop's thread does nothing else for ``seconds``."""
    time.sleep(seconds)


async def hog(rng: random.Random, hold_s: float, gap_s: float) -> None:
    while True:
        await asyncio.sleep(rng.uniform(0.05, gap_s))
        block(hold_s)


async def main(
    url: str, checks: int, rounds: int, hold_s: float, gap_s: float, folder: Path
) -> None:
    (folder / "config.yaml").write_text(config_text(url, checks))
    loaded = load_config(folder / "config.yaml", env={})
    counts: dict[str, dict[str, int]] = {"fast": {}, "slow": {}}
    attempts = {"fast": 0, "slow": 0}
    async with Runtime(loaded, region="bench", use_store=False, env={}) as rt:
        task = asyncio.ensure_future(hog(random.Random(7), hold_s, gap_s))
        for _ in range(rounds):
            for run in await rt.run_once():
                path = run.check.split("-")[0]
                counts[path][run.status.value] = counts[path].get(run.status.value, 0) + 1
                attempts[path] += run.attempts
        task.cancel()
    print(json.dumps({"counts": counts, "attempts": attempts}))


if __name__ == "__main__":
    url, checks, rounds, hold_s, gap_s, folder = sys.argv[1:7]
    asyncio.run(main(url, int(checks), int(rounds), float(hold_s), float(gap_s), Path(folder)))

"""What incidents and maintenance add to building the status page: reading them, per build.

``uv run python bench/notices.py``  (a few seconds)

A fresh SQLite store, 150 checks in the config; times :func:`read_notices` (one query for
the notices, one for their updates, and the rules file's windows) with no notices and with
``--notices`` of them (4 updates each), interleaved with a peer the page already runs on
every build (the 20 most recent alert-made incidents, ``ResultStore.incidents``).  Prints
medians side by side and the ratio; the machine is shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.api.notices import read_notices
from monitor.config.loader import LoadedConfig
from monitor.config.root import config_model
from monitor.config.rules import AlertRules
from monitor.store import ResultStore
from monitor.store.notices import NoticeStore


@dataclass
class _Service:
    """The part of ``ServiceView`` that :func:`read_notices` reads."""

    loaded: LoadedConfig
    store: ResultStore


async def _median_ms(make: Callable[[], Awaitable[object]], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await make()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def main(args: argparse.Namespace) -> None:
    checks = [
        {"name": f"check-{n:03}", "kind": "http", "url": "https://example.com/"} for n in range(150)
    ]
    config = config_model().model_validate({"checks": checks})
    rules = AlertRules.model_validate(
        {"maintenance": [{"name": "nightly", "cron": "0 2 * * *", "duration": "1h"}]}
    )
    with tempfile.TemporaryDirectory(prefix="smokewatch-notices-bench-") as tmp:
        store = await ResultStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            loaded = LoadedConfig(config, rules, frozenset(), Path(tmp) / "x.yaml", None)
            service = _Service(loaded, store)
            visible = frozenset(c["name"] for c in checks)
            now = datetime.now(UTC)

            async def notices() -> object:
                return await read_notices(service, now=now, visible=visible)  # type: ignore[arg-type]

            async def peer() -> object:
                return await store.incidents(since=now - timedelta(days=30), limit=20)

            rows = []
            for label in ("0 notices", f"{args.notices} notices"):
                if label != "0 notices":
                    writer = NoticeStore(store)
                    for n in range(args.notices):
                        made = await writer.create(
                            "incident", name=f"i{n}", status="investigating", impact="minor",
                            components=[f"check-{n % 150:03}"], body="b", at=now,
                        )  # fmt: skip
                        for status in ("identified", "monitoring", "resolved"):
                            await writer.add_update(made.id, status=status, body="b", at=now)
                ours, theirs = [], []
                for _ in range(args.rounds):  # interleaved
                    ours.append(await _median_ms(notices, args.runs))
                    theirs.append(await _median_ms(peer, args.runs))
                rows.append((label, statistics.median(ours), statistics.median(theirs)))
        finally:
            await store.close()
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'store holds':<14} {'read_notices ms':>16} {'peer incidents ms':>18} {'ratio':>6}")
    for label, ours_ms, peer_ms in rows:
        print(f"{label:<14} {ours_ms:>16.2f} {peer_ms:>18.2f} {ours_ms / peer_ms:>6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))

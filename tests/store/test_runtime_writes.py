"""``run_once`` stores a run's results through the writer: a burst against a locked SQLite
file is stored late, never lost (the demo target on real HTTP, a real SQLite file)."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from examples.demo_target import DemoTargetThread
from monitor.config.loader import load_config
from monitor.runtime.runtime import Runtime
from monitor.store.engine import SQLITE_BUSY_TIMEOUT_MS
from tests.store.factory import table_rows
from tests.store.test_writer import held_lock

pytestmark = pytest.mark.timeout(120)

CHECKS = 30


def write_config(path: Path, database: Path) -> Path:
    listed = "".join(
        f"  - name: check-{n}\n    kind: http\n    url: ${{TARGET}}/health\n" for n in range(CHECKS)
    )
    path.write_text(
        textwrap.dedent(f"""\
        defaults: {{retries: 0, timeout: 5s}}
        rate_limit: {{fraction: 1.0, default: {{limit: 100000}}, learn_from_headers: false}}
        storage: {{url: "sqlite:///{database}"}}
        alert_rules: null
        checks:
        """)
        + listed
    )
    return path


class TestRunOnceWrites:
    async def test_results_outlast_a_lock_longer_than_the_busy_timeout(
        self, served: DemoTargetThread, tmp_path: Path
    ) -> None:
        """Another process holds the write lock past SQLite's busy timeout while a run
        stores: every result is stored (none raised, none lost), each with its id."""
        database = tmp_path / "results.db"
        loaded = load_config(write_config(tmp_path / "sw.yaml", database), {"TARGET": served.url})
        url = f"sqlite:///{database}"
        async with Runtime(loaded, env={}) as runtime:
            with held_lock(url, SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.5):
                runs = await runtime.run_once()
        stored = await table_rows(url, 'SELECT "check", id FROM results ORDER BY "check"')
        assert len(runs) == CHECKS
        assert sorted((run.check, run.result_id) for run in runs) == sorted(stored)
        assert await asyncio.to_thread(database.exists)


class TestPrune:
    async def test_runs_that_finish_together_prune_once(
        self, served: DemoTargetThread, tmp_path: Path
    ) -> None:
        """Checks run one by one at the same time (as serve starts them) prune the store
        once between them, not once each (the store's prune is wrapped to count its calls,
        the real one still runs)."""
        database = tmp_path / "results.db"
        loaded = load_config(write_config(tmp_path / "sw.yaml", database), {"TARGET": served.url})
        async with Runtime(loaded, env={}) as runtime:
            assert runtime.store is not None
            store, prunes = runtime.store, list[datetime]()
            real_prune = store.prune

            async def counted(older_than: datetime) -> int:
                prunes.append(older_than)
                return await real_prune(older_than)

            store.prune = counted  # type: ignore[method-assign]
            runs = await asyncio.gather(*(runtime.run_once([f"check-{n}"]) for n in range(CHECKS)))
        assert (len(runs), len(prunes)) == (CHECKS, 1)

"""``run_once`` stores a run's results through the writer: a burst against a locked SQLite
file is stored late, never lost, and so is a finished check's result when its run is
cancelled (the demo target on real HTTP, a real SQLite file)."""

from __future__ import annotations

import asyncio
import io
import textwrap
from collections.abc import Callable
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


def write_two_speeds(path: Path, database: Path) -> Path:
    """``fast`` answers at once, ``slow`` after 20 s: a run of both is cancelled between."""
    path.write_text(
        textwrap.dedent(f"""\
        defaults: {{retries: 0, timeout: 30s}}
        rate_limit: {{fraction: 1.0, default: {{limit: 100000}}, learn_from_headers: false}}
        storage: {{url: "sqlite:///{database}"}}
        logging: {{format: json}}
        alert_rules: null
        checks:
          - {{name: fast, kind: http, url: "${{TARGET}}/fast"}}
          - {{name: slow, kind: http, url: "${{TARGET}}/delay?ms=20000"}}
        """)
    )
    return path


class DoneWatch(io.StringIO):
    """A log stream that calls ``on_done`` as a check logs ``check.done`` (in that step of
    the event loop, before the run has gathered the check's result)."""

    on_done: Callable[[], object] = staticmethod(lambda: None)

    def write(self, text: str, /) -> int:
        if '"check.done"' in text:
            self.on_done()
        return super().write(text)


class TestCancelledRuns:
    async def test_a_finished_check_is_stored_when_the_run_is_cancelled_for_another(
        self, served: DemoTargetThread, tmp_path: Path
    ) -> None:
        """serve's stop cancels a run whose ``slow`` check is still waiting on the target:
        ``slow`` is cancelled (nothing was learnt), ``fast`` had finished and its verdict is
        stored all the same."""
        database = tmp_path / "results.db"
        config = write_two_speeds(tmp_path / "sw.yaml", database)
        loaded = load_config(config, {"TARGET": served.url})
        log, fast_done = DoneWatch(), asyncio.Event()
        log.on_done = fast_done.set
        async with Runtime(loaded, env={}, log_stream=log) as runtime:
            run = asyncio.create_task(runtime.run_once(["fast", "slow"]))
            await fast_done.wait()
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            await runtime.settle()
        stored = await table_rows(f"sqlite:///{database}", 'SELECT "check", status FROM results')
        assert stored == [("fast", "pass")]

    async def test_a_cancel_an_instant_after_the_check_finished_keeps_its_verdict(
        self, served: DemoTargetThread, tmp_path: Path
    ) -> None:
        """The cancel lands in the event loop's next step after ``check.done`` (as a stop
        can, polling every few milliseconds): the result is stored, not dropped with the
        run that was about to gather it."""
        database = tmp_path / "results.db"
        config = write_two_speeds(tmp_path / "sw.yaml", database)
        loaded = load_config(config, {"TARGET": served.url})
        log = DoneWatch()
        async with Runtime(loaded, env={}, log_stream=log) as runtime:
            run = asyncio.create_task(runtime.run_once(["fast"]))
            log.on_done = lambda: asyncio.get_running_loop().call_soon(run.cancel)
            with pytest.raises(asyncio.CancelledError):
                await run
            await runtime.settle()
        stored = await table_rows(f"sqlite:///{database}", 'SELECT "check", status FROM results')
        assert stored == [("fast", "pass")]

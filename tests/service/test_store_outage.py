"""Specifications of probing through a store outage: a real PostgreSQL stopped and started.

The spool (``monitor.runtime.spool``) takes the results the store cannot, the lease
(``monitor.scheduling.leader``) is kept, and the replay (``monitor.runtime.replay``) stores every
result exactly once when PostgreSQL is back.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config.loader import load_config
from monitor.runtime.replay import Replayer
from monitor.runtime.runtime import Runtime
from monitor.runtime.spool import Spool
from monitor.store import ResultStore
from tests.service.conftest import (
    ServeProcess,
    StartServe,
    eventually,
    slow_status,
    wait_for,
)
from tests.support.postgres import StoppableCluster

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

CHECKS = {"health": "/health", "status": "/api/v1/status", "test": "/api/v1/test", "fast": "/fast"}
OUTAGE_S = 30.0
WAIT_S = 30.0


def write_config(path: Path, url: str, spool: Path, checks: dict[str, str]) -> Path:
    listed = "".join(
        f"  - name: {name}\n    kind: http\n    url: ${{TARGET}}{where}\n"
        for name, where in checks.items()
    )
    path.write_text(
        textwrap.dedent(f"""\
        defaults:
          retries: 0
          timeout: 5s
          interval: 1s
        rate_limit:
          fraction: 1.0
          default: {{limit: 100000}}
          learn_from_headers: false
        scheduler:
          jitter: 0s
          lease_poll: 1s
          shutdown_grace: 5s
        storage:
          url: {url}
          spool_path: {spool}
        logging:
          format: json
          level: info
        alert_rules: null
        checks:
        """)
        + listed
    )
    return path


def metric(text: str, name: str) -> float:
    """The sum of every sample of ``name`` in a Prometheus exposition."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def stored_run_ids(url: str) -> dict[str, list[str]]:
    async def read() -> dict[str, list[str]]:
        async with await ResultStore.open(url) as store:
            return {
                name: [r.run_id for r in await store.results(name, limit=10_000)] for name in CHECKS
            }

    return asyncio.run(read())


def done_run_ids(serve: ServeProcess) -> dict[str, list[str]]:
    """The run ids the service logged as finished, by check: every run it made."""
    found: dict[str, list[str]] = {name: [] for name in CHECKS}
    for event in serve.events("check.done"):
        found[event["check"]].append(event["run_id"])
    return found


def _arrived(target: TargetState, path: str) -> Callable[[], Awaitable[bool]]:
    async def arrived() -> bool:
        return target.stats.request_count(path) >= 1

    return arrived


def requests(target: TargetState) -> int:
    return sum(target.stats.request_count(path) for path in CHECKS.values())


class TestServeThroughAnOutage:
    def test_probing_metrics_and_results_survive_a_stopped_postgres(
        self,
        stoppable_postgres: StoppableCluster,
        start_serve: StartServe,
        target: TargetState,
        tmp_path: Path,
    ) -> None:
        """PostgreSQL stopped under serve: the target keeps getting requests, metrics keep
        counting, /ready shows the lag, and after recovery every run is stored exactly once."""
        url = stoppable_postgres.url
        config = write_config(tmp_path / "smokewatch.yaml", url, tmp_path / "sw.spool", CHECKS)
        serve = start_serve(config)
        wait_for(lambda: all(stored_run_ids(url).values()), timeout_s=WAIT_S)

        before = requests(target)
        runs_before = metric(serve.get("/metrics").text, "smoke_test_runs_total")
        stoppable_postgres.stop()
        stopped_at = time.monotonic()
        readies: list[dict[str, Any]] = []
        runs_seen: list[float] = []
        while time.monotonic() - stopped_at < OUTAGE_S:
            time.sleep(2.0)
            ready = serve.get("/ready")
            readies.append({"code": ready.status_code, **ready.json()})
            runs_seen.append(metric(serve.get("/metrics").text, "smoke_test_runs_total"))
        during = requests(target) - before
        exposition = serve.get("/metrics").text
        spooled_total = metric(exposition, "smoke_test_results_spooled_total")
        spooled_peak = metric(exposition, "smoke_test_spooled_results")
        lag_at_end = readies[-1]["store_lag"]

        stoppable_postgres.start()
        started_at = time.monotonic()
        wait_for(lambda: serve.get("/ready").json()["store_lag"]["spooled"] == 0, timeout_s=WAIT_S)
        caught_up_s = time.monotonic() - started_at
        wait_for(lambda: serve.get("/ready").status_code == 200, timeout_s=WAIT_S)
        wait_for(lambda: bool(serve.events("lease.retaken")), timeout_s=WAIT_S)
        final = serve.get("/metrics").text
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=30) == 0

        # Probing went on: about one request per check per second (none before the spool).
        assert all(e["status"] == "pass" for e in serve.events("check.done"))
        assert during >= len(CHECKS) * OUTAGE_S / 3
        # Metrics never stopped: the runs counter grew between every two scrapes 2 s apart.
        assert all(b > a for a, b in zip([runs_before, *runs_seen], runs_seen, strict=False))
        # /ready said the store was behind and by how much, and the replica kept leading.
        assert all(r["code"] == 503 and r["components"]["store"] == "unreachable" for r in readies)
        assert all(r["role"] == "leader" for r in readies)
        assert lag_at_end["spooled"] >= len(CHECKS) * OUTAGE_S / 3
        assert lag_at_end["oldest_age_seconds"] >= OUTAGE_S / 2
        assert spooled_peak == lag_at_end["spooled"] or spooled_peak > 0
        # Every run reached the store exactly once; none was set aside as refused.
        assert not serve.events("spool.result_rejected")
        done, stored = done_run_ids(serve), stored_run_ids(url)
        for name in CHECKS:
            assert sorted(stored[name]) == sorted(done[name]), name
            assert len(set(stored[name])) == len(stored[name])
        replayed = serve.events("spool.replayed")
        spooled_in_all = metric(final, "smoke_test_results_spooled_total")
        assert sum(e["results"] for e in replayed) == spooled_in_all >= spooled_total
        assert metric(final, "smoke_test_results_replayed_total") == spooled_in_all
        assert metric(final, "smoke_test_spooled_results") == 0
        assert not serve.events("lease.lost")  # kept the lease throughout
        assert serve.events("lease.unavailable")
        assert not serve.events("result.dropped")
        print(  # the figures the report quotes (pytest -s)
            f"\noutage {OUTAGE_S:.0f} s: {during} requests at the target, "
            f"{spooled_total:.0f} results spooled, lag at the end {lag_at_end}; "
            f"{spooled_in_all:.0f} spooled in all; "
            f"caught up {caught_up_s:.1f} s after PostgreSQL started; replay passes "
            f"{[(e['results'], e['seconds']) for e in replayed]}; "
            f"stored {sum(len(v) for v in stored.values())} results for "
            f"{sum(len(v) for v in done.values())} runs"
        )


class TestRunInFlight:
    async def test_a_run_in_flight_when_the_store_goes_is_spooled_and_exported(
        self,
        stoppable_postgres: StoppableCluster,
        served: DemoTargetThread,
        target: TargetState,
        tmp_path: Path,
    ) -> None:
        """The store stops while a check runs: its result is spooled, counted in the metrics,
        and stored once PostgreSQL is back."""
        slow_status(target, 1500)
        config = write_config(
            tmp_path / "smokewatch.yaml",
            stoppable_postgres.url,
            tmp_path / "sw.spool",
            {"status": "/api/v1/status"},
        )
        spool = Spool(tmp_path / "sw.spool")
        loaded = load_config(config, {"TARGET": served.url})
        async with Runtime(loaded, spool=spool, env={}) as runtime:
            running = asyncio.create_task(runtime.run_once())
            await eventually(_arrived(target, "/api/v1/status"), timeout_s=WAIT_S)
            await asyncio.to_thread(stoppable_postgres.stop)
            (run,) = await running
            assert spool.pending == 1
            exposition = generate_latest(runtime.registry).decode()
            assert metric(exposition, "smoke_test_runs_total") == 1
            assert metric(exposition, "smoke_test_spooled_results") == 1
            assert metric(exposition, "smoke_test_results_spooled_total") == 1

            replayer = Replayer(spool, log=runtime.log)
            assert runtime.store is not None
            report = await replayer.replay(runtime.store)
            assert (report.replayed, report.left) == (0, 1)  # still down: kept
            await asyncio.to_thread(stoppable_postgres.start)
            report = await replayer.replay(runtime.store)
            assert (report.replayed, report.left) == (1, 0)
            stored = await runtime.store.results("status")
            assert [r.run_id for r in stored] == [run.run_id]
            assert (
                metric(generate_latest(runtime.registry).decode(), "smoke_test_spooled_results")
                == 0
            )

    async def test_runs_cancelled_while_their_results_wait_for_the_store_are_spooled(
        self,
        stoppable_postgres: StoppableCluster,
        served: DemoTargetThread,
        tmp_path: Path,
    ) -> None:
        """serve's stop cancels the runs still going when shutdown_grace ends.  A run whose
        check has finished has a verdict: cancelled while its result waits for a stopped
        PostgreSQL (the writer between its tries), the result is spooled all the same, and
        stored once PostgreSQL is back."""
        config = write_config(
            tmp_path / "smokewatch.yaml", stoppable_postgres.url, tmp_path / "sw.spool", CHECKS
        )
        spool = Spool(tmp_path / "sw.spool")
        loaded = load_config(config, {"TARGET": served.url})
        log = io.StringIO()
        async with Runtime(loaded, spool=spool, env={}, log_stream=log) as runtime:
            writer = runtime.writer
            assert writer is not None
            await asyncio.to_thread(stoppable_postgres.stop)
            runs = [asyncio.create_task(runtime.run_once([name])) for name in CHECKS]

            async def waiting_for_the_store() -> bool:
                return len(_events(log, "check.done")) == len(CHECKS) and writer.retries >= 1

            await eventually(waiting_for_the_store, timeout_s=WAIT_S, step_s=0.01)
            for run in runs:
                run.cancel()
            await asyncio.wait(runs)
            # Usually all 4 are cancelled here; on a loaded machine a run's burst may have
            # failed over to the spool before: either way, every result must be spooled.
        done = sorted(event["run_id"] for event in _events(log, "check.done"))
        assert sorted(record.run_id for record in spool.head(100)) == done
        await asyncio.to_thread(stoppable_postgres.start)
        store = await ResultStore.open(stoppable_postgres.url)
        try:
            report = await Replayer(spool, log=runtime.log).replay(store)
            assert (report.replayed, report.left) == (len(CHECKS), 0)
            stored = [r.run_id for name in CHECKS for r in await store.results(name)]
        finally:
            await store.close()
        assert sorted(stored) == done


def _events(log: io.StringIO, event: str) -> list[dict[str, Any]]:
    lines = log.getvalue().splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == event]

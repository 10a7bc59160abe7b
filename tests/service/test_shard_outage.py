"""Sharing replicas through a store outage (issue 17): a failed run claim is logged and the
owner runs anyway; replicas started in one directory each spool their own results.

The outage is real: the test's own PostgreSQL is stopped under running replicas.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config.loader import load_config
from monitor.runtime.service import Service
from tests.service.conftest import PREAMBLE, ServeProcess, StartServe, eventually, wait_for
from tests.support.postgres import StoppableCluster

WAIT_S = 60.0  # a loaded 2-core machine: the service's start, PostgreSQL's stop
READY_TIMEOUT_S = 30.0


def events(stream: io.StringIO, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [e for e in lines if e.get("event") == name]


@pytest.mark.postgres
@pytest.mark.timeout(240)
class TestClaimDuringAnOutage:
    async def test_a_failed_claim_is_logged_and_the_owner_runs(
        self, tmp_path: Path, stoppable_postgres: StoppableCluster, target_env: dict[str, str]
    ) -> None:
        """With PostgreSQL stopped, each claim's failure is logged with its check and due
        time, and the owner still runs the check (its results go to the spool)."""
        body = PREAMBLE.format(
            interval="1s", lease_poll="500ms", grace="5s", run_at_start="false",
            db=stoppable_postgres.url,
        ).replace("scheduler:\n", "scheduler:\n  shard: true\n  heartbeat: 2s\n")  # fmt: skip
        body = body.replace(
            "storage:\n", f"storage:\n  spool_path: {tmp_path / 'spool.jsonl'}\n"
        ).replace("scheduler:\n", "runner:\n  concurrency: 4\nscheduler:\n")
        path = tmp_path / "outage.yaml"
        path.write_text(body + "  - name: only\n    kind: http\n    url: ${TARGET}/health\n")
        stream = io.StringIO()
        service = Service(
            load_config(path, target_env), region="local", env=target_env, log_stream=stream
        )
        await service.start()
        try:

            async def owns_and_ran() -> bool:
                return service.shard is not None and "only" in service.shard.owned

            await eventually(owns_and_ran, timeout_s=WAIT_S, step_s=0.2)
            stoppable_postgres.stop()

            async def claim_failed_and_spooled() -> bool:
                return bool(events(stream, "shard.claim_failed")) and (
                    service.store_lag().spooled > 0
                )

            await eventually(claim_failed_and_spooled, timeout_s=WAIT_S, step_s=0.2)
        finally:
            stoppable_postgres.start()
            await service.stop()
        failed = events(stream, "shard.claim_failed")[0]
        assert failed["check"] == "only"
        assert failed["runs"] is True
        assert failed["level"] == "warning"
        assert failed["reason"]
        assert datetime.fromisoformat(failed["due"]).tzinfo is not None


def ready_body(serve: ServeProcess) -> dict[str, Any]:
    """``/ready``'s body, 200 or 503 (the store may be down); ``{}`` while it does not answer."""
    try:
        return dict(httpx.get(serve.url + "/ready", timeout=READY_TIMEOUT_S).json())
    except httpx.TransportError:
        return {}


def locked(lock: Path) -> bool:
    """Whether another process holds ``lock``'s flock."""
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.postgres
@pytest.mark.timeout(300)
class TestSpoolPerReplica:
    def test_two_replicas_in_one_directory_each_spool(
        self,
        tmp_path: Path,
        stoppable_postgres: StoppableCluster,
        start_serve: StartServe,
    ) -> None:
        """Two sharing ``serve`` processes given one spool path each hold a file of their own,
        and through a real outage each spools its own runs' results."""
        spool = tmp_path / "smokewatch.spool"
        body = PREAMBLE.format(
            interval="1s", lease_poll="500ms", grace="5s", run_at_start="false",
            db=stoppable_postgres.url,
        ).replace("scheduler:\n", "scheduler:\n  shard: true\n  heartbeat: 2s\n")  # fmt: skip
        body = body.replace("storage:\n", f"storage:\n  spool_path: {spool}\n")
        path = tmp_path / "two.yaml"
        checks = [
            f"  - name: t{i}\n    kind: http\n    url: ${{TARGET}}/health\n" for i in range(8)
        ]
        path.write_text(body + "".join(checks))
        replicas = [start_serve(path, region="local", wait=False) for _ in range(2)]

        def both_share() -> bool:
            bodies = [ready_body(s) for s in replicas]
            return all(len((b.get("shard") or {}).get("members", {})) == 2 for b in bodies) and all(
                b["shard"]["owned"] > 0 for b in bodies
            )

        wait_for(both_share, timeout_s=WAIT_S * 2)
        slots = [spool, spool.with_name(spool.name + ".1")]
        assert all(locked(s.with_name(s.name + ".lock")) for s in slots)
        stoppable_postgres.stop()
        try:

            def both_spooled() -> bool:
                return all(
                    ready_body(s).get("store_lag", {}).get("spooled", 0) > 0 for s in replicas
                )

            wait_for(both_spooled, timeout_s=WAIT_S)
            # Read during the outage: once the store is back each replica replays its file
            # and deletes it, which may happen before this line runs.
            assert all(s.exists() and s.stat().st_size > 0 for s in slots)
        finally:
            stoppable_postgres.start()

        def both_replayed() -> bool:
            bodies = [ready_body(s) for s in replicas]
            return all(b.get("store_lag", {}).get("spooled") == 0 for b in bodies)

        wait_for(both_replayed, timeout_s=WAIT_S)
        assert not any(s.exists() for s in slots)
        for serve in replicas:
            serve.proc.send_signal(signal.SIGTERM)
        for serve in replicas:
            assert serve.proc.wait(timeout=60) == 0

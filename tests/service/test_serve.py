"""Specifications of ``smokewatch serve``: the real script, real uvicorn, real signals."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from typer.testing import CliRunner

from examples.demo_target import TargetState
from monitor.cli.commands import app as cli
from monitor.store import ResultStore
from probes.base import Status
from tests.service.conftest import (
    HEALTH,
    STATUS,
    ServeProcess,
    StartServe,
    WriteConfig,
    slow_status,
    wait_for,
)

# Each test starts real interpreters: slow to import on a loaded CI machine, still bounded.
pytestmark = pytest.mark.timeout(300)

WAIT_S = 20.0


def results(serve: ServeProcess, check: str) -> list[dict[str, object]]:
    response = serve.get(f"/api/v1/checks/{check}/results?limit=500")
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["results"]
    return found


def results_once_known(serve: ServeProcess, check: str) -> list[dict[str, object]]:
    """Like :func:`results`, but a check the reloading service does not know yet has none."""
    response = serve.get(f"/api/v1/checks/{check}/results?limit=500")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["results"]
    return found


def role(serve: ServeProcess) -> str:
    body: dict[str, str] = serve.get("/ready").json()
    return body["role"]


def stored(db_file: str, check: str) -> list[Status]:
    async def read() -> list[Status]:
        async with await ResultStore.open(db_file) as store:
            return [r.status for r in await store.results(check)]

    return asyncio.run(read())


class TestServeCommand:
    def test_a_bad_config_exits_2_before_anything_starts(self, write_config: WriteConfig) -> None:
        """An invalid config is reported and the command exits 2 without serving."""
        config = write_config(HEALTH)
        config.write_text(config.read_text() + "  - name: broken\n    kind: nonsense\n")
        done = CliRunner().invoke(cli, ["serve", "--config", str(config), "--port", "1"])
        assert done.exit_code == 2
        assert "invalid config" in done.stderr


class TestServe:
    def test_results_show_through_the_api_and_sighup_reloads(
        self, write_config: WriteConfig, start_serve: StartServe
    ) -> None:
        """Scheduled results are served over HTTP; SIGHUP ignores a broken file, applies a good."""
        config = write_config(HEALTH, interval="1s")
        serve = start_serve(config)
        wait_for(lambda: len(results(serve, "health")) >= 2, timeout_s=WAIT_S)
        assert {r["status"] for r in results(serve, "health")} == {"pass"}
        ready = serve.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["role"] == "leader"

        good = config.read_text()
        config.write_text(good + "  - name: broken\n    kind: nonsense\n")
        serve.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: bool(serve.events("config.reload_rejected")), timeout_s=WAIT_S)
        assert serve.get("/health").status_code == 200
        write_config(HEALTH + STATUS, interval="1s")
        serve.proc.send_signal(signal.SIGHUP)
        # SIGHUP is handled asynchronously: until the reload lands, 'status' is unknown (404).
        wait_for(lambda: len(results_once_known(serve, "status")) >= 1, timeout_s=WAIT_S)
        assert serve.proc.poll() is None

    def test_sigterm_during_a_run_lets_it_finish_and_exits_0(
        self,
        write_config: WriteConfig,
        start_serve: StartServe,
        target: TargetState,
        db_file: str,
    ) -> None:
        """SIGTERM while a check runs: the run finishes and is stored, then the process exits 0."""
        slow_status(target, 3000)  # long enough to still be running once the server answers
        serve = start_serve(write_config(STATUS, interval="1h", grace="10s"))
        wait_for(lambda: target.stats.request_count("/api/v1/status") >= 1, timeout_s=WAIT_S)
        assert stored(db_file, "status") == []
        t0 = time.monotonic()
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=15) == 0
        assert time.monotonic() - t0 < 10
        assert stored(db_file, "status") == [Status.PASS]
        assert serve.events("service.waiting_for_runs")
        assert serve.events("service.stopped")


@pytest.mark.postgres
class TestServeRegions:
    def test_the_standby_takes_over_when_the_leader_is_killed(
        self, write_config: WriteConfig, start_serve: StartServe, pg_database: str
    ) -> None:
        """Two serve processes of one region: SIGKILL the leader, the standby's results follow."""
        config = write_config(HEALTH, interval="1s", lease_poll="200ms", db=pg_database)
        both = [start_serve(config, wait=False) for _ in range(2)]
        for serve in both:
            serve.wait_up()
        leader, standby = sorted(both, key=lambda serve: role(serve) != "leader")
        assert (role(leader), role(standby)) == ("leader", "standby")
        wait_for(lambda: len(results(standby, "health")) >= 2, timeout_s=WAIT_S)
        assert standby.events("check.done") == []
        assert leader.events("check.done")
        leader.proc.kill()
        leader.proc.wait(timeout=10)
        took = wait_for(lambda: role(standby) == "leader", timeout_s=10)
        assert took < 3.0  # lease_poll is 0.2 s; the rest is a loaded machine's HTTP
        before = len(results(standby, "health"))
        wait_for(lambda: len(results(standby, "health")) >= before + 2, timeout_s=WAIT_S)
        assert len(standby.events("check.done")) >= 2

    def test_three_regions_share_one_database(
        self, write_config: WriteConfig, start_serve: StartServe, pg_database: str
    ) -> None:
        """Three regions against one PostgreSQL: each leads its own, the status shows all three."""
        config = write_config(HEALTH, interval="1h", db=pg_database)
        serves = [start_serve(config, region=r, wait=False) for r in ("eu", "us", "ap")]
        for serve in serves:
            serve.wait_up()
        assert [role(s) for s in serves] == ["leader"] * 3

        def all_regions() -> bool:
            body = serves[0].get("/api/v1/status").json()
            (health,) = body["checks"]
            return set(health["regions"]) == {"eu", "us", "ap"}

        wait_for(all_regions, timeout_s=WAIT_S)
        body = serves[1].get("/api/v1/status").json()
        assert set(body["regions"]) >= {"eu", "us", "ap"}
        assert body["status"] == "healthy"

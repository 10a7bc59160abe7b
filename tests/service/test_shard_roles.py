"""Roles and the browser pool end to end (issue 17): an ``http`` and a ``browser`` replica of
one region, real ``serve`` processes on PostgreSQL, real Chromium against the demo target.

Which replica ran what, and when, is read from the store: each result's run id is the one
its due time's claim recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import database_url
from tests.service.conftest import PREAMBLE, ServeProcess, StartServe, wait_for

HTTP_CHECKS = 4
BROWSER_CHECKS = 4
ROUNDS = 2  # runs of each check to wait for
WAIT_S = 180.0  # two cold serve processes and Chromium on a loaded 2-core machine
READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Run:
    check: str
    kind: str
    started_at: datetime
    wall_ms: float
    status: str
    member: str | None  # the claim's member; None: a run without a claim


def role_config(tmp_path: Path, db: str) -> Path:
    body = PREAMBLE.format(
        interval="3s", lease_poll="500ms", grace="10s", run_at_start="false", db=db
    ).replace("scheduler:\n", "scheduler:\n  shard: true\n  heartbeat: 2s\n  recheck: 0s\n")
    body = body.replace(
        "scheduler:\n", "runner:\n  concurrency: 8\n  browser_concurrency: 1\nscheduler:\n"
    ).replace("storage:\n", f"storage:\n  spool_path: {tmp_path / 'smokewatch.spool'}\n")
    http = [
        f"  - name: h{i}\n    kind: http\n    url: ${{TARGET}}/health\n" for i in range(HTTP_CHECKS)
    ]
    browser = [
        f"  - name: b{i}\n    kind: browser\n    interval: 6s\n    timeout: 30s\n"
        f"    url: ${{TARGET}}/\n    required_selectors: [body]\n"
        for i in range(BROWSER_CHECKS)
    ]
    path = tmp_path / "roles.yaml"
    path.write_text(body + "".join(http) + "".join(browser))
    return path


def stored_runs(db: str) -> list[Run]:
    """Every stored result with the member whose claim carries its run id."""

    async def read() -> list[Run]:
        engine = create_async_engine(database_url(db))
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        'SELECT r."check", r.kind, r.started_at, r.wall_ms, r.status, c.member '
                        "FROM results r LEFT JOIN run_claims c ON c.run_id = r.run_id"
                    )
                )
                return [Run(*row) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def ready(serve: ServeProcess) -> dict[str, Any]:
    """``/ready``'s status code and body; ``{}`` while the process does not answer."""
    assert serve.proc.poll() is None, serve.text()
    try:
        response = httpx.get(serve.url + "/ready", timeout=READY_TIMEOUT_S)
    except httpx.TransportError:
        return {}
    return {"code": response.status_code, **response.json()}


@pytest.fixture
def replicas(
    start_serve: StartServe, pg_database: str, tmp_path: Path
) -> Iterator[dict[str, ServeProcess]]:
    """An ``http`` and a ``browser`` replica of region ``local``, stopped with SIGTERM after."""
    config = role_config(tmp_path, pg_database)
    started = {
        role: start_serve(config, region="local", args=["--role", role], wait=False)
        for role in ("http", "browser")
    }
    yield started
    for serve in started.values():
        if serve.proc.poll() is None:
            serve.proc.send_signal(signal.SIGTERM)
    for serve in started.values():
        serve.proc.wait(timeout=60)


@pytest.mark.postgres
@pytest.mark.timeout(400)
class TestRolesAndPools:
    def test_each_kind_runs_on_its_role_and_browser_runs_never_overlap(
        self, replicas: dict[str, ServeProcess], pg_database: str
    ) -> None:
        """HTTP checks run only on the ``http`` replica and browser checks (real Chromium)
        only on the ``browser`` one, where ``browser_concurrency: 1`` keeps their stored
        runs from overlapping; both replicas are ready."""

        def enough_runs() -> bool:
            runs = stored_runs(pg_database)
            return all(
                sum(1 for r in runs if r.check == name) >= ROUNDS
                for name in [f"h{i}" for i in range(HTTP_CHECKS)]
                + [f"b{i}" for i in range(BROWSER_CHECKS)]
            )

        # Once both answer, each has opened (and migrated) the store.
        wait_for(lambda: all(ready(s) for s in replicas.values()), timeout_s=WAIT_S)
        wait_for(enough_runs, timeout_s=WAIT_S)
        wait_for(
            lambda: all(ready(s).get("code") == 200 for s in replicas.values()), timeout_s=WAIT_S
        )
        members = {role: ready(serve)["shard"]["member"] for role, serve in replicas.items()}
        for serve in replicas.values():
            serve.proc.send_signal(signal.SIGTERM)
        for serve in replicas.values():
            assert serve.proc.wait(timeout=60) == 0

        runs = stored_runs(pg_database)
        assert {r.member for r in runs if r.kind == "http"} == {members["http"]}
        assert {r.member for r in runs if r.kind == "browser"} == {members["browser"]}
        browser = sorted((r for r in runs if r.kind == "browser"), key=lambda r: r.started_at)
        assert [r for r in browser if r.status != "pass"] == []
        overlaps = [
            (a.check, b.check)
            for a, b in itertools.pairwise(browser)
            if b.started_at < a.started_at + timedelta(milliseconds=a.wall_ms)
        ]
        assert overlaps == []

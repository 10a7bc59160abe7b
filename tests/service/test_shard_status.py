"""``/api/v1/status`` shows how a region's checks are split among replicas (issue 17).

Two real services share one region on a real PostgreSQL, each with its own heartbeat
row; the API answers from one of them.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.api.app import create_app
from monitor.config.loader import load_config
from monitor.runtime.service import Service
from monitor.scheduling.shard import Role
from tests.service.conftest import PREAMBLE, eventually

CHECKS = 6
WAIT_S = 60.0  # two services starting on a loaded 2-core machine


def config(tmp_path: Path, db: str) -> Path:
    body = PREAMBLE.format(
        interval="2s", lease_poll="500ms", grace="5s", run_at_start="false", db=db
    ).replace("scheduler:\n", "api:\n  cache: 0s\nscheduler:\n  shard: true\n  heartbeat: 1s\n")
    # Both members spool in the test's directory (each takes its own slot), not the cwd.
    body = body.replace("storage:\n", f"storage:\n  spool_path: {tmp_path / 'smokewatch.spool'}\n")
    lines = [
        f"  - name: s{i}\n    kind: http\n    url: ${{TARGET}}/health\n" for i in range(CHECKS)
    ]
    path = tmp_path / "split.yaml"
    path.write_text(body + "".join(lines))
    return path


@pytest.fixture
async def two_members(
    tmp_path: Path, pg_database: str, target_env: dict[str, str]
) -> AsyncIterator[tuple[Service, Service]]:
    """Two started services of region ``local`` sharing its checks: roles ``all`` and ``http``."""
    path = config(tmp_path, pg_database)
    started: list[Service] = []
    try:
        roles: tuple[Role, ...] = ("all", "http")
        for role in roles:
            service = Service(
                load_config(path, target_env),
                region="local",
                env=target_env,
                log_stream=io.StringIO(),
                role=role,
            )
            await service.start()
            started.append(service)
        yield started[0], started[1]
    finally:
        for service in reversed(started):
            await service.stop()


@pytest.mark.postgres
class TestStatusShowsTheSplit:
    async def test_members_owners_and_lateness(self, two_members: tuple[Service, Service]) -> None:
        """Each live member with its role, heartbeat age and share, no check without an
        owner, and the answering replica's lateness, on a real PostgreSQL."""
        first, second = two_members

        async def both_seen_and_ran() -> bool:
            split = first.split()
            return split is not None and len(split.members) == 2 and split.lateness.runs > 0

        await eventually(both_seen_and_ran, timeout_s=WAIT_S, step_s=0.2)
        assert first.shard is not None
        assert second.shard is not None
        mine = first.shard
        app = create_app(first)  # its lifespan is not run: the service is started already
        transport = httpx.ASGITransport(app=app)
        answered: list[dict[str, Any]] = []

        async def answered_while_the_split_held() -> bool:
            # A member's liveness can flip between the answer and the comparison on a
            # loaded machine (the split is recomputed every tick): ask again until the
            # answer and the replica's own view come from the same assignment.
            before = set(mine.owned)
            response = await client.get("/api/v1/status")
            assert response.status_code == 200
            answered.append(response.json()["split"])
            return set(mine.owned) == before

        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            await eventually(answered_while_the_split_held, timeout_s=WAIT_S, step_s=0.2)
        split = answered[-1]
        members = {m["member"]: m for m in split["members"]}
        assert set(members) == {first.shard.member, second.shard.member}
        assert members[first.shard.member]["role"] == "all"
        assert members[second.shard.member]["role"] == "http"
        assert sum(m["owned"] for m in members.values()) == CHECKS
        assert members[first.shard.member]["owned"] == len(first.shard.owned)
        assert all(m["heartbeat_age_seconds"] >= 0 for m in members.values())
        assert split["region"] == "local"
        assert split["unowned"] == 0
        late = split["lateness"]
        assert late["runs"] > 0
        assert 0 <= late["p50_seconds"] <= late["p95_seconds"] <= late["max_seconds"]

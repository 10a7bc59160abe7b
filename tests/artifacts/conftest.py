"""Helpers of the artifact store tests: stored failing results and the two sides compared."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from monitor.artifacts.store import ArtifactStore
from monitor.store import ResultRecord, ResultStore
from monitor.store.artifacts import all_artifacts
from probes.base import Status


async def failed_result(store: ResultStore, check: str = "login", **fields: object) -> int:
    values: dict[str, object] = {
        "run_id": uuid.uuid4().hex,
        "check": check,
        "kind": "browser",
        "region": "eu",
        "started_at": datetime.now(UTC),
        "duration_ms": 12.0,
        "status": Status.FAIL,
        "attempts": 1,
        "message": "missing element #logged-in",
        "timings": {"total": 12.0},
        "assertions": [],
        "details": {},
        "artifacts": ["screenshot.png", "trace.zip"],
        **fields,
    }
    return await store.add(ResultRecord(**values))  # type: ignore[arg-type]


async def add_pair(artifacts: ArtifactStore, result_id: int, check: str = "login") -> None:
    """A failure's screenshot and trace."""
    await artifacts.add(result_id, check, "screenshot.png", b"\x89PNG-" + bytes(64), "image/png")
    await artifacts.add(
        result_id, check, "trace.zip", b"PK\x03\x04" + bytes(256), "application/zip"
    )


async def sides(artifacts: ArtifactStore) -> tuple[set[str], set[str]]:
    """The keys the store's rows name, and the keys the backend holds."""
    async with artifacts.results.connection("test") as conn:
        rows = {r.key for r in await all_artifacts(conn)}
    return rows, set(await artifacts.backend.keys())

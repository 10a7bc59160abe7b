"""A result's artifacts: rows in the result store, bytes in a backend, kept in step.

Every artifact is written to the backend first and recorded second, so a row never
names bytes that were not written; :meth:`ArtifactStore.prune` deletes past-retention
artifacts from both in one pass and sweeps what a crash left on either side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.artifacts.backend import ArtifactBackend, artifact_key, valid_name
from monitor.errors import ArtifactError, ArtifactMissing
from monitor.store import ResultStore, StoreError
from monitor.store.artifacts import (
    ArtifactRecord,
    all_artifacts,
    delete_artifact_keys,
    doomed_artifacts,
    result_artifacts,
    result_exists,
    upsert_artifact,
)

# A file younger than this without a row may be an ``add`` between its two writes.
ORPHAN_GRACE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What one prune deleted: past retention, and the strays of either side."""

    expired: int = 0
    rows_without_file: int = 0
    files_without_row: int = 0


class ArtifactStore:
    """Adds, lists, streams and prunes the artifacts of stored results."""

    def __init__(
        self,
        results: ResultStore,
        backend: ArtifactBackend,
        *,
        keep: int,
        max_age: timedelta,
    ) -> None:
        self.results = results
        self.backend = backend
        self.keep = keep
        self.max_age = max_age

    async def add(
        self, result_id: int, check: str, name: str, data: bytes, content_type: str
    ) -> ArtifactRecord:
        """Store one artifact of a stored result; idempotent: adding a name again replaces it."""
        key = artifact_key(result_id, name)
        record = ArtifactRecord(
            result_id=result_id,
            check=check,
            name=name,
            size=len(data),
            content_type=content_type,
            key=key,
            created_at=datetime.now(UTC),
        )
        await self.backend.put(key, data, content_type)
        try:
            async with self.results.connection("recording an artifact", write=True) as conn:
                await upsert_artifact(conn, record)
        except StoreError:
            # No file without a row.  (A row this replaced would be lost with it: the next
            # prune drops that row as one without a file.)
            await self.backend.delete([key])
            raise
        return record

    async def of_results(self, result_ids: Sequence[int]) -> dict[int, list[ArtifactRecord]]:
        """The artifacts of several results at once (for a page of results)."""
        async with self.results.connection("reading artifacts") as conn:
            return await result_artifacts(conn, result_ids)

    async def listing(self, result_id: int) -> list[ArtifactRecord]:
        """One result's artifacts; ``ArtifactMissing`` when no such result is stored."""
        async with self.results.connection("reading artifacts") as conn:
            if not await result_exists(conn, result_id):
                raise ArtifactMissing(f"no result {result_id}")
            return (await result_artifacts(conn, [result_id])).get(result_id, [])

    async def get(self, result_id: int, name: str) -> ArtifactRecord:
        """One artifact's record; ``ArtifactMissing`` for an unknown result or name."""
        if valid_name(name):
            for record in await self.listing(result_id):
                if record.name == name:
                    return record
        raise ArtifactMissing(f"result {result_id} has no artifact {name!r}")

    async def open(self, record: ArtifactRecord) -> AsyncIterator[bytes]:
        return await self.backend.open(record.key)

    def location(self, record: ArtifactRecord) -> str:
        return self.backend.location(record.key)

    async def prune(self, *, now: datetime | None = None) -> PruneReport:
        """Delete artifacts past ``keep``/``max_age`` (or of pruned results), rows and bytes
        together, then every row whose bytes are gone and every file without a row."""
        now = now or datetime.now(UTC)
        async with self.results.connection("pruning artifacts", write=True) as conn:
            doomed = await doomed_artifacts(conn, keep=self.keep, older_than=now - self.max_age)
            await delete_artifact_keys(conn, [r.key for r in doomed])
        # Rows went first: a failure here leaves files without rows, swept below next time.
        await self.backend.delete([r.key for r in doomed])
        # Rows are read before the files are listed: an ``add`` running meanwhile has put
        # its file before its row, so it is never mistaken for a row without a file.
        async with self.results.connection("reading artifacts") as conn:
            rows = await all_artifacts(conn)
        stored = await self.backend.keys()
        fileless = [r.key for r in rows if r.key not in stored]
        if fileless:
            async with self.results.connection("pruning artifacts", write=True) as conn:
                await delete_artifact_keys(conn, fileless)
        known = {r.key for r in rows}
        strays = [k for k, at in stored.items() if k not in known and at < now - ORPHAN_GRACE]
        await self.backend.delete(strays)
        return PruneReport(
            expired=len(doomed), rows_without_file=len(fileless), files_without_row=len(strays)
        )


__all__ = ["ArtifactError", "ArtifactMissing", "ArtifactRecord", "ArtifactStore", "PruneReport"]

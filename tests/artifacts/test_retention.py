"""Retention prunes rows and files in one pass: neither a row without a file nor a file
without a row is left, on SQLite and PostgreSQL, with the directory backend."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.artifacts.directory import DirectoryBackend
from monitor.artifacts.store import ArtifactStore
from monitor.store import ResultStore
from tests.artifacts.conftest import add_pair, failed_result, sides


def artifact_store(store: ResultStore, root: Path, *, keep: int = 50) -> ArtifactStore:
    return ArtifactStore(store, DirectoryBackend(root), keep=keep, max_age=timedelta(days=7))


def files(root: Path) -> set[str]:
    return {f"{p.parent.name}/{p.name}" for p in root.glob("*/*") if p.is_file()}


class TestCount:
    async def test_keeps_the_newest_failures_of_each_check(
        self, store: ResultStore, tmp_path: Path
    ) -> None:
        """keep: 2 leaves the two newest failing results of each check, rows and files alike."""
        artifacts = artifact_store(store, tmp_path / "a", keep=2)
        login = [await failed_result(store, "login") for _ in range(5)]
        home = [await failed_result(store, "home")]
        for result_id in login:
            await add_pair(artifacts, result_id, "login")
        await add_pair(artifacts, home[0], "home")

        report = await artifacts.prune()

        kept = {f"{i}/{n}" for i in [*login[-2:], *home] for n in ("screenshot.png", "trace.zip")}
        rows, stored = await sides(artifacts)
        assert report.expired == 6  # three older login failures, two files each
        assert rows == stored == kept == files(tmp_path / "a")
        assert await artifacts.listing(login[0]) == []


class TestAge:
    async def test_older_than_max_age_goes(self, store: ResultStore, tmp_path: Path) -> None:
        """Artifacts stay until max_age has passed, then go from the store and the disk."""
        artifacts = artifact_store(store, tmp_path / "a")
        result_id = await failed_result(store)
        await add_pair(artifacts, result_id)
        now = datetime.now(UTC)

        kept = await artifacts.prune(now=now + timedelta(days=7) - timedelta(minutes=1))
        assert kept.expired == 0
        assert len(files(tmp_path / "a")) == 2

        gone = await artifacts.prune(now=now + timedelta(days=7, minutes=1))
        rows, stored = await sides(artifacts)
        assert gone.expired == 2
        assert rows == stored == files(tmp_path / "a") == set()

    async def test_results_pruned_by_storage_retention_take_theirs(
        self, store: ResultStore, tmp_path: Path
    ) -> None:
        """A result deleted by storage.retention leaves no artifact behind."""
        artifacts = artifact_store(store, tmp_path / "a")
        old = await failed_result(store, started_at=datetime.now(UTC) - timedelta(days=100))
        new = await failed_result(store)
        await add_pair(artifacts, old)
        await add_pair(artifacts, new)
        await store.prune(datetime.now(UTC) - timedelta(days=90))

        await artifacts.prune()

        rows, stored = await sides(artifacts)
        assert rows == stored == {f"{new}/screenshot.png", f"{new}/trace.zip"}


class TestStrays:
    async def test_a_row_whose_file_is_gone_goes(self, store: ResultStore, tmp_path: Path) -> None:
        """A file deleted behind the store's back takes its row with it at the next prune."""
        artifacts = artifact_store(store, tmp_path / "a")
        result_id = await failed_result(store)
        await add_pair(artifacts, result_id)
        (tmp_path / "a" / str(result_id) / "trace.zip").unlink()

        report = await artifacts.prune()

        assert report.rows_without_file == 1
        assert [r.name for r in await artifacts.listing(result_id)] == ["screenshot.png"]

    async def test_an_old_file_without_a_row_goes(self, store: ResultStore, tmp_path: Path) -> None:
        """A stray file older than the grace period is deleted; a fresh one (an add in
        progress) is kept."""
        artifacts = artifact_store(store, tmp_path / "a")
        result_id = await failed_result(store)
        await add_pair(artifacts, result_id)
        old, fresh = tmp_path / "a" / "99" / "old.png", tmp_path / "a" / "98" / "fresh.png"
        for stray in (old, fresh):
            stray.parent.mkdir(parents=True)
            stray.write_bytes(b"stray")
        hour_ago = time.time() - 3600
        os.utime(old, (hour_ago, hour_ago))

        report = await artifacts.prune()

        assert report.files_without_row == 1
        assert not old.exists()
        assert fresh.exists()
        rows, _ = await sides(artifacts)
        assert rows == {f"{result_id}/screenshot.png", f"{result_id}/trace.zip"}

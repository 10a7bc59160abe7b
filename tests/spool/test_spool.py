"""Specifications of ``monitor.runtime.spool``: a bounded, durable, ordered file of results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.models import Storage
from monitor.runtime.spool import Spool, SpoolBusyError, spool_for, spool_path
from monitor.store import ResultRecord
from probes.base import Status
from tests.store.factory import T0, record


def records(count: int) -> list[ResultRecord]:
    return [
        record(
            check=f"c{i % 3}",
            started_at=T0 + timedelta(seconds=i),
            status=Status.FAIL if i % 2 else Status.PASS,
            timings={"total": 1.5 + i},
            assertions=[{"name": "status", "passed": True, "expected": 200, "actual": 200}],
            details={"status_code": 200, "nested": {"list": [1, "two"]}},
            artifacts=["shot.png"],
            wall_ms=20.0,
            wait_ms=3.25,
        )
        for i in range(count)
    ]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "results.db.spool"


class TestAppend:
    def test_results_come_back_whole_and_in_order(self, path: Path) -> None:
        """Every field of every appended result is read back, oldest first."""
        spool = Spool(path)
        written = records(5)
        for r in written:
            assert spool.append(r)
        assert spool.head(10) == written
        assert spool.head(2) == written[:2]
        assert spool.pending == 5
        assert spool.oldest_at == T0
        assert spool.spooled_total == 5

    def test_each_result_is_one_line_on_disk(self, path: Path) -> None:
        """The file is JSON lines, one result per line, written before append returns."""
        spool = Spool(path)
        for r in records(3):
            spool.append(r)
        lines = path.read_text().splitlines()
        assert len(lines) == 3
        assert all(line.startswith("{") and line.endswith("}") for line in lines)

    def test_a_full_spool_refuses_and_counts(self, path: Path) -> None:
        """Beyond ``max_results`` a result is refused (not written) and counted as dropped."""
        spool = Spool(path, max_results=2)
        outcome = [spool.append(r) for r in records(3)]
        assert outcome == [True, True, False]
        assert (spool.pending, spool.dropped_total) == (2, 1)
        assert len(path.read_text().splitlines()) == 2

    def test_nothing_is_created_until_used(self, path: Path) -> None:
        """An unused spool leaves no file and no lock behind."""
        spool = Spool(path)
        assert (spool.pending, spool.oldest_at) == (0, None)
        assert list(path.parent.iterdir()) == []

    def test_an_unwritable_spool_refuses_without_raising(self, tmp_path: Path) -> None:
        """A spool that cannot be written (here its directory is a file) drops and counts."""
        (tmp_path / "file").write_text("")
        spool = Spool(tmp_path / "file" / "sw.spool")
        assert not spool.append(records(1)[0])
        assert (spool.pending, spool.dropped_total) == (0, 1)


class TestDropHead:
    def test_drops_the_oldest_and_keeps_the_rest_on_disk(self, path: Path) -> None:
        """Dropping the head leaves the rest, in order, in the file a new owner reads."""
        spool = Spool(path)
        written = records(4)
        for r in written:
            spool.append(r)
        spool.drop_head(3)
        assert spool.head(10) == written[3:]
        assert spool.oldest_at == written[3].started_at
        assert spool.replayed_total == 3
        spool.close()
        again = Spool(path)
        assert again.claim()
        assert again.head(10) == written[3:]

    def test_dropping_everything_removes_the_file(self, path: Path) -> None:
        """An empty spool is no file at all."""
        spool = Spool(path)
        for r in records(2):
            spool.append(r)
        spool.drop_head(2)
        assert not path.exists()
        assert spool.pending == 0

    def test_set_aside_moves_the_oldest_to_a_side_file(self, path: Path) -> None:
        """A result the store refuses goes to ``<spool>.rejected``, out of the way."""
        spool = Spool(path)
        written = records(2)
        for r in written:
            spool.append(r)
        spool.set_aside(".rejected")
        assert spool.head(10) == written[1:]
        assert len((path.parent / (path.name + ".rejected")).read_text().splitlines()) == 1


class TestRecovery:
    def test_a_restarted_process_finds_what_was_left(self, path: Path) -> None:
        """Results spooled before a crash are there, in order, for the next owner."""
        first = Spool(path)
        written = records(3)
        for r in written:
            first.append(r)
        first.close()
        second = Spool(path)
        assert second.claim()
        assert second.head(10) == written
        assert second.oldest_at == T0

    def test_a_torn_last_line_is_skipped_and_does_not_swallow_the_next(self, path: Path) -> None:
        """A crash mid-write leaves half a line: it is dropped, and the next append reads back."""
        first = Spool(path)
        written = records(3)
        for r in written[:2]:
            first.append(r)
        first.close()
        with path.open("a") as handle:
            handle.write('{"run_id":"abc","check":')
        second = Spool(path)
        assert second.claim()
        assert second.skipped_lines == 1
        second.append(written[2])
        second.close()
        third = Spool(path)
        assert third.claim()
        assert third.head(10) == written


class TestOwnership:
    def test_one_process_owns_a_spool_file(self, path: Path) -> None:
        """A second spool on the same file refuses results until the owner lets go."""
        owner, other = Spool(path), Spool(path)
        assert owner.append(records(1)[0])
        assert not other.claim()
        assert not other.append(records(1)[0])
        assert other.dropped_total == 1
        owner.close()
        assert other.claim()
        assert other.pending == 1


class TestSlots:
    def test_each_sharing_replica_takes_its_own_file(self, path: Path) -> None:
        """With slots, a taken spool file sends the next claimant to ``<spool>.1``."""
        first, second = Spool(path, slots=3), Spool(path, slots=3)
        assert first.claim()
        assert second.claim()
        assert (first.path, second.path) == (path, path.with_name(path.name + ".1"))
        assert second.append(records(1)[0])
        assert first.pending == 0

    def test_a_freed_slot_is_taken_with_what_it_holds(self, path: Path) -> None:
        """A slot its holder let go of is the next claimant's, its results replayed by it."""
        first, second = Spool(path, slots=2), Spool(path, slots=2)
        first.claim()
        second.claim()
        assert second.append(records(1)[0])
        second.close()
        third = Spool(path, slots=2)
        assert third.claim()
        assert third.path == second.path
        assert third.pending == 1

    def test_all_slots_taken_names_the_directory_and_the_setting(self, path: Path) -> None:
        """When every slot is held, claiming fails naming the directory and storage.spool_path."""
        held = [Spool(path, slots=2) for _ in range(2)]
        assert all(spool.claim() for spool in held)
        with pytest.raises(SpoolBusyError) as caught:
            Spool(path, slots=2).claim()
        assert str(path.parent) in str(caught.value)
        assert "storage.spool_path" in str(caught.value)


class TestWhere:
    @pytest.mark.parametrize(
        ("configured", "sqlite", "expected"),
        [
            pytest.param("/spool/sw.jsonl", Path("/data/r.db"), "/spool/sw.jsonl", id="set"),
            pytest.param(None, Path("/data/r.db"), "/data/r.db.spool", id="beside-sqlite"),
            pytest.param(None, None, "smokewatch.spool", id="postgres-cwd"),
        ],
    )
    def test_spool_path(self, configured: str | None, sqlite: Path | None, expected: str) -> None:
        """``storage.spool_path``, else beside the SQLite file, else the working directory."""
        assert spool_path(configured, sqlite) == Path(expected)

    def test_in_memory_store_has_no_spool(self) -> None:
        """An in-memory SQLite store cannot be unreachable: no spool."""
        assert spool_for(Storage(url="sqlite://")) is None

    def test_storage_settings_reach_the_spool(self, tmp_path: Path) -> None:
        """``spool_path`` and ``spool_max`` come from the storage section."""
        spool = spool_for(
            Storage(
                url="postgresql://u@127.0.0.1/x",
                spool_path=str(tmp_path / "s.jsonl"),
                spool_max=7,
            )
        )
        assert spool is not None
        assert (spool.path, spool.max_results) == (tmp_path / "s.jsonl", 7)

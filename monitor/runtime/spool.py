"""A local durable spool: results the store could not take, kept in order until it can.

    spool = Spool(Path("smokewatch.spool"), max_results=10_000)
    spool.append(record)              # one fsync'd JSON line; False when full or not ours
    batch = spool.head(200)           # the oldest results, in the order they were spooled
    spool.drop_head(len(batch))       # once the store holds them

The file is append-only JSON lines, one result per line, fsync'd before ``append``
returns.  Dropping the head rewrites the rest to a temporary file that replaces the
spool atomically, so a crash leaves either the old or the new file, never a mix.  A
crash after the store took a batch but before ``drop_head`` leaves those results in
the spool: replaying them again is harmless, ``ResultStore.add`` is idempotent on
``(run_id, check, region)``.  A torn last line (a crash mid-write) is skipped.

One process owns a spool file at a time: an exclusive ``flock`` on ``<spool>.lock``,
taken on first use and held until :meth:`close`.  A second process (a standby on the
same host) finds it taken and spools nothing; when the owner dies the kernel drops
the lock and whoever uses the spool next takes over what it left.

Replicas sharing a region's checks (``scheduler.shard``) each run checks, so each needs
a spool even when several start in one directory with one config (pods do not share a
directory): such a spool has ``slots``.  :meth:`claim` takes the first free file of
``<spool>``, ``<spool>.1``, ... ``<spool>.<slots-1>`` (each with its own lock) and keeps
it, replaying whatever a previous holder of that slot left.  When every slot is taken it
raises :class:`SpoolBusyError`, naming the directory and the setting to change.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from monitor.config.models import Storage
from monitor.errors import MonitorError
from monitor.store import ResultRecord, database_url
from monitor.store.urls import sqlite_file
from probes.base import Status
from probes.reasons import FailureReason

DEFAULT_MAX_RESULTS = 10_000
DEFAULT_NAME = "smokewatch.spool"
SHARD_SLOTS = 16  # sharing replicas one directory holds before start-up refuses a 17th


class SpoolBusyError(MonitorError):
    """Every slot of a sharing replica's spool is held by another process."""


def spool_path(configured: str | None, database_file: Path | None) -> Path:
    """``storage.spool_path`` if set, else ``<SQLite file>.spool``, else ``./smokewatch.spool``."""
    if configured:
        return Path(configured)
    if database_file is not None:
        return database_file.with_name(database_file.name + ".spool")
    return Path(DEFAULT_NAME)


def spool_for(storage: Storage, *, slots: int = 1) -> Spool | None:
    """The spool ``storage`` asks for; ``None`` for an in-memory SQLite store without a
    ``spool_path`` (nothing can be unreachable, and nothing outlives the process)."""
    url = make_url(database_url(storage.url))
    path = sqlite_file(url)
    if path is None and url.get_backend_name() == "sqlite" and not storage.spool_path:
        return None
    return Spool(spool_path(storage.spool_path, path), max_results=storage.spool_max, slots=slots)


def to_line(record: ResultRecord) -> str:
    fields = asdict(record)
    fields.pop("id")
    fields["started_at"] = record.started_at.isoformat()
    fields["status"] = Status(record.status).value
    return json.dumps(fields, separators=(",", ":"), default=str) + "\n"


def from_line(line: str) -> ResultRecord:
    fields: dict[str, Any] = json.loads(line)
    fields["started_at"] = datetime.fromisoformat(fields["started_at"])
    fields["status"] = Status(fields["status"])
    if fields.get("reason"):
        fields["reason"] = FailureReason(fields["reason"])
    return ResultRecord(**fields)


class Spool:
    """Results waiting for the store, oldest first; at most ``max_results`` of them."""

    def __init__(
        self, path: Path, *, max_results: int = DEFAULT_MAX_RESULTS, slots: int = 1
    ) -> None:
        self.path = path
        self.slots = slots  # >1: a taken file moves this process on to the next slot
        self.max_results = max_results
        self.spooled_total = 0  # appended since this process started
        self.dropped_total = 0  # refused: spool full or owned by another process
        self.replayed_total = 0  # dropped from the head once stored
        self._lines: list[str] = []
        self._oldest: list[datetime] = []  # started_at of each line, same order
        self._lock_fd: int | None = None
        self.skipped_lines = 0  # unreadable lines found when the file was loaded

    @property
    def pending(self) -> int:
        """Results waiting for the store."""
        return len(self._lines)

    @property
    def oldest_at(self) -> datetime | None:
        """When the oldest waiting result started, or ``None`` when nothing waits."""
        return self._oldest[0] if self._oldest else None

    @property
    def owned(self) -> bool:
        """Whether this process holds the spool's lock (and so may append and replay)."""
        return self._lock_fd is not None

    def claim(self) -> bool:
        """Take the spool's lock if free and load what a previous owner left; ``True`` if ours.

        With ``slots``, the first free slot becomes this spool's ``path``; all taken raises
        :class:`SpoolBusyError`.
        """
        if self._lock_fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        base = self.path
        for slot in range(self.slots):
            path = base if slot == 0 else base.with_name(f"{base.name}.{slot}")
            fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.path, self._lock_fd = path, fd
            self._load()
            return True
        if self.slots > 1:
            raise SpoolBusyError(
                f"all {self.slots} spool files {base}[.1-{self.slots - 1}] in {base.parent} "
                "are held by other smokewatch processes; give this replica its own "
                "storage.spool_path"
            )
        return False

    def append(self, record: ResultRecord) -> bool:
        """Write ``record`` durably at the tail; ``False`` (nothing written) when the spool
        is full, owned by another process, or cannot be written (a full disk)."""
        line = to_line(record)
        try:
            written = (
                self.claim() and len(self._lines) < self.max_results and self._write_tail(line)
            )
        except OSError:
            written = False
        if not written:
            self.dropped_total += 1
            return False
        self._lines.append(line)
        self._oldest.append(record.started_at)
        self.spooled_total += 1
        return True

    def _write_tail(self, line: str) -> bool:
        data = line.encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)  # no torn line for the next append to run into
                return False
        finally:
            os.close(fd)
        return True

    def head(self, count: int) -> list[ResultRecord]:
        """The ``count`` oldest waiting results, oldest first."""
        return [from_line(line) for line in self._lines[:count]]

    def drop_head(self, count: int) -> None:
        """Forget the ``count`` oldest results (the store has them): rewrite the rest atomically."""
        if count <= 0:
            return
        rest = self._lines[count:]
        self._rewrite(rest)
        self._lines = rest
        self._oldest = self._oldest[count:]
        self.replayed_total += count

    def set_aside(self, suffix: str) -> None:
        """Move the oldest result to ``<spool><suffix>`` (the store refuses it) and drop it."""
        if not self._lines:
            return
        with self.path.with_name(self.path.name + suffix).open("a", encoding="utf-8") as handle:
            handle.write(self._lines[0])
            handle.flush()
            os.fsync(handle.fileno())
        rest = self._lines[1:]
        self._rewrite(rest)
        self._lines = rest
        self._oldest = self._oldest[1:]

    def close(self) -> None:
        """Release the lock; what is left stays in the file for the next owner."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def _load(self) -> None:
        self._lines, self._oldest = [], []
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            raw = handle.readlines()
        for line in raw:
            try:
                record = from_line(line)
            except (ValueError, TypeError, KeyError):
                self.skipped_lines += 1  # a torn last line, or not ours
                continue
            self._lines.append(line if line.endswith("\n") else line + "\n")
            self._oldest.append(record.started_at)
        if self._lines != raw:
            self._rewrite(self._lines)  # a torn tail would swallow the next append

    def _rewrite(self, lines: list[str]) -> None:
        if not lines:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            _fsync_dir(self.path.parent)
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)
        _fsync_dir(self.path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""Failure artifacts of browser checks: a screenshot and a Playwright trace, kept a while.

File names are ``<check>-<UTC timestamp>-<short id>.{png,zip,txt}``: nothing from the
page or the config's values, so never a secret.  A trace records what was typed,
sent and received (the login form's password, the session cookie), so credentials
are scrubbed out of the trace's files before it is kept (:mod:`probes.scrub`).
Only the newest ``keep`` failures are kept.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from probes.scrub import TraceScrubber

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_SUFFIXES: Final = (".png", ".zip", ".txt")


def scrub_zip(
    source: Path, target: Path, secrets: Iterable[str], secret_fields: Iterable[str] = ()
) -> None:
    """Copy the trace zip ``source`` to ``target`` with every credential masked."""
    TraceScrubber(secrets, secret_fields).scrub_zip(source, target)


class ArtifactStore:
    """A directory of failure artifacts holding at most the ``keep`` newest failures."""

    def __init__(self, directory: str | Path, *, keep: int = 50) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.directory = Path(directory)
        self.keep = keep

    def new_stem(self, check_name: str) -> Path:
        """A fresh path without suffix for one failure's files."""
        safe = _UNSAFE.sub("_", check_name).strip("_")[:80] or "check"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self.directory / f"{safe}-{stamp}-{uuid.uuid4().hex[:8]}"

    async def save_screenshot(self, stem: Path, png: bytes) -> Path:
        path = stem.parent / f"{stem.name}.png"
        await asyncio.to_thread(self._write, path, png)
        return path

    async def save(self, stem: Path, suffix: str, data: bytes) -> Path:
        """Any other evidence of one failure (``.txt``: a response excerpt)."""
        path = stem.parent / f"{stem.name}{suffix}"
        await asyncio.to_thread(self._write, path, data)
        return path

    async def save_trace(
        self,
        stem: Path,
        raw_trace: Path,
        secrets: Iterable[str],
        secret_fields: Iterable[str] = (),
    ) -> Path:
        path = stem.parent / f"{stem.name}.zip"
        scrubber = TraceScrubber(secrets, secret_fields)
        await asyncio.to_thread(self._scrub_into, raw_trace, path, scrubber)
        return path

    async def prune(self) -> list[Path]:
        """Delete all but the newest ``keep`` failures' files; return what was deleted."""
        return await asyncio.to_thread(self._prune)

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def _scrub_into(self, raw: Path, path: Path, scrubber: TraceScrubber) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            scrubber.scrub_zip(raw, path)
        finally:
            raw.unlink(missing_ok=True)

    def _prune(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        groups: dict[str, list[Path]] = {}
        for path in self.directory.iterdir():
            if path.suffix in _SUFFIXES and path.is_file():
                groups.setdefault(path.stem, []).append(path)

        def newest(stem: str) -> float:
            return max(p.stat().st_mtime for p in groups[stem])

        doomed = sorted(groups, key=newest, reverse=True)[self.keep :]
        deleted: list[Path] = []
        for stem in doomed:
            for path in groups[stem]:
                path.unlink(missing_ok=True)
                deleted.append(path)
        return deleted

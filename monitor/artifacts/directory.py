"""The default artifact backend: files under one directory, ``<root>/<result id>/<name>``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from monitor.artifacts.backend import CHUNK_BYTES, stream_chunks
from monitor.errors import ArtifactError, ArtifactMissing


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        raise ArtifactMissing(f"{action}: no such artifact") from exc
    except OSError as exc:
        raise ArtifactError(f"{action} failed: {exc.strerror or exc}") from exc


class DirectoryBackend:
    """Artifacts as files; written to a temporary name and renamed, so never seen half-written."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    def path(self, key: str) -> Path:
        return self.root / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        with _translated(f"writing artifact {key}"):
            await asyncio.to_thread(self._write, self.path(key), data)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        with _translated(f"reading artifact {key}"):
            handle = await asyncio.to_thread(self.path(key).open, "rb")
        return stream_chunks(lambda: self._read(key, handle), handle.close)

    @staticmethod
    async def _read(key: str, handle: BinaryIO) -> bytes:
        with _translated(f"reading artifact {key}"):
            return await asyncio.to_thread(handle.read, CHUNK_BYTES)

    async def delete(self, keys: Sequence[str]) -> None:
        with _translated("deleting artifacts"):
            await asyncio.to_thread(self._delete, list(keys))

    async def keys(self) -> dict[str, datetime]:
        with _translated("listing artifacts"):
            return await asyncio.to_thread(self._keys)

    def location(self, key: str) -> str:
        return str(self.path(key))

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        partial.write_bytes(data)
        os.replace(partial, path)

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            path = self.path(key)
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # the result's directory, once empty
                path.parent.rmdir()

    def _keys(self) -> dict[str, datetime]:
        if not self.root.is_dir():
            return {}
        out: dict[str, datetime] = {}
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.is_file() and not path.name.startswith("."):
                    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                    out[f"{folder.name}/{path.name}"] = mtime
        return out

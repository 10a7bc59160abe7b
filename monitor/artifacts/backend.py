"""What an artifact backend does: keep bytes under a key, stream them back, forget them.

Keys are ``<result id>/<name>``, made by :func:`artifact_key` from a checked name
only, so a key never climbs out of its backend's root.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final, Protocol

CHUNK_BYTES: Final = 64 * 1024
# A name is one path segment of our own making: no slash, no leading dot, no "..".
NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_NAME = re.compile(NAME_PATTERN)


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name)) and ".." not in name


def artifact_key(result_id: int, name: str) -> str:
    if not valid_name(name):
        raise ValueError(f"artifact name {name!r} must match {NAME_PATTERN} without '..'")
    return f"{int(result_id)}/{name}"


async def stream_chunks(
    read: Callable[[], Awaitable[bytes]], close: Callable[[], object]
) -> AsyncIterator[bytes]:
    """Yield ``read()`` until it returns nothing, then ``close()`` (also when abandoned)."""
    try:
        while chunk := await read():
            yield chunk
    finally:
        close()


class ArtifactBackend(Protocol):
    """Where artifact bytes live.  Every failure is raised as ``ArtifactError``."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there."""

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The bytes under ``key`` in chunks; raises ``ArtifactMissing`` before the first."""

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete ``keys``; a key already gone is no error."""

    async def keys(self) -> dict[str, datetime]:
        """Every stored key and when it was written (tz-aware UTC)."""

    def location(self, key: str) -> str:
        """Where a CI server finds the artifact: an absolute path, or a URL."""

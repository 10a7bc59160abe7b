"""Move one run's evidence into the artifact store, or keep it on disk when nothing is stored.

A browser check leaves its screenshot and trace as files in ``runner.artifacts_dir``;
an HTTP check leaves ``response.txt`` in memory.  Stored runs get them as artifacts of
their result (the scratch files are deleted once stored); ``smokewatch check``, which
stores nothing, writes the in-memory ones next to the browser's files.  Evidence is a
help, never part of the verdict: a failure here is logged and the run stands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from monitor.artifacts.links import ArtifactLink, artifact_url
from monitor.artifacts.store import ArtifactStore
from monitor.errors import ArtifactError
from monitor.store import StoreError
from probes.base import Attachment, ProbeResult
from probes.browser_artifacts import ArtifactStore as ScratchDirectory

# A scratch file's suffix -> its artifact name and content type.
FILE_KINDS: Final = {
    ".png": ("screenshot.png", "image/png"),
    ".zip": ("trace.zip", "application/zip"),
    ".txt": ("response.txt", "text/plain; charset=utf-8"),
}
_OTHER = ("application/octet-stream",)


def artifact_names(files: Sequence[str], attachments: Sequence[Attachment] = ()) -> list[str]:
    """The names evidence is stored under (the ``artifacts`` of a stored record)."""
    names = [FILE_KINDS.get(Path(p).suffix, (Path(p).name,))[0] for p in files]
    return names + [a.name for a in attachments]


async def store_evidence(
    store: ArtifactStore,
    result_id: int,
    check: str,
    *,
    files: Sequence[str],
    attachments: Sequence[Attachment] = (),
    public_url: str | None,
    log: Any,
) -> tuple[ArtifactLink, ...]:
    """Store scratch ``files`` and in-memory ``attachments`` as artifacts of ``result_id``;
    each file is deleted once stored."""
    pieces: list[tuple[str, str, bytes, Path | None]] = [
        (a.name, a.content_type, a.data, None) for a in attachments
    ]
    for raw in files:
        path = Path(raw)
        name, content_type = FILE_KINDS.get(path.suffix, (path.name, *_OTHER))
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            log.warning("artifact.unreadable", check=check, name=name, reason=str(exc))
            continue
        pieces.append((name, content_type, data, path))
    links: list[ArtifactLink] = []
    for name, content_type, data, scratch in pieces:
        try:
            record = await store.add(result_id, check, name, data, content_type)
        except (ArtifactError, StoreError, ValueError) as exc:
            log.warning("artifact.not_stored", check=check, name=name, reason=str(exc))
            continue
        if scratch is not None:
            scratch.unlink(missing_ok=True)
        links.append(
            ArtifactLink(
                name=name,
                size=record.size,
                content_type=content_type,
                url=artifact_url(public_url, result_id, name),
                location=store.location(record),
            )
        )
    return tuple(links)


async def keep_on_disk(
    scratch: ScratchDirectory, check: str, result: ProbeResult
) -> tuple[ArtifactLink, ...]:
    """Links to a run's evidence as local files, writing the in-memory pieces next to the rest."""
    paths = [Path(p) for p in result.artifacts]
    if result.attachments:
        stem = scratch.new_stem(check)
        for attachment in result.attachments:
            suffix = Path(attachment.name).suffix or ".bin"
            paths.append(await scratch.save(stem, suffix, attachment.data))
        await scratch.prune()
    links = []
    for path in paths:
        name, content_type = FILE_KINDS.get(path.suffix, (path.name, *_OTHER))
        size = path.stat().st_size if path.is_file() else 0
        links.append(ArtifactLink(name, size, content_type, None, str(path.absolute())))
    return tuple(links)

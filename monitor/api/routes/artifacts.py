"""``/api/v1/results/{id}/artifacts``: a result's failure artifacts, listed and streamed.

Always behind the bearer token unless ``api.public_artifacts`` is true: a screenshot
or a response excerpt can show what a public status page must not.  A name is one
segment of our own making (``screenshot.png``, ``trace.zip``, ``response.txt``);
anything else (``..``, an encoded slash, an absolute path) is a 404 before any
backend is asked, so no request reads outside the result's artifacts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import StreamingResponse

from monitor.api.auth import artifact_guard
from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.models import ArtifactItem, ArtifactList
from monitor.api.routes import READ_ERRORS, errors
from monitor.artifacts.links import artifact_url
from monitor.errors import ArtifactError, ArtifactMissing
from monitor.store.artifacts import ArtifactRecord

MAX_ID = 2**63 - 1
# Shown in the browser; anything else is downloaded.
_INLINE = ("image/png", "text/plain")

ResultId = Annotated[int, Path(ge=1, le=MAX_ID, description="the result's id")]
Name = Annotated[str, Path(max_length=200, description="the artifact's name")]


def artifact_items(records: list[ArtifactRecord], public_url: str | None) -> list[ArtifactItem]:
    return [
        ArtifactItem(
            name=r.name,
            size=r.size,
            content_type=r.content_type,
            url=artifact_url(public_url, r.result_id, r.name),
        )
        for r in records
    ]


def _unavailable(exc: ArtifactError) -> ApiError:
    return ApiError(503, "artifacts_unavailable", "the artifact backend cannot be reached")


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(
        prefix="/api/v1/results",
        tags=["artifacts"],
        dependencies=[Depends(artifact_guard(ctx))],
    )

    @api.get(
        "/{result_id}/artifacts",
        summary="A result's failure artifacts",
        response_model=ArtifactList,
        responses=errors(404, 422, *READ_ERRORS),
    )
    async def list_artifacts(result_id: ResultId) -> ArtifactList:
        """Name, size, content type and link of each artifact (empty for a passing run)."""
        try:
            records = await ctx.artifacts().listing(result_id)
        except ArtifactMissing:
            raise ApiError(404, "unknown_result", f"no result {result_id}") from None
        return ArtifactList(
            result_id=result_id, artifacts=artifact_items(records, ctx.settings.public_url)
        )

    @api.get(
        "/{result_id}/artifacts/{name}",
        summary="One artifact's bytes",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"application/octet-stream": {}}, "description": "the bytes"},
            **errors(404, 422, *READ_ERRORS),
        },
    )
    async def get_artifact(result_id: ResultId, name: Name) -> StreamingResponse:
        """Streamed with its content type; PNG and text inline, the rest as a download."""
        store = ctx.artifacts()
        try:
            record = await store.get(result_id, name)
            chunks = await store.open(record)
        except ArtifactMissing:
            raise ApiError(
                404, "unknown_artifact", f"result {result_id} has no artifact {name!r}"
            ) from None
        except ArtifactError as exc:
            ctx.log.warning("artifact.unreadable", result_id=result_id, reason=str(exc))
            raise _unavailable(exc) from exc
        disposition = "inline" if record.content_type.startswith(_INLINE) else "attachment"
        return StreamingResponse(
            _guarded(chunks, ctx, record),
            media_type=record.content_type,
            headers={
                "Content-Length": str(record.size),
                "Content-Disposition": f'{disposition}; filename="{record.name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=3600",
            },
        )

    return api


async def _guarded(
    chunks: AsyncIterator[bytes], ctx: ApiContext, record: ArtifactRecord
) -> AsyncIterator[bytes]:
    """The bytes; a backend failing mid-stream is logged (the status line is already sent)."""
    try:
        async for chunk in chunks:
            yield chunk
    except ArtifactError as exc:
        ctx.log.warning("artifact.stream_failed", key=record.key, reason=str(exc))
        raise

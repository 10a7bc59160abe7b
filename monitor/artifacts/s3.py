"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, R2, ...): ``<prefix><result id>/<name>``.

boto3 is an optional extra (``pip install 'smokewatch[s3]'``); it is imported only when
this backend is built.  Its blocking calls run in threads; its errors become
``ArtifactError`` here, at the boundary.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.artifacts.backend import CHUNK_BYTES, stream_chunks
from monitor.awsclient import aws_client
from monitor.config.artifacts import ArtifactSettings
from monitor.errors import ArtifactError, ArtifactMissing

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _client(settings: ArtifactSettings) -> S3Client:
    client: S3Client = aws_client(
        "s3",
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        access_key_id=settings.access_key_id,
        secret_access_key=settings.secret_access_key,
        # Fail fast: a run's alerts wait for its evidence (Runtime's EVIDENCE_TIMEOUT_S).
        config={
            "connect_timeout": 3,
            "read_timeout": 10,
            "retries": {"max_attempts": 2, "mode": "standard"},
        },
        error=ArtifactError,
        missing_boto3=(
            "artifacts.backend is s3 but boto3 is not installed: pip install 'smokewatch[s3]'"
        ),
        missing_region="artifacts.region is not set and boto3 found no region",
    )
    return client


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class S3Backend:
    """One bucket and prefix.  ``location`` is the object's URL (path-style on an endpoint)."""

    def __init__(self, settings: ArtifactSettings, client: S3Client | None = None) -> None:
        if not settings.bucket:
            raise ArtifactError("artifacts.bucket is required with the s3 backend")
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self._endpoint = settings.endpoint_url
        self._region = settings.region
        self._client = client if client is not None else _client(settings)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call(
            f"writing artifact {key}",
            lambda: self._client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType=content_type
            ),
        )

    async def open(self, key: str) -> AsyncIterator[bytes]:
        response = await self._call(
            f"reading artifact {key}",
            lambda: self._client.get_object(Bucket=self.bucket, Key=self.prefix + key),
        )
        body: Any = response["Body"]

        def read() -> Awaitable[bytes]:
            return self._call(f"reading artifact {key}", lambda: body.read(CHUNK_BYTES))

        return stream_chunks(read, body.close)

    async def delete(self, keys: Sequence[str]) -> None:
        full = [self.prefix + key for key in keys]
        for start in range(0, len(full), _DELETE_BATCH):
            batch = full[start : start + _DELETE_BATCH]
            await self._call(
                "deleting artifacts",
                lambda batch=batch: self._client.delete_objects(  # type: ignore[misc]
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                ),
            )

    async def keys(self) -> dict[str, datetime]:
        return await self._call("listing artifacts", self._list)

    def location(self, key: str) -> str:
        if self._endpoint:
            return f"{self._endpoint.rstrip('/')}/{self.bucket}/{self.prefix}{key}"
        region = self._region or "us-east-1"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{self.prefix}{key}"

    def _list(self) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                out[key] = item["LastModified"].astimezone(UTC)
        return out

    async def _call(self, action: str, call: Callable[[], T]) -> T:
        with _translated(action):
            return await asyncio.to_thread(call)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except ArtifactError:
        raise
    except Exception as exc:  # botocore is optional: its error classes cannot be named here
        if _code(exc) in _MISSING:
            raise ArtifactMissing(f"{action}: no such artifact") from exc
        raise ArtifactError(f"{action} failed: {type(exc).__name__}: {exc}") from exc

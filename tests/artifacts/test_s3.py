"""The S3 backend against moto's S3 server over real HTTP: store, list, stream, prune."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.artifacts.s3 import S3Backend
from monitor.artifacts.store import ArtifactStore
from monitor.errors import ArtifactError, ArtifactMissing
from monitor.store import ResultStore
from tests.artifacts.conftest import add_pair, failed_result, sides
from tests.support.s3 import Bucket

SIZES = {"empty": 0, "1KiB": 1024, "3MiB": 3 * 1024 * 1024}


async def read_all(backend: S3Backend, key: str) -> bytes:
    return b"".join([chunk async for chunk in await backend.open(key)])


class TestBackend:
    @pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
    async def test_bytes_round_trip(self, bucket: Bucket, size: int) -> None:
        """What is put under a key streams back byte for byte, under the configured prefix."""
        backend = S3Backend(bucket.settings(prefix="team-a/"))
        data = os.urandom(size)
        await backend.put("7/trace.zip", data, "application/zip")
        assert await read_all(backend, "7/trace.zip") == data
        assert bucket.object_keys() == {"team-a/7/trace.zip"}
        assert set(await backend.keys()) == {"7/trace.zip"}
        head = bucket.client().head_object(Bucket=bucket.name, Key="team-a/7/trace.zip")
        assert head["ContentType"] == "application/zip"

    async def test_a_missing_key_is_artifact_missing(self, bucket: Bucket) -> None:
        """Reading a key never written raises ArtifactMissing (the API's 404)."""
        with pytest.raises(ArtifactMissing):
            await S3Backend(bucket.settings()).open("1/screenshot.png")

    async def test_an_unknown_bucket_is_an_artifact_error(self, bucket: Bucket) -> None:
        """A bucket that does not exist is the backend failing, not a missing artifact."""
        backend = S3Backend(bucket.settings(bucket=bucket.name + "-absent"))
        with pytest.raises(ArtifactError) as caught:
            await backend.put("1/response.txt", b"x", "text/plain")
        assert not isinstance(caught.value, ArtifactMissing)

    async def test_location_is_the_object_url(self, bucket: Bucket) -> None:
        """JUnit attaches this URL: endpoint, bucket, prefix and key, path-style."""
        backend = S3Backend(bucket.settings())
        assert backend.location("3/trace.zip") == (
            f"{bucket.endpoint_url}/{bucket.name}/smokewatch/3/trace.zip"
        )


class TestStore:
    async def test_store_list_prune_keep_rows_and_objects_in_step(
        self, bucket: Bucket, tmp_path: Path
    ) -> None:
        """keep and max_age prune rows and bucket objects together."""
        async with await ResultStore.open(f"sqlite:///{tmp_path / 'r.db'}") as store:
            artifacts = ArtifactStore(
                store, S3Backend(bucket.settings()), keep=1, max_age=timedelta(days=1)
            )
            first, second = await failed_result(store), await failed_result(store)
            await add_pair(artifacts, first)
            await add_pair(artifacts, second)
            assert [r.name for r in await artifacts.listing(second)] == [
                "screenshot.png",
                "trace.zip",
            ]
            record = await artifacts.get(second, "trace.zip")
            body = b"".join([c async for c in await artifacts.open(record)])
            assert body.startswith(b"PK\x03\x04")
            assert len(body) == record.size

            report = await artifacts.prune()
            rows, stored = await sides(artifacts)
            assert report.expired == 2
            assert rows == stored == {f"{second}/screenshot.png", f"{second}/trace.zip"}
            assert bucket.object_keys() == {f"smokewatch/{k}" for k in rows}

            await artifacts.prune(now=datetime.now(UTC) + timedelta(days=2))
            assert await sides(artifacts) == (set(), set())
            assert bucket.object_keys() == set()

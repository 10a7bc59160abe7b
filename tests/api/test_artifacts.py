"""Specifications of ``/api/v1/results/{id}/artifacts``: guarded, exact bytes, nothing outside."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from monitor.artifacts.build import build_artifact_store, directory_root
from monitor.store.artifacts import ArtifactRecord
from probes.base import Status
from tests.api.conftest import TOKEN, LiveApi, StartApi, result, seed

WITH_TOKEN = "token: ${API_TOKEN}\n"
SIZES = {"empty": 0, "1KiB": 1024, "3MiB": 3 * 1024 * 1024}


def add_artifact(
    api: LiveApi, result_id: int, name: str, data: bytes, ctype: str
) -> ArtifactRecord:
    """Store an artifact of a stored result through the service's own store and backend."""

    async def add() -> ArtifactRecord:
        store = build_artifact_store(api.service.loaded.config, api.service.store)
        return await store.add(result_id, "health", name, data, ctype)

    return api.call(add)


def failed_result(api: LiveApi) -> int:
    [result_id] = seed(api, result(status=Status.FAIL, message="status: expected 200, got 500"))
    return result_id


def raw_get(client: httpx.Client, raw_path: str) -> httpx.Response:
    """A GET whose path is sent byte for byte (httpx would resolve ``..`` otherwise)."""
    request = client.build_request("GET", "/")
    request.url = request.url.copy_with(raw_path=raw_path.encode())
    return client.send(request)


class TestAuth:
    @pytest.mark.parametrize(
        ("api_block", "token", "status"),
        [
            pytest.param("", None, 403, id="no-token-configured"),
            pytest.param(WITH_TOKEN, None, 401, id="no-header"),
            pytest.param(WITH_TOKEN, "wrong", 401, id="wrong-token"),
            pytest.param(WITH_TOKEN, TOKEN, 200, id="right-token"),
            pytest.param("public_artifacts: true\n", None, 200, id="public-artifacts"),
        ],
    )
    def test_listing_and_bytes_need_the_token(
        self, start_api: StartApi, api_block: str, token: str | None, status: int
    ) -> None:
        """Artifacts need the bearer token even with public reads, unless public_artifacts."""
        api = start_api(api=api_block)
        result_id = failed_result(api)
        add_artifact(api, result_id, "response.txt", b"HTTP/1.1 500\n", "text/plain")
        with api.client(token) as client:
            listing = client.get(f"/api/v1/results/{result_id}/artifacts")
            body = client.get(f"/api/v1/results/{result_id}/artifacts/response.txt")
            results = client.get("/api/v1/checks/health/results").json()["results"]
        assert (listing.status_code, body.status_code) == (status, status)
        # The result JSON is public, its artifact links only to those allowed to follow them.
        assert len(results[0]["artifacts"]) == (1 if status == 200 else 0)


class TestServing:
    @pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
    def test_bytes_come_back_exactly(self, start_api: StartApi, size: int) -> None:
        """0 B, 1 KiB and 3 MiB artifacts are listed with their size and served byte for byte."""
        api = start_api(api=WITH_TOKEN + "public_url: https://status.example.com/\n")
        result_id = failed_result(api)
        data = os.urandom(size)
        add_artifact(api, result_id, "trace.zip", data, "application/zip")
        with api.client(TOKEN) as client:
            [item] = client.get(f"/api/v1/results/{result_id}/artifacts").json()["artifacts"]
            response = client.get(f"/api/v1/results/{result_id}/artifacts/trace.zip")
        assert item == {
            "name": "trace.zip",
            "size": size,
            "content_type": "application/zip",
            "url": f"https://status.example.com/api/v1/results/{result_id}/artifacts/trace.zip",
        }
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"] == 'attachment; filename="trace.zip"'

    def test_a_screenshot_is_shown_inline(self, start_api: StartApi) -> None:
        """A PNG is served inline with its type, so a link opens the picture."""
        api = start_api(api=WITH_TOKEN)
        result_id = failed_result(api)
        add_artifact(api, result_id, "screenshot.png", b"\x89PNG\r\n\x1a\nxx", "image/png")
        with api.client(TOKEN) as client:
            response = client.get(f"/api/v1/results/{result_id}/artifacts/screenshot.png")
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"] == 'inline; filename="screenshot.png"'
        assert response.headers["x-content-type-options"] == "nosniff"


class TestNotFound:
    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/api/v1/results/999999/artifacts", id="unknown-result-list"),
            pytest.param("/api/v1/results/999999/artifacts/response.txt", id="unknown-result"),
            pytest.param("/api/v1/results/{id}/artifacts/screenshot.png", id="unknown-name"),
        ],
    )
    def test_unknown_is_404(self, start_api: StartApi, path: str) -> None:
        """An unknown result or name is a JSON 404 naming what is missing."""
        api = start_api(api=WITH_TOKEN)
        result_id = failed_result(api)
        add_artifact(api, result_id, "response.txt", b"x", "text/plain")
        with api.client(TOKEN) as client:
            response = client.get(path.replace("{id}", str(result_id)))
        assert response.status_code == 404
        assert response.json()["error"]["code"] in {"unknown_result", "unknown_artifact"}

    def test_a_passing_result_lists_nothing(self, start_api: StartApi) -> None:
        """A stored result without artifacts lists an empty set (200, not 404)."""
        api = start_api(api=WITH_TOKEN)
        [result_id] = seed(api, result())
        with api.client(TOKEN) as client:
            response = client.get(f"/api/v1/results/{result_id}/artifacts")
        assert response.json() == {"result_id": result_id, "artifacts": []}


class TestTraversal:
    @pytest.mark.parametrize(
        "name",
        [
            "..%2F..%2Fsecret.txt",
            "..%2Fsecret.txt",
            "%2E%2E%2Fsecret.txt",
            "..",
            "%2E%2E",
            "..%5Csecret.txt",
            "%2Fetc%2Fpasswd",
            "%2F..%2Fsecret.txt",
            "response.txt%00",
            ".response.txt",
            "../../secret.txt",
            "../../../../etc/passwd",
        ],
    )
    def test_no_name_reads_outside(self, start_api: StartApi, tmp_path: Path, name: str) -> None:
        """Dot segments, encoded slashes, absolute and hidden names are 4xx, never a file."""
        api = start_api(api=WITH_TOKEN)
        result_id = failed_result(api)
        add_artifact(api, result_id, "response.txt", b"fine", "text/plain")
        root = directory_root(api.service.loaded.config)
        planted = b"outside-the-artifacts-" + os.urandom(8).hex().encode()
        (root / "secret.txt").write_bytes(planted)  # the store's root, above the result's dir
        (root.parent / "secret.txt").write_bytes(planted)
        with api.client(TOKEN) as client:
            response = raw_get(client, f"/api/v1/results/{result_id}/artifacts/{name}")
        assert response.status_code in {400, 404, 422}
        assert planted not in response.content
        assert b"root:" not in response.content


class TestStatusPage:
    @pytest.mark.parametrize(
        ("api_block", "token", "linked"),
        [
            pytest.param(WITH_TOKEN, None, False, id="public-reader"),
            pytest.param(WITH_TOKEN, "wrong", False, id="wrong-token"),
            pytest.param(WITH_TOKEN, TOKEN, True, id="token-holder"),
            pytest.param("public_artifacts: true\n", None, True, id="public-artifacts"),
        ],
    )
    def test_links_only_for_readers_allowed_to_follow_them(
        self, start_api: StartApi, api_block: str, token: str | None, linked: bool
    ) -> None:
        """The page links the newest failure's artifacts for token holders only, unless
        api.public_artifacts; each reader gets their own cached page."""
        api = start_api(api=api_block + "page_cache: 30s\n")
        result_id = failed_result(api)
        add_artifact(api, result_id, "screenshot.png", b"\x89PNG", "image/png")
        link = f'href="/api/v1/results/{result_id}/artifacts/screenshot.png"'
        with api.client() as anonymous:
            anonymous.get("/")  # cached first: the next reader must not get this page
        with api.client(token) as client:
            page = client.get("/").text
        assert (link in page) is linked

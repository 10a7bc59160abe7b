"""Specifications of the bearer-token guards: writes always, reads when ``public_reads`` is off."""

from __future__ import annotations

import pytest

from tests.api.conftest import TOKEN, StartApi

WITH_TOKEN = "token: ${API_TOKEN}\n"
PRIVATE = "token: ${API_TOKEN}\npublic_reads: false\n"
READS = ["/api/v1/status", "/api/v1/checks", "/api/v2/summary.json", "/metrics", "/"]


class TestWrites:
    @pytest.mark.parametrize(
        ("api_block", "authorization", "status", "code"),
        [
            pytest.param("", f"Bearer {TOKEN}", 403, "token_not_configured", id="no-token-set"),
            pytest.param(WITH_TOKEN, None, 401, "missing_token", id="no-header"),
            pytest.param(WITH_TOKEN, f"Basic {TOKEN}", 401, "missing_token", id="not-bearer"),
            pytest.param(WITH_TOKEN, "Bearer", 401, "missing_token", id="empty-bearer"),
            pytest.param(WITH_TOKEN, "Bearer wrong-token", 401, "invalid_token", id="wrong"),
            pytest.param(WITH_TOKEN, f"Bearer {TOKEN}x", 401, "invalid_token", id="longer"),
            pytest.param(WITH_TOKEN, f"Bearer {TOKEN}", 200, None, id="right"),
            pytest.param(WITH_TOKEN, f"bearer {TOKEN}", 200, None, id="scheme-any-case"),
        ],
    )
    def test_reload_needs_the_configured_token(
        self,
        start_api: StartApi,
        api_block: str,
        authorization: str | None,
        status: int,
        code: str | None,
    ) -> None:
        """Writes answer 403 without a configured token, 401 for a missing or wrong one."""
        api = start_api(api=api_block)
        headers = {"Authorization": authorization} if authorization is not None else {}
        with api.client() as client:
            response = client.post("/api/v1/reload", headers=headers)
        assert response.status_code == status
        if code is not None:
            assert response.json()["error"]["code"] == code
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")

    def test_the_403_says_how_to_enable_writes(self, start_api: StartApi) -> None:
        """Without api.token, the refusal tells the operator what to set."""
        api = start_api()
        with api.client(TOKEN) as client:
            error = client.post("/api/v1/checks/health/run").json()["error"]
        assert "set api.token" in error["message"]


class TestReads:
    @pytest.mark.parametrize("path", READS)
    def test_reads_are_public_by_default(self, start_api: StartApi, path: str) -> None:
        """With public_reads left on, read endpoints need no token even when one is set."""
        api = start_api(api=WITH_TOKEN)
        with api.client() as client:
            assert client.get(path).status_code == 200

    def test_private_reads_need_the_token(self, start_api: StartApi) -> None:
        """With public_reads false, every read endpoint is 401 without the token and 200 with it."""
        api = start_api(api=PRIVATE)
        with api.client() as anonymous, api.client(TOKEN) as operator:
            assert {p: anonymous.get(p).status_code for p in READS} == dict.fromkeys(READS, 401)
            assert {p: operator.get(p).status_code for p in READS} == dict.fromkeys(READS, 200)
            assert (
                anonymous.get("/api/v1/status", headers={"Authorization": "Bearer x"}).json()[
                    "error"
                ]["code"]
                == "invalid_token"
            )

    def test_health_and_ready_never_need_a_token(self, start_api: StartApi) -> None:
        """Probes of the monitor itself stay open whatever the read policy."""
        api = start_api(api=PRIVATE)
        with api.client() as client:
            assert client.get("/health").status_code == 200
            assert client.get("/ready").status_code == 200

    def test_private_reads_without_a_token_configured_are_403(self, start_api: StartApi) -> None:
        """public_reads false with no token set refuses reads and says what to set."""
        api = start_api(api="public_reads: false\n")
        with api.client() as client:
            response = client.get("/api/v1/status")
        assert response.status_code == 403
        assert "api.token" in response.json()["error"]["message"]

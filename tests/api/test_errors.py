"""Specifications of error answers: always ``{"error": {code, message}}``, never internals."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from structlog.testing import CapturingLogger

from monitor.telemetry.scrape import Exposition
from tests.api.conftest import SECRET, RuntimeService, StartApi


class BrokenMetrics(RuntimeService):
    """A service whose metrics call fails with internal detail in the exception."""

    async def metrics(self, accept: str | None = None) -> Exposition:
        raise RuntimeError(f"registry exploded at /srv/smokewatch/internal.py with {SECRET}")


class TestRoutingErrors:
    @pytest.mark.parametrize(
        ("method", "path", "status", "body"),
        [
            pytest.param(
                "GET",
                "/api/v1/nothing",
                404,
                {"code": "not_found", "message": "no such endpoint: GET /api/v1/nothing"},
                id="unknown-route",
            ),
            pytest.param(
                "DELETE",
                "/api/v1/status",
                405,
                {
                    "code": "method_not_allowed",
                    "message": "method DELETE is not allowed on /api/v1/status",
                },
                id="wrong-method",
            ),
            pytest.param(
                "GET",
                "/api/v1/checks/bad%20name",
                422,
                {
                    "code": "invalid_parameter",
                    "message": "path parameter 'id': String should match pattern "
                    "'^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'",
                },
                id="impossible-check-id",
            ),
            pytest.param(
                "GET",
                "/api/v1/incidents?since=1.5e3",
                422,
                {
                    "code": "invalid_parameter",
                    "message": "query parameter 'since': expected an ISO 8601 "
                    "time such as 2026-01-01T00:00:00Z, not a number",
                },
                id="numeric-since",
            ),
        ],
    )
    def test_error_bodies(
        self, start_api: StartApi, method: str, path: str, status: int, body: dict[str, str]
    ) -> None:
        """Routing and parameter errors are JSON errors with a code and a readable message."""
        api = start_api()
        with api.client() as client:
            response = client.request(method, path)
        assert response.status_code == status
        assert response.json() == {"error": body}


class TestInternalErrors:
    def test_a_500_carries_only_a_request_id(self, start_api: StartApi) -> None:
        """An unexpected exception answers a bare 500; its text and trace stay in the log."""
        log = CapturingLogger()
        api = start_api(service=BrokenMetrics, log=log)
        with api.client() as client:
            response = client.get("/metrics")
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "internal_error"
        request_id = error["message"].removeprefix("internal error (request id ").rstrip(")")
        assert len(request_id) == 16
        for leak in ("exploded", "/srv/", SECRET, "Traceback", "RuntimeError"):
            assert leak not in response.text
        [call] = [c for c in log.calls if c.args == ("api.unhandled_error",)]
        assert call.kwargs["request_id"] == request_id
        assert call.kwargs["error_type"] == "RuntimeError"
        assert "exploded" in call.kwargs["error"]
        assert SECRET not in call.kwargs["error"]  # the log gets the scrubbed text

    def test_an_unreachable_store_is_503(self, start_api: StartApi, tmp_path: Path) -> None:
        """When the database cannot be opened, reads answer 503 and /ready says not ready."""
        api = start_api()
        api.call(api.service.store.close)
        db = tmp_path / "api-0" / "results.db"
        db.unlink()
        db.mkdir()  # a directory where the database file was: SQLite cannot open it
        try:
            with api.client() as client:
                status = client.get("/api/v1/status")
                ready = client.get("/ready")
        finally:
            shutil.rmtree(db)
        assert status.status_code == 503
        assert status.json() == {
            "error": {
                "code": "store_unavailable",
                "message": "the result store is unavailable; try again shortly",
            }
        }
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        assert ready.json()["components"]["store"] != "ok"


class TestCors:
    def test_configured_origins_may_read(self, start_api: StartApi) -> None:
        """A configured origin gets CORS headers (and preflights succeed); others get none."""
        api = start_api(api="cors_origins: ['https://status.example.com']\n")
        with api.client() as client:
            allowed = client.get("/api/v1/status", headers={"Origin": "https://status.example.com"})
            other = client.get("/api/v1/status", headers={"Origin": "https://evil.example"})
            preflight = client.options(
                "/api/v1/reload",
                headers={
                    "Origin": "https://status.example.com",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "Authorization",
                },
            )
        assert allowed.headers["access-control-allow-origin"] == "https://status.example.com"
        assert "access-control-allow-origin" not in other.headers
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]

    def test_no_origins_no_cors(self, start_api: StartApi) -> None:
        """Without cors_origins, no response carries CORS headers."""
        api = start_api()
        with api.client() as client:
            response = client.get("/api/v1/status", headers={"Origin": "https://a.example"})
        assert "access-control-allow-origin" not in response.headers

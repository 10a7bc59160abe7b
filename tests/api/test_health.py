"""Specifications of the app's lifespan, ``/health``, ``/ready`` and ``/metrics``."""

from __future__ import annotations

import pytest
from prometheus_client import Counter

from monitor.contract import Readiness, StoreLag
from monitor.version import smokewatch_version
from tests.api.conftest import RuntimeService, StartApi


class NotReady(RuntimeService):
    """A standby whose browser is missing."""

    async def readiness(self) -> Readiness:
        return Readiness({"store": "ok", "browser": "chromium not found"}, role="standby")


class Behind(RuntimeService):
    """A leader whose store is unreachable, with three results waiting in the spool."""

    def store_lag(self) -> StoreLag:
        return StoreLag(spooled=3, oldest_age_s=12.3456)

    async def readiness(self) -> Readiness:
        return Readiness({"store": "unreachable"}, role="leader", store_lag=self.store_lag())


class ReadinessFails(RuntimeService):
    async def readiness(self) -> Readiness:
        raise TimeoutError("pinging postgresql://monitor:hunter2@db/x timed out")


class TestLifespan:
    def test_the_app_starts_and_stops_the_service(self, start_api: StartApi) -> None:
        """Serving starts the service (its store opens); shutting down stops it."""
        api = start_api()
        assert api.service.store is not None
        api.stop()
        with pytest.raises(RuntimeError, match="not started"):
            api.service.runtime  # noqa: B018 -- the lifespan's exit stopped it


class TestHealth:
    def test_health_is_ok_with_the_version(self, start_api: StartApi) -> None:
        """/health answers 200 with the version, touching nothing else."""
        api = start_api()
        with api.client() as client:
            response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "version": smokewatch_version()}

    def test_ready_when_every_component_is_ok(self, start_api: StartApi) -> None:
        """/ready is 200 and lists each component when all are ok."""
        api = start_api()
        with api.client() as client:
            response = client.get("/ready")
        assert response.status_code == 200
        assert response.json() == {
            "ready": True,
            "role": "leader",
            "components": {"store": "ok", "scheduler": "ok"},
            "store_lag": {"spooled": 0, "oldest_age_seconds": None},
            "shard": None,
            "lateness": None,
        }

    def test_not_ready_is_503_with_the_reason(self, start_api: StartApi) -> None:
        """A component that is not ok makes /ready a 503 naming it."""
        api = start_api(service=NotReady)
        with api.client() as client:
            response = client.get("/ready")
        assert response.status_code == 503
        assert response.json() == {
            "ready": False,
            "role": "standby",
            "components": {"store": "ok", "browser": "chromium not found"},
            "store_lag": {"spooled": 0, "oldest_age_seconds": None},
            "shard": None,
            "lateness": None,
        }

    def test_ready_says_how_far_the_store_is_behind(self, start_api: StartApi) -> None:
        """With results waiting in the spool, /ready gives their count and the oldest's age."""
        api = start_api(service=Behind)
        with api.client() as client:
            response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["store_lag"] == {"spooled": 3, "oldest_age_seconds": 12.346}

    def test_a_failing_readiness_check_is_503_without_detail(self, start_api: StartApi) -> None:
        """If asking for readiness itself fails, /ready is a 503 that reveals nothing internal."""
        api = start_api(service=ReadinessFails)
        with api.client() as client:
            response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["components"] == {"service": "readiness check failed"}
        assert "hunter2" not in response.text


class TestMetrics:
    def test_gzip_scrapes_get_the_cached_compressed_bytes(self, start_api: StartApi) -> None:
        """A scraper accepting gzip gets the body gzip-encoded; one that does not, plain."""
        api = start_api()
        counter = Counter("api_test_things", "things", registry=api.service.runtime.registry)
        counter.inc(3)
        with api.client() as client:
            zipped = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
            plain = client.get("/metrics", headers={"Accept-Encoding": "identity"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert zipped.text == plain.text  # httpx decoded the gzip
        assert "api_test_things_total 3.0" in plain.text

    def test_serves_the_runtime_registry(self, start_api: StartApi) -> None:
        """/metrics is the Prometheus text exposition of the service's own registry."""
        api = start_api()
        counter = Counter("api_test_things", "things", registry=api.service.runtime.registry)
        counter.inc(3)
        with api.client() as client:
            response = client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "api_test_things_total 3.0" in response.text

    def test_openmetrics_when_the_accept_header_prefers_it(self, start_api: StartApi) -> None:
        """Prometheus's default Accept gets OpenMetrics 1.0.0; a plain GET still gets text."""
        api = start_api()
        counter = Counter("api_test_things", "things", registry=api.service.runtime.registry)
        counter.inc(3)
        accept = (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )
        with api.client() as client:
            openmetrics = client.get("/metrics", headers={"Accept": accept})
            text = client.get("/metrics", headers={"Accept": "text/plain"})
            odd = client.get("/metrics", headers={"Accept": "application/openmetrics-text;q=x"})
        assert openmetrics.status_code == 200
        assert openmetrics.headers["content-type"] == (
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        )
        assert "api_test_things_total 3.0" in openmetrics.text
        assert openmetrics.text.endswith("# EOF\n")
        assert text.headers["content-type"].startswith("text/plain")
        assert not text.text.endswith("# EOF\n")
        assert (odd.status_code, odd.headers["content-type"][:10]) == (200, "text/plain")

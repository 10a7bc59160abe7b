"""Specifications of ``/api/v1/checks``, its results (keyset pagination), uptime, and incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from probes.base import Status
from tests.api.conftest import StartApi, result, seed

NOW = datetime.now(UTC).replace(microsecond=0)


class TestCheckList:
    def test_lists_every_check_without_urls_or_headers(self, start_api: StartApi) -> None:
        """Each check is described by name, kind, description, schedule, regions, tags, group
        and visibility only."""
        api = start_api(
            checks="""\
            - name: health
              kind: http
              description: The demo target's liveness endpoint
              url: ${TARGET}/health
              tags: {team: web}
            - {name: nightly, kind: http, url: '${TARGET}/x?k=1', cron: '0 3 * * *', regions: [eu]}
            - {name: off, kind: http, url: '${TARGET}/health', enabled: false, interval: 1m}
            """
        )
        with api.client() as client:
            body = client.get("/api/v1/checks").json()
        assert body == {
            "checks": [
                {
                    "name": "health",
                    "kind": "http",
                    "description": "The demo target's liveness endpoint",
                    "enabled": True,
                    "interval_seconds": 1800.0,
                    "cron": None,
                    "regions": None,
                    "tags": {"team": "web"},
                    "group": None,
                    "public": True,
                },
                {
                    "name": "nightly",
                    "kind": "http",
                    "description": "",
                    "enabled": True,
                    "interval_seconds": None,
                    "cron": "0 3 * * *",
                    "regions": ["eu"],
                    "tags": {},
                    "group": None,
                    "public": True,
                },
                {
                    "name": "off",
                    "kind": "http",
                    "description": "",
                    "enabled": False,
                    "interval_seconds": 60.0,
                    "cron": None,
                    "regions": None,
                    "tags": {},
                    "group": None,
                    "public": True,
                },
            ]
        }

    def test_one_check_with_its_latest_result_per_region(self, start_api: StartApi) -> None:
        """``/checks/{id}`` adds the check's status and newest result in each region."""
        api = start_api()
        seed(
            api,
            result("health", "us", Status.FAIL, message="expected 200, got 503"),
            result("health", "eu", Status.PASS),
        )
        with api.client() as client:
            body = client.get("/api/v1/checks/health").json()
        assert body["name"] == "health"
        assert body["status"] == "degraded"
        assert list(body["latest"]) == ["eu", "us"]
        assert body["latest"]["us"]["message"] == "expected 200, got 503"
        assert not {"url", "headers"} & set(body)

    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/api/v1/checks/nope", id="detail"),
            pytest.param("/api/v1/checks/nope/results", id="results"),
            pytest.param("/api/v1/checks/nope/uptime", id="uptime"),
            pytest.param("/api/v1/incidents?check=nope", id="incidents-filter"),
        ],
    )
    def test_unknown_check_is_404(self, start_api: StartApi, path: str) -> None:
        """An unknown check id is a 404 whose message names it."""
        api = start_api()
        with api.client() as client:
            response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "unknown_check", "message": "no check named 'nope'"}
        }


class TestResults:
    def test_pages_follow_next_until_the_end(self, start_api: StartApi) -> None:
        """Keyset pages are newest first, disjoint, complete, and the last has no next."""
        api = start_api()
        ids = seed(api, *(result(started_at=NOW - timedelta(minutes=n)) for n in range(25)))
        seen: list[int] = []
        sizes: list[int] = []
        url: str | None = "/api/v1/checks/health/results?limit=10"
        with api.client() as client:
            while url is not None:
                page = client.get(url).json()
                sizes.append(len(page["results"]))
                seen += [r["id"] for r in page["results"]]
                url = page["next"]
                if url is not None:
                    assert f"before={page['next_before']}" in url
                    assert "limit=10" in url
        assert sizes == [10, 10, 5]
        assert seen == sorted(ids, reverse=True)

    def test_filters_by_region_and_since(self, start_api: StartApi) -> None:
        """``region`` keeps one region's results; ``since`` keeps those started at or after it."""
        api = start_api()
        seed(
            api,
            result(region="eu", started_at=NOW - timedelta(hours=3)),
            result(region="us", started_at=NOW - timedelta(hours=2)),
            result(region="eu", started_at=NOW - timedelta(hours=1)),
        )
        since = (NOW - timedelta(hours=2, minutes=30)).isoformat()
        with api.client() as client:
            eu = client.get("/api/v1/checks/health/results", params={"region": "eu"}).json()
            recent = client.get("/api/v1/checks/health/results", params={"since": since}).json()
        assert [r["region"] for r in eu["results"]] == ["eu", "eu"]
        assert [r["region"] for r in recent["results"]] == ["eu", "us"]

    def test_a_result_item_carries_no_artifact_paths_or_url_queries(
        self, start_api: StartApi
    ) -> None:
        """Results keep their timings and assertions; URL queries and artifact paths are dropped."""
        api = start_api()
        seed(
            api,
            result(
                message="GET http://t.example/a?sig=abc123 returned 503",
                details={"url": "http://t.example/a?sig=abc123", "status_code": 503},
                assertions=[{"name": "status", "passed": False, "expected": 200, "actual": 503}],
                artifacts=["/var/lib/smokewatch/artifacts/shot.png"],
            ),
        )
        with api.client() as client:
            [item] = client.get("/api/v1/checks/health/results").json()["results"]
        assert item["message"] == "GET http://t.example/a returned 503"
        assert item["details"] == {"url": "http://t.example/a", "status_code": 503}
        assert item["assertions"] == [
            {"name": "status", "passed": False, "expected": 200, "actual": 503}
        ]
        # No stored path ever; links to stored artifacts only for token holders.
        assert item["artifacts"] == []
        assert "/var/lib" not in str(item)

    @pytest.mark.parametrize(
        ("query", "names"),
        [
            pytest.param("limit=0", "query parameter 'limit'", id="limit-zero"),
            pytest.param("limit=5000", "query parameter 'limit'", id="limit-too-big"),
            pytest.param("limit=ten", "query parameter 'limit'", id="limit-not-a-number"),
            pytest.param("before=-3", "query parameter 'before'", id="negative-cursor"),
            pytest.param("since=yesterday", "query parameter 'since'", id="since-not-a-time"),
            pytest.param("region=a%20b", "query parameter 'region'", id="region-bad-chars"),
        ],
    )
    def test_bad_parameters_are_422_naming_them(
        self, start_api: StartApi, query: str, names: str
    ) -> None:
        """A bad query parameter is a 422 whose message names the parameter."""
        api = start_api()
        with api.client() as client:
            response = client.get(f"/api/v1/checks/health/results?{query}")
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_parameter"
        assert error["message"].startswith(names)


class TestUptime:
    def test_uptime_over_a_window(self, start_api: StartApi) -> None:
        """Uptime counts passes and degraded as up, failures as down, and ignores errors."""
        api = start_api()
        statuses = [Status.PASS] * 6 + [Status.DEGRADED, Status.FAIL, Status.ERROR]
        seed(
            api,
            *(
                result(status=s, started_at=NOW - timedelta(hours=n), duration_ms=10.0 * (n + 1))
                for n, s in enumerate(statuses)
            ),
        )
        seed(api, result(status=Status.FAIL, started_at=NOW - timedelta(days=3)))
        with api.client() as client:
            day = client.get("/api/v1/checks/health/uptime", params={"window": "24h"}).json()
            week = client.get("/api/v1/checks/health/uptime?window=7d&region=eu").json()
            elsewhere = client.get("/api/v1/checks/health/uptime?window=7d&region=us").json()
        assert (day["total"], day["passed"], day["degraded"], day["failed"], day["errored"]) == (
            9,
            6,
            1,
            1,
            1,
        )
        assert day["uptime"] == pytest.approx(7 / 8)
        assert day["window"] == "24h"
        assert day["max_ms"] == pytest.approx(80.0)
        assert (day["p50_ms"], day["p99_ms"]) == (40.0, 80.0)  # nearest rank over non-errors
        assert (week["total"], week["failed"], week["region"]) == (10, 2, "eu")
        assert (elsewhere["total"], elsewhere["uptime"]) == (0, None)

    def test_unknown_window_is_422(self, start_api: StartApi) -> None:
        """Only 24h, 7d, 30d and 90d are windows; anything else is named in a 422."""
        api = start_api()
        with api.client() as client:
            response = client.get("/api/v1/checks/health/uptime?window=1y")
        assert response.status_code == 422
        assert response.json()["error"]["message"].startswith("query parameter 'window'")


class TestIncidents:
    def test_newest_first_with_filters(self, start_api: StartApi) -> None:
        """Incidents list newest first; ``open`` keeps unresolved ones, ``check`` one check's."""
        api = start_api()

        async def incidents() -> None:
            store = api.service.store
            await store.open_incident(
                "health", "eu", started_at=NOW - timedelta(hours=5), message="expected 200, got 503"
            )
            await store.resolve_incident("health", "eu", resolved_at=NOW - timedelta(hours=4))
            await store.open_incident(
                "api-status", "us", started_at=NOW - timedelta(hours=1), message="timed out"
            )

        api.call(incidents)
        with api.client() as client:
            everything = client.get("/api/v1/incidents").json()["incidents"]
            still_open = client.get("/api/v1/incidents?open=true").json()["incidents"]
            health = client.get("/api/v1/incidents?check=health").json()["incidents"]
        assert [(i["check"], i["open"]) for i in everything] == [
            ("api-status", True),
            ("health", False),
        ]
        assert [i["check"] for i in still_open] == ["api-status"]
        assert [i["message"] for i in health] == ["expected 200, got 503"]
        assert health[0]["resolved_at"] is not None

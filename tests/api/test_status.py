"""Specifications of ``/api/v1/status`` and the Statuspage v2 ``/api/v2/*.json`` over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from monitor.version import smokewatch_version
from probes.base import Status
from tests.api.conftest import T0, StartApi, result, seed
from tests.api.test_verdict import RULES


def one_check_per_rule() -> str:
    return "".join(
        f"- {{name: {rule.id}, kind: http, url: '${{TARGET}}/health'}}\n" for rule in RULES
    )


class TestStatusRulesOverHttp:
    def test_every_rule_shows_in_v1_and_v2(self, start_api: StartApi) -> None:
        """Each row of the rules table, seeded as one check, is reported as the table says."""
        api = start_api(checks=one_check_per_rule())
        for rule in RULES:
            check, statuses = cast(str, rule.id), cast(list[Status], rule.values[0])
            seed(api, *(result(check, f"r{n}", s) for n, s in enumerate(statuses)))
        with api.client() as client:
            v1 = client.get("/api/v1/status").json()
            summary = client.get("/api/v2/summary.json").json()
        expected_v1 = {rule.id: rule.values[1] for rule in RULES}
        expected_v2 = {rule.id: rule.values[2] for rule in RULES}
        assert v1["services"] == expected_v1
        assert {c["name"]: c["status"] for c in v1["checks"]} == expected_v1
        assert {c["id"]: c["status"] for c in summary["components"]} == expected_v2
        assert v1["status"] == "down"
        assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}


class TestStatusShape:
    def test_the_spec_shape_with_regions(self, start_api: StartApi) -> None:
        """The spec's target shape: status, version, timestamp, services, plus checks by region."""
        api = start_api()
        seed(
            api,
            result("health", "eu", Status.PASS, duration_ms=12.34, message="ok"),
            result(
                "health",
                "us",
                Status.DEGRADED,
                started_at=T0 + timedelta(minutes=1),
                message="total 900 ms over the degraded budget",
            ),
        )
        with api.client() as client:
            response = client.get("/api/v1/status")
        body = response.json()
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert set(body) == {
            "status", "version", "timestamp", "services", "checks", "regions", "split",
        }  # fmt: skip
        assert body["split"] is None  # this service does not share its region
        assert body["version"] == smokewatch_version()
        assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
        assert body["status"] == "degraded"
        assert body["services"] == {"health": "degraded", "api-status": "unknown"}
        assert body["regions"] == ["eu", "us"]
        assert body["checks"][0] == {
            "name": "health",
            "kind": "http",
            "status": "degraded",
            "regions": {
                "eu": {
                    "status": "pass",
                    "checked_at": "2025-03-01T12:00:00Z",
                    "duration_ms": 12.3,
                    "message": "ok",
                    "declared": True,
                    "counted": True,
                },
                "us": {
                    "status": "degraded",
                    "checked_at": "2025-03-01T12:01:00Z",
                    "duration_ms": 25.0,
                    "message": "total 900 ms over the degraded budget",
                    "declared": True,
                    "counted": True,
                },
            },
            "alerts": [],
        }

    def test_only_the_newest_result_per_region_counts(self, start_api: StartApi) -> None:
        """A failure followed by a pass in the same region reads as healthy."""
        api = start_api()
        seed(
            api,
            result("health", "eu", Status.FAIL, started_at=T0),
            result("health", "eu", Status.PASS, started_at=T0 + timedelta(minutes=5)),
        )
        with api.client() as client:
            assert client.get("/api/v1/status").json()["services"]["health"] == "healthy"

    def test_disabled_checks_are_left_out_and_stale_foreign_regions_flagged(
        self, start_api: StartApi
    ) -> None:
        """A disabled check is hidden; an old result from a region it no longer runs in is
        shown flagged undeclared and not counted."""
        api = start_api(
            checks="""\
            - {name: health, kind: http, url: '${TARGET}/health', regions: [eu]}
            - {name: old, kind: http, url: '${TARGET}/health', enabled: false}
            """,
            extra="regions: [eu, us]\n",
        )
        seed(
            api,
            result("health", "eu", Status.PASS),
            result("health", "us", Status.FAIL),
            result("old", "eu", Status.FAIL),
        )
        with api.client() as client:
            body = client.get("/api/v1/status").json()
        assert body["services"] == {"health": "healthy"}
        regions = body["checks"][0]["regions"]
        assert [(r, v["declared"], v["counted"]) for r, v in regions.items()] == [
            ("eu", True, True),
            ("us", False, False),
        ]
        assert body["regions"] == ["eu", "us"]
        assert body["status"] == "healthy"


class TestStatuspage:
    def test_status_json(self, start_api: StartApi) -> None:
        """status.json has Statuspage's page and status objects."""
        api = start_api(api="title: Acme status\npublic_url: https://status.example.com\n")
        seed(api, result("health", "eu", Status.FAIL), result("health", "us", Status.PASS))
        with api.client() as client:
            body = client.get("/api/v2/status.json").json()
        assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
        page = body["page"]
        assert (page["id"], page["name"], page["url"], page["time_zone"]) == (
            "acme-status",
            "Acme status",
            "https://status.example.com",
            "Etc/UTC",
        )
        assert datetime.fromisoformat(page["updated_at"]).tzinfo is not None

    def test_summary_json_lists_components_and_open_incidents(self, start_api: StartApi) -> None:
        """summary.json: one component per check, open incidents only, no maintenances."""
        api = start_api()
        seed(api, result("health", "eu", Status.FAIL, message="status: expected 200, got 503"))

        async def incidents() -> None:
            store = api.service.store
            await store.open_incident(
                "health", "eu", started_at=T0, message="expected 200, got 503"
            )
            await store.open_incident("api-status", "eu", started_at=T0, message="old")
            await store.resolve_incident("api-status", "eu", resolved_at=T0 + timedelta(hours=1))

        api.call(incidents)
        with api.client() as client:
            body = client.get("/api/v2/summary.json").json()
        assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
        components = {c["id"]: c for c in body["components"]}
        assert components["health"]["status"] == "major_outage"
        assert components["health"]["description"] == "The demo target's liveness endpoint"
        assert components["health"]["position"] == 1
        assert components["api-status"]["status"] == "operational"  # no results: nothing to report
        assert body["scheduled_maintenances"] == []
        [incident] = body["incidents"]
        assert incident["status"] == "investigating"
        assert incident["impact"] == "critical"
        assert incident["name"] == "health failing in eu"
        assert incident["resolved_at"] is None
        assert incident["incident_updates"][0]["body"] == "expected 200, got 503"
        assert [c["id"] for c in incident["components"]] == ["health"]

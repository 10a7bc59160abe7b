"""Specifications of one truth: the status API, the Statuspage JSON and the page never say
"operational" while stored evidence or alert state says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from examples.demo_target import DemoTargetThread
from monitor.alerting.engine import Engine
from monitor.api.verdict import CheckState, Component, Verdict, overall, with_alerts
from monitor.config.loader import load_config
from monitor.store import AlertStateRecord, AlertStore
from monitor.store.alert_records import StateWrite
from probes.base import Status
from tests.api.conftest import LiveApi, RuntimeService, StartApi, config_yaml, result, seed
from tests.api.test_alerts import state

HEALTH = "- {name: health, kind: http, url: '${TARGET}/health'}\n"
RULE = """\
alerts:
  - name: smoke_test_failure
    condition: smoke_test.success < 0.9
    window: 10m
    resolve_after: 2
"""


class TestUndeclaredRegion:
    def test_results_of_an_undeclared_region_are_shown_and_count(self, start_api: StartApi) -> None:
        """A fresh failure stored as ``local`` under ``regions: [eu-west-1]`` is no silent green."""
        api = start_api(checks=HEALTH, extra="regions: [eu-west-1]\n", region="eu-west-1")
        now = datetime.now(UTC)
        seed(api, result("health", "local", Status.FAIL, started_at=now - timedelta(minutes=1)))
        with api.client() as client:
            v1 = client.get("/api/v1/status").json()
            summary = client.get("/api/v2/summary.json").json()
            page = client.get("/").text
        assert v1["status"] == "down"
        assert v1["services"] == {"health": "down"}
        local = v1["checks"][0]["regions"]["local"]
        assert (local["status"], local["declared"], local["counted"]) == ("fail", False, True)
        assert "local" in v1["regions"]
        assert summary["status"]["indicator"] == "critical"
        assert summary["components"][0]["status"] == "major_outage"
        assert "All systems operational" not in page
        assert "undeclared region" in page

    def test_an_api_only_instance_adds_no_region_of_its_own(self, start_api: StartApi) -> None:
        """An instance serving as 'local' beside declared regions lists only what it heard."""
        api = start_api(checks=HEALTH, extra="regions: [eu-west-1]\n", region="local")
        with api.client() as client:
            assert client.get("/api/v1/status").json()["regions"] == ["eu-west-1"]

    def test_an_old_result_of_a_removed_region_stops_counting(self, start_api: StartApi) -> None:
        """An undeclared region's result older than three intervals is shown but not counted."""
        api = start_api(checks=HEALTH, extra="regions: [eu]\n", region="eu")
        now = datetime.now(UTC)
        seed(
            api,
            result("health", "eu", Status.PASS, started_at=now - timedelta(minutes=1)),
            result("health", "us", Status.FAIL, started_at=now - timedelta(hours=2)),
        )
        with api.client() as client:
            v1 = client.get("/api/v1/status").json()
            detail = client.get("/api/v1/checks/health").json()
        assert (v1["status"], v1["services"]) == ("healthy", {"health": "healthy"})
        us = v1["checks"][0]["regions"]["us"]
        assert (us["declared"], us["counted"]) == (False, False)
        assert detail["status"] == "healthy"
        assert (detail["latest"]["us"]["declared"], detail["latest"]["us"]["counted"]) == (
            False,
            False,
        )


def seed_alerts(api: LiveApi, *states: AlertStateRecord) -> None:
    async def write() -> None:
        alerts = AlertStore(api.service.store)
        for record in states:
            assert await alerts.apply(StateWrite(state=record, expected_version=None))

    api.call(write)


class TestWithAlerts:
    @pytest.mark.parametrize(
        ("state", "alert_states", "expected"),
        [
            ("healthy", [], "healthy"),
            ("healthy", ["firing"], "recovering"),
            ("healthy", ["recovering"], "recovering"),
            ("healthy", ["pending"], "healthy"),
            ("healthy", ["inhibited"], "healthy"),
            ("unknown", ["firing"], "degraded"),
            ("unknown", ["inhibited"], "unknown"),
            ("down", ["firing"], "down"),
            ("degraded", ["recovering"], "degraded"),
        ],
        ids=lambda v: "+".join(v) if isinstance(v, list) else str(v),
    )
    def test_active_alerts_keep_a_check_from_reading_healthy(
        self, state: CheckState, alert_states: list[str], expected: CheckState
    ) -> None:
        """Firing and recovering alerts hold a check off healthy; pending and inhibited do not."""
        quiet = state in ("healthy", "unknown")
        component: Component = "operational" if quiet else "partial_outage"
        assert with_alerts(Verdict(state, component), alert_states).state == expected

    def test_recovering_degrades_the_page(self) -> None:
        """A recovering check makes the overall status degraded, never healthy."""
        assert overall(["healthy", "recovering"]) == "degraded"


class TestCheckStateAgreesWithAlerts:
    @pytest.mark.parametrize("alert_state", ["firing", "recovering"])
    def test_a_passing_check_with_an_active_alert_is_recovering(
        self, start_api: StartApi, alert_state: str
    ) -> None:
        """Passing again while its alert has not resolved: recovering, and the page says so."""
        api = start_api(checks=HEALTH)
        seed(api, result("health", "eu", Status.PASS, started_at=datetime.now(UTC)))
        seed_alerts(api, state("smoke_test_failure", "health", "eu", state=alert_state))
        with api.client() as client:
            v1 = client.get("/api/v1/status").json()
            summary = client.get("/api/v2/summary.json").json()
            detail = client.get("/api/v1/checks/health").json()
            page = client.get("/").text
            listed = client.get("/api/v1/alerts").json()["alerts"]
        assert [(a["key"], a["state"]) for a in listed] == [
            ("smoke_test_failure/health/eu", alert_state)
        ]
        assert v1["status"] == "degraded"
        assert v1["services"] == {"health": "recovering"}
        assert v1["checks"][0]["alerts"] == [
            {
                "key": "smoke_test_failure/health/eu",
                "rule": "smoke_test_failure",
                "region": "eu",
                "state": alert_state,
            }
        ]
        assert detail["status"] == "recovering"
        assert [a["key"] for a in detail["alerts"]] == ["smoke_test_failure/health/eu"]
        assert summary["components"][0]["status"] == "degraded_performance"
        assert summary["status"]["indicator"] == "minor"
        assert "All systems operational" not in page
        assert '<span class="label minor">Recovering</span>' in page

    def test_pending_and_inhibited_alerts_are_listed_but_change_nothing(
        self, start_api: StartApi
    ) -> None:
        """A pending or inhibited alert is shown with the check; the check stays healthy."""
        api = start_api(checks=HEALTH)
        seed(api, result("health", "eu", Status.PASS, started_at=datetime.now(UTC)))
        seed_alerts(
            api,
            state("smoke_test_failure", "health", "eu", state="pending"),
            state("smoke_test_failure", "health", "us", state="inhibited"),
            state("slow_api", "health", "eu", state="inactive"),
        )
        with api.client() as client:
            v1 = client.get("/api/v1/status").json()
            page = client.get("/").text
            listed = client.get("/api/v1/alerts").json()["alerts"]
        assert [(a["key"], a["state"]) for a in listed] == [
            ("smoke_test_failure/health/eu", "pending"),
            ("smoke_test_failure/health/us", "inhibited"),
        ]
        assert (v1["status"], v1["services"]) == ("healthy", {"health": "healthy"})
        assert [(a["key"], a["state"]) for a in v1["checks"][0]["alerts"]] == [
            ("smoke_test_failure/health/eu", "pending"),
            ("smoke_test_failure/health/us", "inhibited"),
        ]
        assert "All systems operational" in page
        assert "Inhibited" in page

    def test_a_firing_alert_without_evidence_is_not_unknown(self, start_api: StartApi) -> None:
        """Only errors since the alert fired: the check reads degraded, not "No data"."""
        api = start_api(checks=HEALTH)
        seed(api, result("health", "eu", Status.ERROR, started_at=datetime.now(UTC)))
        seed_alerts(api, state("smoke_test_failure", "health", "eu"))
        with api.client() as client:
            v1 = client.get("/api/v1/status").json()
        assert (v1["status"], v1["services"]) == ("degraded", {"health": "degraded"})


class TestIncidentDuration:
    def test_an_incident_lasts_as_long_as_its_outage(self, start_api: StartApi) -> None:
        """A 3-minute outage whose alert lingered 7 minutes reads 3 minutes, API and page."""
        api = start_api(checks=HEALTH)
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
        marks = "PPFFFPPPPPP"  # one run a minute: fails from minute 2, passes again at 5
        statuses = {"P": Status.PASS, "F": Status.FAIL}
        seed(
            api,
            *(
                result("health", "eu", statuses[m], started_at=t0 + timedelta(minutes=n))
                for n, m in enumerate(marks)
            ),
        )

        async def incident() -> None:
            store = api.service.store
            fired = t0 + timedelta(minutes=3, seconds=30)
            await store.open_incident("health", "eu", started_at=fired, message="got 503")
            await store.resolve_incident("health", "eu", resolved_at=fired + timedelta(minutes=7))

        api.call(incident)
        with api.client() as client:
            [body] = client.get("/api/v1/incidents").json()["incidents"]
            page = client.get("/").text
        assert datetime.fromisoformat(body["outage_started_at"]) == t0 + timedelta(minutes=2)
        assert datetime.fromisoformat(body["outage_ended_at"]) == t0 + timedelta(minutes=5)
        assert body["duration_seconds"] == 180.0
        assert "lasted 3 min" in page
        assert "lasted 7 min" not in page

    def test_an_open_incident_passing_again_is_recovering(self, start_api: StartApi) -> None:
        """Passing again, alert not resolved: the outage's length is known, Statuspage says
        ``monitoring`` and the page says recovering."""
        api = start_api(checks=HEALTH)
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        marks = "PPFFFP"
        statuses = {"P": Status.PASS, "F": Status.FAIL}
        seed(
            api,
            *(
                result("health", "eu", statuses[m], started_at=t0 + timedelta(minutes=n))
                for n, m in enumerate(marks)
            ),
        )

        async def incident() -> None:
            fired = t0 + timedelta(minutes=3, seconds=30)
            await api.service.store.open_incident(
                "health", "eu", started_at=fired, message="got 503"
            )

        api.call(incident)
        seed_alerts(api, state("smoke_test_failure", "health", "eu", state="recovering"))
        with api.client() as client:
            [body] = client.get("/api/v1/incidents").json()["incidents"]
            [sp] = client.get("/api/v2/summary.json").json()["incidents"]
            page = client.get("/").text
        assert body["open"] is True
        assert datetime.fromisoformat(body["outage_ended_at"]) == t0 + timedelta(minutes=5)
        assert body["duration_seconds"] == 180.0
        assert (sp["status"], sp["incident_updates"][0]["status"]) == ("monitoring", "monitoring")
        assert datetime.fromisoformat(sp["started_at"]) == t0 + timedelta(minutes=2)
        assert datetime.fromisoformat(sp["monitoring_at"]) == t0 + timedelta(minutes=5)
        assert "lasted 3 min, recovery not confirmed yet" in page


class TestThroughTheEngine:
    def test_the_engine_firing_after_a_recovery_reads_recovering(
        self, tmp_path: Path, served: DemoTargetThread
    ) -> None:
        """Three failures fire the real engine's alert; one pass later the check is recovering,
        not operational, until the alert resolves."""
        (tmp_path / "smokewatch.yaml").write_text(
            config_yaml(tmp_path / "results.db", checks=HEALTH).replace(
                "alert_rules: null", "alert_rules: alert-rules.yaml"
            )
        )
        (tmp_path / "alert-rules.yaml").write_text(RULE)
        env = {"TARGET": served.url}
        loaded = load_config(tmp_path / "smokewatch.yaml", env)
        api = LiveApi(RuntimeService(loaded, region="eu", env=env))
        api.start()
        try:
            now = datetime.now(UTC)
            engine = Engine(loaded, AlertStore(api.service.store), log=structlog.get_logger())
            seed(
                api,
                *(
                    result("health", "eu", Status.FAIL, started_at=now - timedelta(minutes=m))
                    for m in (4, 3, 2)
                ),
            )
            api.call(lambda: engine.evaluate(now - timedelta(minutes=2)))
            seed(api, result("health", "eu", Status.PASS, started_at=now - timedelta(minutes=1)))
            api.call(lambda: engine.evaluate(now - timedelta(minutes=1)))
            with api.client() as client:
                v1 = client.get("/api/v1/status").json()
                page = client.get("/").text
        finally:
            api.stop()
        [alert] = v1["checks"][0]["alerts"]
        assert alert["state"] in ("firing", "recovering")
        assert (v1["status"], v1["services"]) == ("degraded", {"health": "recovering"})
        assert "All systems operational" not in page

"""Specifications of incidents and maintenance written by people: the API lifecycle, its
refusals, the Statuspage v2 JSON field by field, the Atom feed parsed back, the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from examples.demo_target import DemoTargetThread
from monitor.config.loader import load_config
from probes.base import Status
from tests.api.conftest import (
    SECRET,
    TOKEN,
    LiveApi,
    RuntimeService,
    StartApi,
    config_yaml,
    result,
    seed,
)

WRITES = "token: ${API_TOKEN}\npublic_url: https://status.example.com\n"
CHECKS = """\
- {name: home, kind: http, url: '${TARGET}/health'}
- {name: pay-api, kind: http, url: '${TARGET}/health', group: Payments}
- {name: pay-web, kind: http, url: '${TARGET}/health', group: Payments}
- {name: internal, kind: http, url: '${TARGET}/health', public: false}
"""
INCIDENTS = "/api/v1/status-page/incidents"
MAINTENANCES = "/api/v1/status-page/maintenances"
ATOM = "{http://www.w3.org/2005/Atom}"

# Statuspage v2's documented fields (incidents.json, scheduled-maintenances.json, summary.json).
INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
MAINTENANCE_FIELDS = INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}
UPDATE_FIELDS = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"}
PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def api(start_api: StartApi) -> LiveApi:
    return start_api(checks=CHECKS, api=WRITES)


def open_incident(client: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": "Payments slow", "body": "Looking into it.", **fields}
    response = client.post(INCIDENTS, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def schedule(client: Any, start: datetime, end: datetime, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Database upgrade",
        "body": "PostgreSQL 17.",
        "scheduled_for": iso(start),
        "scheduled_until": iso(end),
        **fields,
    }
    response = client.post(MAINTENANCES, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


class TestIncidentLifecycle:
    def test_open_update_resolve_and_list(self, api: LiveApi) -> None:
        """An incident goes investigating -> identified -> monitoring -> resolved, each step a
        timestamped update, and lists show it open, then resolved."""
        with api.client(TOKEN) as client:
            made = open_incident(client, impact="major", components=["group:Payments"])
            number = made["id"]
            steps = [
                ("identified", "A bad deploy."),
                ("monitoring", "Rolled back."),
                ("resolved", "All good."),
            ]
            answers = [
                client.post(f"{INCIDENTS}/{number}/updates", json={"status": s, "body": b})
                for s, b in steps
            ]
            opened = client.get(f"{INCIDENTS}?open=true").json()["notices"]
            listed = client.get(INCIDENTS).json()["notices"]
            one = client.get(f"{INCIDENTS}/{number}").json()
        assert (made["status"], made["impact"], made["kind"]) == (
            "investigating",
            "major",
            "incident",
        )
        assert made["components"] == ["group:Payments"]
        assert made["statuspage_id"] == f"notice-{number}"
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.json()["status"] for a in answers] == ["identified", "monitoring", "resolved"]
        assert opened == []
        assert [n["id"] for n in listed] == [number]
        assert [(u["status"], u["body"]) for u in one["updates"]] == [
            ("investigating", "Looking into it."),
            *steps,
        ]
        times = [parse(u["created_at"]) for u in one["updates"]]
        assert times == sorted(times)
        assert parse(one["monitoring_at"]) == times[2]
        assert parse(one["resolved_at"]) == times[3]

    def test_impact_can_change_with_an_update(self, api: LiveApi) -> None:
        """An update that names an impact changes the incident's impact."""
        with api.client(TOKEN) as client:
            number = open_incident(client)["id"]
            body = {"status": "identified", "body": "Worse.", "impact": "critical"}
            updated = client.post(f"{INCIDENTS}/{number}/updates", json=body).json()
        assert updated["impact"] == "critical"

    def test_maintenance_follows_its_times(self, api: LiveApi) -> None:
        """A maintenance is scheduled before its window, in progress during it, and a person
        can complete it early."""
        now = datetime.now(UTC)
        with api.client(TOKEN) as client:
            later = schedule(client, now + timedelta(days=1), now + timedelta(days=1, hours=2))
            during = schedule(client, now - timedelta(hours=1), now + timedelta(hours=1))
            done = client.post(
                f"{MAINTENANCES}/{during['id']}/updates",
                json={"status": "completed", "body": "Finished early."},
            ).json()
        assert later["status"] == "scheduled"
        assert during["status"] == "in_progress"
        assert done["status"] == "completed"
        assert done["resolved_at"] is not None


class TestRefusals:
    @pytest.mark.parametrize(
        ("token", "status", "code"),
        [
            pytest.param(None, 401, "missing_token", id="no-token"),
            pytest.param("wrong", 401, "invalid_token", id="wrong-token"),
        ],
    )
    def test_writes_need_the_token(
        self, api: LiveApi, token: str | None, status: int, code: str
    ) -> None:
        """Opening, updating or scheduling without the right token is refused and stores nothing."""
        now = datetime.now(UTC)
        with api.client(token) as client:
            answers = [
                client.post(INCIDENTS, json={"name": "x", "body": "y"}),
                client.post(f"{INCIDENTS}/1/updates", json={"status": "resolved", "body": "y"}),
                client.post(
                    MAINTENANCES,
                    json={
                        "name": "x",
                        "body": "y",
                        "scheduled_for": iso(now),
                        "scheduled_until": iso(now + timedelta(hours=1)),
                    },
                ),
            ]
        with api.client(TOKEN) as client:
            stored = client.get(INCIDENTS).json()["notices"]
        assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [(status, code)] * 3
        assert stored == []

    def test_without_a_configured_token_writes_are_disabled(self, start_api: StartApi) -> None:
        """With no api.token, opening an incident is a 403 saying how to enable it."""
        live = start_api(checks=CHECKS)
        with live.client() as client:
            answer = client.post(INCIDENTS, json={"name": "x", "body": "y"})
        assert answer.status_code == 403
        assert "api.token" in answer.json()["error"]["message"]

    @pytest.mark.parametrize(
        ("path", "body", "names"),
        [
            pytest.param(INCIDENTS, {"body": "y"}, "'name'", id="missing-name"),
            pytest.param(
                INCIDENTS, {"name": "x", "body": "y", "status": "fixed"}, "'status'", id="status"
            ),
            pytest.param(
                INCIDENTS, {"name": "x", "body": "y", "impact": "huge"}, "'impact'", id="impact"
            ),
            pytest.param(
                INCIDENTS,
                {"name": "x", "body": "y", "components": ["home", "nope"]},
                "'components.1': no check named 'nope'",
                id="unknown-check",
            ),
            pytest.param(
                INCIDENTS,
                {"name": "x", "body": "y", "components": ["group:Nope"]},
                "'components.0': no check group named 'Nope'",
                id="unknown-group",
            ),
            pytest.param(
                INCIDENTS,
                {"name": "x", "body": "y", "started_at": "2026-01-01T00:00:00"},
                "'started_at'",
                id="naive-time",
            ),
            pytest.param(
                INCIDENTS, {"name": "x", "body": "y", "severity": "high"}, "'severity'", id="extra"
            ),
            pytest.param(
                MAINTENANCES,
                {
                    "name": "x",
                    "body": "y",
                    "scheduled_for": "2026-01-02T00:00:00Z",
                    "scheduled_until": "2026-01-01T00:00:00Z",
                },
                "scheduled_until must be after scheduled_for",
                id="window-backwards",
            ),
            pytest.param(
                MAINTENANCES, {"name": "x", "body": "y"}, "'scheduled_for'", id="no-window"
            ),
        ],
    )
    def test_bad_requests_are_422_naming_the_field(
        self, api: LiveApi, path: str, body: dict[str, Any], names: str
    ) -> None:
        """A bad field is a 422 whose message names it."""
        with api.client(TOKEN) as client:
            answer = client.post(path, json=body)
        assert answer.status_code == 422
        assert names in answer.json()["error"]["message"]

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            pytest.param("GET", f"{INCIDENTS}/99", id="get-incident"),
            pytest.param("POST", f"{INCIDENTS}/99/updates", id="update-incident"),
            pytest.param("GET", f"{MAINTENANCES}/99", id="get-maintenance"),
        ],
    )
    def test_unknown_notices_are_404(self, api: LiveApi, method: str, path: str) -> None:
        """An id that names no incident (or maintenance) is a 404 saying so."""
        body = {"status": "resolved", "body": "y"} if method == "POST" else None
        with api.client(TOKEN) as client:
            answer = client.request(method, path, json=body)
        assert answer.status_code == 404
        assert "with id 99" in answer.json()["error"]["message"]

    def test_an_incident_is_not_a_maintenance(self, api: LiveApi) -> None:
        """An incident's id under /maintenances is a 404, not the incident."""
        with api.client(TOKEN) as client:
            number = open_incident(client)["id"]
            answer = client.get(f"{MAINTENANCES}/{number}")
        assert answer.status_code == 404


class TestStatuspageJson:
    def test_summary_lists_open_incidents_and_maintenance_field_by_field(
        self, api: LiveApi
    ) -> None:
        """summary.json carries the people's open incident and the maintenance in progress in
        Statuspage's shape, the maintained check ``under_maintenance``."""
        now = datetime.now(UTC)
        seed(api, *(result(n, started_at=now) for n in ("home", "pay-api", "pay-web")))
        with api.client(TOKEN) as client:
            incident = open_incident(client, impact="major", components=["pay-api"])
            client.post(
                f"{INCIDENTS}/{incident['id']}/updates",
                json={"status": "identified", "body": "Found it."},
            )
            closed = open_incident(client, name="Old one")
            client.post(
                f"{INCIDENTS}/{closed['id']}/updates", json={"status": "resolved", "body": "ok"}
            )
            upkeep = schedule(
                client, now - timedelta(minutes=5), now + timedelta(hours=1), components=["home"]
            )
        with api.client() as client:
            summary = client.get("/api/v2/summary.json").json()
        assert set(summary) == {
            "page",
            "components",
            "incidents",
            "scheduled_maintenances",
            "status",
        }
        assert set(summary["page"]) == PAGE_FIELDS
        [made] = summary["incidents"]
        assert set(made) == INCIDENT_FIELDS
        assert (made["id"], made["name"], made["status"], made["impact"]) == (
            f"notice-{incident['id']}",
            "Payments slow",
            "identified",
            "major",
        )
        assert made["shortlink"] == "https://status.example.com"
        assert made["page_id"] == summary["page"]["id"]
        assert made["resolved_at"] is None
        assert [u["status"] for u in made["incident_updates"]] == ["identified", "investigating"]
        for update in made["incident_updates"]:
            assert set(update) == UPDATE_FIELDS
            assert update["incident_id"] == made["id"]
            parse(update["created_at"])
        assert [c["id"] for c in made["components"]] == ["pay-api"]
        [maintenance] = summary["scheduled_maintenances"]
        assert set(maintenance) == MAINTENANCE_FIELDS
        assert (maintenance["id"], maintenance["status"], maintenance["impact"]) == (
            f"notice-{upkeep['id']}",
            "in_progress",
            "maintenance",
        )
        assert parse(maintenance["scheduled_until"]) > parse(maintenance["scheduled_for"])
        status = {c["id"]: c["status"] for c in summary["components"]}
        assert status["home"] == "under_maintenance"
        assert status["pay-api"] == "operational"

    def test_incidents_json_keeps_resolved_and_alert_made_ones(self, api: LiveApi) -> None:
        """incidents.json lists people's incidents, resolved too, beside alert-made ones named
        after their check."""
        now = datetime.now(UTC)

        async def outage() -> int:
            return await api.service.store.open_incident(
                "pay-web", "eu", started_at=now - timedelta(minutes=3), message="HTTP 503"
            )

        seed(api, result("pay-web", started_at=now))
        alert_id = api.call(outage)
        with api.client(TOKEN) as client:
            made = open_incident(client)
            client.post(
                f"{INCIDENTS}/{made['id']}/updates", json={"status": "resolved", "body": "ok"}
            )
        with api.client() as client:
            answer = client.get("/api/v2/incidents.json").json()
        assert set(answer) == {"page", "incidents"}
        by_id = {i["id"]: i for i in answer["incidents"]}
        assert set(by_id) == {f"notice-{made['id']}", str(alert_id)}
        for incident in answer["incidents"]:
            assert set(incident) == INCIDENT_FIELDS
        assert by_id[f"notice-{made['id']}"]["status"] == "resolved"
        assert by_id[f"notice-{made['id']}"]["resolved_at"] is not None
        assert by_id[str(alert_id)]["name"] == "pay-web failing in eu"

    def test_scheduled_maintenances_json_lists_every_state(self, api: LiveApi) -> None:
        """scheduled-maintenances.json lists scheduled and completed maintenance alike."""
        now = datetime.now(UTC)
        with api.client(TOKEN) as client:
            ahead = schedule(client, now + timedelta(days=2), now + timedelta(days=2, hours=1))
            past = schedule(client, now - timedelta(hours=3), now - timedelta(hours=2))
        with api.client() as client:
            answer = client.get("/api/v2/scheduled-maintenances.json").json()
        assert set(answer) == {"page", "scheduled_maintenances"}
        states = {m["id"]: m["status"] for m in answer["scheduled_maintenances"]}
        assert states == {
            f"notice-{ahead['id']}": "scheduled",
            f"notice-{past['id']}": "completed",
        }
        for maintenance in answer["scheduled_maintenances"]:
            assert set(maintenance) == MAINTENANCE_FIELDS


class TestPrivateChecks:
    def test_a_notice_about_private_checks_only_is_for_token_holders(self, api: LiveApi) -> None:
        """An incident naming only a ``public: false`` check is absent for the public."""
        with api.client(TOKEN) as client:
            made = open_incident(client, components=["internal"])
            mine = client.get(INCIDENTS).json()["notices"]
        with api.client() as client:
            public = client.get(INCIDENTS).json()["notices"]
            one = client.get(f"{INCIDENTS}/{made['id']}")
            summary = client.get("/api/v2/summary.json").json()
        assert [n["id"] for n in mine] == [made["id"]]
        assert public == []
        assert one.status_code == 404
        assert summary["incidents"] == []


class TestAtomFeed:
    def test_the_feed_parses_back_with_each_incident_and_maintenance(self, api: LiveApi) -> None:
        """/feed.atom is Atom with one entry per incident and maintenance, their updates in the
        content, and the page links to it."""
        now = datetime.now(UTC)
        with api.client(TOKEN) as client:
            made = open_incident(client, components=["group:Payments"])
            client.post(
                f"{INCIDENTS}/{made['id']}/updates",
                json={"status": "monitoring", "body": "Fix deployed."},
            )
            schedule(client, now + timedelta(days=1), now + timedelta(days=1, hours=1))
        with api.client() as client:
            response = client.get("/feed.atom")
            page = client.get("/").text
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(response.content)
        assert feed.tag == f"{ATOM}feed"
        assert feed.findtext(f"{ATOM}id")
        assert feed.find(f"{ATOM}author/{ATOM}name") is not None
        parse(feed.findtext(f"{ATOM}updated") or "")
        entries = feed.findall(f"{ATOM}entry")
        titles = [e.findtext(f"{ATOM}title") for e in entries]
        assert sorted(t or "" for t in titles) == [
            "Database upgrade (Scheduled)",
            "Payments slow (Monitoring)",
        ]
        ids = [e.findtext(f"{ATOM}id") for e in entries]
        assert len(set(ids)) == 2
        incident = entries[titles.index("Payments slow (Monitoring)")]
        content = incident.findtext(f"{ATOM}content") or ""
        assert "Monitoring: Fix deployed." in content
        assert "Investigating: Looking into it." in content
        assert content.index("Fix deployed.") < content.index("Looking into it.")
        for entry in entries:
            parse(entry.findtext(f"{ATOM}updated") or "")
            link = entry.find(f"{ATOM}link")
            assert link is not None
            assert link.get("href") == "https://status.example.com/"
        assert 'rel="alternate" type="application/atom+xml"' in page
        assert 'href="feed.atom"' in page


class TestPage:
    def test_the_page_shows_incidents_maintenance_and_checks_under_maintenance(
        self, api: LiveApi
    ) -> None:
        """The page lists the incident with its updates and the maintenance; a failing check in
        maintenance says "Under maintenance" while its region still shows the failure."""
        now = datetime.now(UTC)
        seed(api, result("home", started_at=now, status=Status.FAIL, message="HTTP 503"))
        with api.client(TOKEN) as client:
            open_incident(client, components=["pay-api"])
            schedule(
                client, now - timedelta(minutes=1), now + timedelta(hours=1), components=["home"]
            )
            schedule(
                client, now + timedelta(days=1), now + timedelta(days=1, hours=1), name="Later"
            )
        with api.client() as client:
            page = client.get("/").text
        assert "<h2>Incidents</h2>" in page
        assert "Looking into it." in page
        assert "<strong>Database upgrade</strong>" in page
        assert "<strong>Later</strong>" in page
        assert '<span class="label">In progress</span>' in page
        assert '<span class="label">Scheduled</span>' in page
        assert '<span class="label maint">Under maintenance</span>' in page
        assert 'eu: <span class="label major">Failing</span>' in page
        assert '<p class="banner maint" role="status">Under maintenance</p>' in page


WINDOWS = """\
alerts: []
maintenance:
  - {name: always, cron: '* * * * *', duration: 2h, checks: ['pay-*']}
"""


@pytest.fixture
def with_windows(tmp_path: Path, served: DemoTargetThread) -> Iterator[LiveApi]:
    """The API over CHECKS and a rules file whose maintenance window is always in progress."""
    text = config_yaml(tmp_path / "results.db", checks=CHECKS, api=WRITES)
    (tmp_path / "smokewatch.yaml").write_text(
        text.replace("alert_rules: null", "alert_rules: alert-rules.yaml")
    )
    (tmp_path / "alert-rules.yaml").write_text(WINDOWS)
    env = {"TARGET": served.url, "STATUS_API_KEY": SECRET, "API_TOKEN": TOKEN}
    live = LiveApi(
        RuntimeService(load_config(tmp_path / "smokewatch.yaml", env), region="eu", env=env)
    )
    live.start()
    yield live
    live.stop()


class TestConfigWindows:
    def test_a_rules_file_window_is_shown_in_progress(self, with_windows: LiveApi) -> None:
        """A maintenance window of alert-rules.yaml shows on the page and in the JSON, its
        checks under maintenance."""
        with with_windows.client() as client:
            summary = client.get("/api/v2/summary.json").json()
            page = client.get("/").text
        [window] = summary["scheduled_maintenances"]
        assert (window["id"], window["name"], window["status"]) == (
            "window-always",
            "always",
            "in_progress",
        )
        assert set(window) == MAINTENANCE_FIELDS
        assert parse(window["scheduled_until"]) - parse(window["scheduled_for"]) == timedelta(
            hours=2
        )
        assert sorted(c["id"] for c in window["components"]) == ["pay-api", "pay-web"]
        status = {c["id"]: c["status"] for c in summary["components"]}
        assert (status["pay-api"], status["home"]) == ("under_maintenance", "operational")
        assert "In progress, recurring" in page

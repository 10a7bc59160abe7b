"""Specifications of check groups and private checks on the page and the status answers."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from probes.base import Status
from tests.api.conftest import TOKEN, LiveApi, StartApi, result, seed

NOW = datetime.now(UTC)
CHECKS = """\
- {name: home, kind: http, url: '${TARGET}/health'}
- {name: pay-api, kind: http, url: '${TARGET}/health', group: Payments}
- {name: pay-web, kind: http, url: '${TARGET}/health', group: Payments}
- {name: search, kind: http, url: '${TARGET}/health', group: Search}
- {name: admin-db, kind: http, url: '${TARGET}/health', group: Payments, public: false}
"""


def serve(start_api: StartApi) -> LiveApi:
    """pay-web is slow, the private admin-db fails with an open incident, the rest pass."""
    api = start_api(checks=CHECKS, api="token: ${API_TOKEN}\n")
    statuses = {"pay-web": Status.DEGRADED, "admin-db": Status.FAIL}
    seed(
        api,
        *(
            result(name, started_at=NOW, status=statuses.get(name, Status.PASS))
            for name in ("home", "pay-api", "pay-web", "search", "admin-db")
        ),
    )

    async def incident() -> None:
        await api.service.store.open_incident(
            "admin-db", "eu", started_at=NOW - timedelta(minutes=3), message="db answers 500"
        )

    api.call(incident)
    return api


def sections(html: str) -> dict[str, str]:
    """Group name -> its roll-up label, as the page shows them."""
    found = re.findall(
        r'<section class="group"[^>]*>\s*<div class="head"><h3[^>]*>([^<]+)</h3>'
        r'<span class="label [a-z]+">([^<]+)</span>',
        html,
    )
    return dict(found)


def names(html: str) -> list[str]:
    return re.findall(r'<a class="name" id="check-[^"]+" href="[^"]+">([^<]+)</a>', html)


class TestGroups:
    def test_groups_are_sections_with_their_own_roll_up(self, start_api: StartApi) -> None:
        """Ungrouped checks come first; each group reads its worst public check's state."""
        api = serve(start_api)
        with api.client() as client:
            html = client.get("/").text
        assert sections(html) == {"Payments": "Degraded", "Search": "Operational"}
        assert names(html) == ["home", "pay-api", "pay-web", "search"]
        assert 'href="checks/pay-web"' in html

    def test_an_empty_group_name_is_refused_naming_the_field(self, tmp_path: Path) -> None:
        """``group: ''`` is a load error naming the check and the field."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            textwrap.dedent("""\
            checks:
              - {name: home, kind: http, url: 'https://example.com', group: ''}
            """)
        )
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        found = {(p.item, p.field, p.line) for p in info.value.problems}
        assert found == {("checks[0] (home)", "group", 2)}


class TestStatuspageGroups:
    def test_groups_are_group_components(self, start_api: StartApi) -> None:
        """Statuspage's shape: a group is a component with ``group: true`` and its members'
        ids, which name it as ``group_id``; its status is its worst member's."""
        api = serve(start_api)
        with api.client() as client:
            components = client.get("/api/v2/summary.json").json()["components"]
        by_id = {c["id"]: c for c in components}
        groups = [c for c in components if c["group"]]
        assert [(g["id"], g["name"], g["components"], g["status"]) for g in groups] == [
            ("group:Payments", "Payments", ["pay-api", "pay-web"], "degraded_performance"),
            ("group:Search", "Search", ["search"], "operational"),
        ]
        assert [by_id[n]["group_id"] for n in ("home", "pay-api", "pay-web", "search")] == [
            None,
            "group:Payments",
            "group:Payments",
            "group:Search",
        ]
        assert "components" not in by_id["pay-api"]
        assert [c["position"] for c in components] == list(range(1, len(components) + 1))


class TestPrivateChecks:
    @pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong-token"])
    def test_absent_without_the_token(self, start_api: StartApi, token: str | None) -> None:
        """The page, /api/v1/status and summary.json do not show a ``public: false`` check,
        its incident, or its failure in the overall state."""
        api = serve(start_api)
        with api.client(token) as client:
            html = client.get("/").text
            status = client.get("/api/v1/status").json()
            summary = client.get("/api/v2/summary.json").json()
            indicator = client.get("/api/v2/status.json").json()["status"]["indicator"]
            listed = [c["name"] for c in client.get("/api/v1/checks").json()["checks"]]
            detail = client.get("/api/v1/checks/admin-db")
            uptime = client.get("/api/v1/checks/admin-db/uptime")
            incidents = client.get("/api/v1/incidents").json()["incidents"]
        assert listed == ["home", "pay-api", "pay-web", "search"]
        assert (detail.status_code, uptime.status_code) == (404, 404)
        assert detail.json()["error"]["message"] == "no check named 'admin-db'"
        assert incidents == []
        assert "admin-db" not in html
        assert "db answers 500" not in html
        assert "admin-db" not in status["services"]
        assert [c["name"] for c in status["checks"]] == ["home", "pay-api", "pay-web", "search"]
        ids = [c["id"] for c in summary["components"]]
        assert ids == ["home", "pay-api", "pay-web", "search", "group:Payments", "group:Search"]
        assert summary["incidents"] == []
        assert indicator == "minor"  # pay-web slow; admin-db's outage is not told

    def test_present_with_the_token(self, start_api: StartApi) -> None:
        """A token holder sees the private check everywhere, with its incident."""
        api = serve(start_api)
        with api.client(TOKEN) as client:
            html = client.get("/").text
            status = client.get("/api/v1/status").json()
            summary = client.get("/api/v2/summary.json").json()
            indicator = client.get("/api/v2/status.json").json()["status"]["indicator"]
        assert names(html) == ["home", "pay-api", "pay-web", "admin-db", "search"]
        assert sections(html) == {"Payments": "Down", "Search": "Operational"}
        assert indicator == "critical"
        with api.client(TOKEN) as client:
            detail = client.get("/api/v1/checks/admin-db").json()
            incidents = client.get("/api/v1/incidents").json()["incidents"]
        assert (detail["group"], detail["public"], detail["status"]) == ("Payments", False, "down")
        assert [i["check"] for i in incidents] == ["admin-db"]
        assert "db answers 500" in html
        assert status["services"]["admin-db"] == "down"
        assert "admin-db" in [c["id"] for c in summary["components"]]
        assert [i["components"][0]["id"] for i in summary["incidents"]] == ["admin-db"]

    def test_public_and_private_answers_are_cached_apart(self, start_api: StartApi) -> None:
        """With the cache on, a public reader after a token holder still gets the public
        answer, and the other way round."""
        api = start_api(checks=CHECKS, api="token: ${API_TOKEN}\ncache: 60s\npage_cache: 60s\n")
        seed(api, result("admin-db", started_at=NOW, status=Status.FAIL))
        with api.client(TOKEN) as holder, api.client() as public:
            private_first = holder.get("/api/v1/status").json()["services"]
            public_then = public.get("/api/v1/status").json()["services"]
            page_first = holder.get("/").text
            page_then = public.get("/").text
        assert "admin-db" in private_first
        assert "admin-db" not in public_then
        assert "admin-db" in page_first
        assert "admin-db" not in page_then

"""The status page with an incident and maintenance people wrote, in a real Chromium: at
1400 px and 390 px, light and dark, with no console errors and no serious or critical
axe-core violations.  Screenshots go to ``$SMOKEWATCH_SHOTS`` when it is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import TOKEN, LiveApi, StartApi, seed
from tests.api.test_pages_in_chromium import (  # noqa: F401 -- browser and visit are fixtures
    CHECKS,
    Visit,
    browser,
    history,
    page_state,
    visit,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def api(start_api: StartApi) -> LiveApi:
    """The Chromium tests' history plus an incident with two updates, a maintenance in progress
    on the failing check's group and one scheduled for tomorrow."""
    live = start_api(checks=CHECKS, api="title: Acme status\ntoken: ${API_TOKEN}\n")
    seed(live, *history())
    now = datetime.now(UTC)
    path = "/api/v1/status-page"
    with live.client(TOKEN) as client:
        made = client.post(
            f"{path}/incidents",
            json={
                "name": "Search results are slow",
                "body": "We are looking into slow search answers in the EU.",
                "impact": "minor",
                "components": ["search"],
            },
        ).json()
        client.post(
            f"{path}/incidents/{made['id']}/updates",
            json={"status": "identified", "body": "An index rebuild is running; it ends soon."},
        )
        for name, start in (("Payments database upgrade", now - timedelta(minutes=10)),
                            ("Network maintenance", now + timedelta(days=1))):  # fmt: skip
            client.post(
                f"{path}/maintenances",
                json={
                    "name": name,
                    "body": "Payments may answer slowly or not at all.",
                    "scheduled_for": start.isoformat(),
                    "scheduled_until": (start + timedelta(hours=1)).isoformat(),
                    "components": ["group:Payments"],
                },
            )
    return live


class TestPageWithNotices:
    def test_renders_cleanly(self, api: LiveApi, visit: Visit) -> None:  # noqa: F811
        """The incident, the maintenance and the checks under maintenance show, with no console
        error, no serious axe finding and no sideways scrolling."""
        assert visit.open(api.url + "/") == 200
        visit.shoot(f"notices-{visit.name}")
        state = page_state(visit.page)
        notices = visit.page.locator(".notices > li .text strong").all_inner_texts()
        maintained = visit.page.locator("#check-pay-web ~ .label").inner_text()
        feed = visit.page.locator('link[rel="alternate"]').get_attribute("href")
        violations = visit.serious_violations()
        assert visit.errors == []
        assert violations == []
        assert notices == [
            "Search results are slow",
            "Network maintenance",
            "Payments database upgrade",
        ]
        assert maintained == "Under maintenance"
        assert feed == "feed.atom"
        assert state["overflow"] <= 0

"""Specifications of the SVG badges under ``/badges``: what they say, their colours, caching."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from monitor.api.badges import Badge, render, text_width, uptime_colour
from probes.base import Status
from tests.api.conftest import TOKEN, LiveApi, StartApi, result, seed

NOW = datetime.now(UTC)
CHECKS = """\
- {name: pay-api, kind: http, url: '${TARGET}/health', group: Payments}
- {name: pay-web, kind: http, url: '${TARGET}/health', group: Payments}
- {name: pay-db, kind: http, url: '${TARGET}/health', group: Payments, public: false}
- {name: idle, kind: http, url: '${TARGET}/health'}
"""
SVG_NS = "{http://www.w3.org/2000/svg}"


def serve(start_api: StartApi) -> LiveApi:
    """pay-api: 99 of 100 runs up over the day, 20 ms each, passing now; pay-web: 40 ms,
    slow now; pay-db (private) down."""
    api = start_api(checks=CHECKS, api="token: ${API_TOKEN}\n")
    records = [
        result(
            "pay-api",
            started_at=NOW - timedelta(minutes=10 * n + 1),
            status=Status.FAIL if n == 50 else Status.PASS,
            duration_ms=20.0,
        )
        for n in range(100)
    ]
    records += [
        result("pay-web", started_at=NOW, status=Status.DEGRADED, duration_ms=40.0),
        result("pay-db", started_at=NOW, status=Status.FAIL, duration_ms=20.0),
    ]
    seed(api, *records)
    return api


def said(body: str) -> tuple[str, str]:
    """The badge's accessible name, and the fill of its right-hand part."""
    root = ET.fromstring(body)
    fills = [r.get("fill") for r in root.iter(f"{SVG_NS}rect") if r.get("fill")]
    return root.get("aria-label") or "", fills[-1] or ""


class TestRendering:
    def test_a_badge_is_an_svg_that_fits_its_text(self) -> None:
        """Label and value are escaped, named for screen readers, and the image is as wide as
        both texts plus padding."""
        body = render(Badge("a<b", "up", "ok"))
        root = ET.fromstring(body)
        assert root.get("aria-label") == "a<b: up"
        assert int(root.get("width") or 0) == text_width("a<b") + text_width("up") + 24

    @pytest.mark.parametrize(
        ("uptime", "colour"),
        [
            (None, "none"),
            (1.0, "ok"),
            (0.999, "ok"),
            (0.995, "minor"),
            (0.97, "partial"),
            (0.5, "major"),
        ],
    )
    def test_uptime_colours(self, uptime: float | None, colour: str) -> None:
        """Green from 99.9 %, amber from 99 %, orange from 95 %, red below, grey without data."""
        assert uptime_colour(uptime) == colour


class TestBadgesOverHttp:
    @pytest.mark.parametrize(
        ("path", "name", "fill"),
        [
            ("/badges/checks/pay-api/status.svg", "pay-api: up", "#1a7f37"),
            ("/badges/checks/pay-web/status.svg", "pay-web: degraded", "#9a6700"),
            ("/badges/checks/idle/status.svg", "idle: no data", "#59636e"),
            ("/badges/checks/pay-api/uptime.svg", "uptime 24h: 99%", "#9a6700"),
            ("/badges/checks/pay-api/uptime.svg?window=7d", "uptime 7d: 99%", "#9a6700"),
            ("/badges/checks/idle/uptime.svg?window=30d", "uptime 30d: no data", "#59636e"),
            ("/badges/checks/pay-api/response-time.svg", "response 24h: 20 ms", "#0969da"),
            ("/badges/groups/Payments/status.svg", "Payments: degraded", "#9a6700"),
            ("/badges/groups/Payments/uptime.svg", "uptime 24h: 99.01%", "#9a6700"),
            ("/badges/groups/Payments/response-time.svg", "response 24h: 20 ms", "#0969da"),
            ("/badges/checks/pay-api/status.svg?label=Pay%20API", "Pay API: up", "#1a7f37"),
        ],
    )
    def test_what_each_badge_says(
        self, start_api: StartApi, path: str, name: str, fill: str
    ) -> None:
        """Each badge says its figure in words and colours it; the private check counts in
        no public figure."""
        api = serve(start_api)
        with api.client() as client:
            response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/svg+xml"
        assert said(response.text) == (name, fill)

    def test_private_checks_count_for_token_holders_only(self, start_api: StartApi) -> None:
        """A private check's badge is a 404 without the token; with it, the check and its
        group's state show it."""
        api = serve(start_api)
        with api.client() as client:
            hidden = client.get("/badges/checks/pay-db/status.svg")
        with api.client(TOKEN) as client:
            check = said(client.get("/badges/checks/pay-db/status.svg").text)[0]
            group = said(client.get("/badges/groups/Payments/status.svg").text)[0]
            cache = client.get("/badges/checks/pay-db/status.svg").headers["cache-control"]
        assert hidden.status_code == 404
        assert (check, group) == ("pay-db: down", "Payments: down")
        assert cache == "private, max-age=60"

    @pytest.mark.parametrize(
        ("path", "status", "message"),
        [
            ("/badges/groups/Nope/status.svg", 404, "no group named 'Nope'"),
            ("/badges/checks/pay-api/colour.svg", 422, "kind"),
            ("/badges/checks/pay-api/uptime.svg?window=1y", 422, "window"),
        ],
        ids=["unknown-group", "bad-kind", "bad-window"],
    )
    def test_bad_requests(self, start_api: StartApi, path: str, status: int, message: str) -> None:
        """An unknown group is a 404, a bad kind or window a 422 naming the parameter."""
        api = serve(start_api)
        with api.client() as client:
            response = client.get(path)
        assert response.status_code == status
        assert message in response.json()["error"]["message"]

    def test_cacheable_and_fresh(self, start_api: StartApi) -> None:
        """A badge has an ETag and a public max-age; the same ETag gets a 304 without a body,
        and a newly stored result changes the badge (and its ETag) at once."""
        api = start_api(checks=CHECKS, api="cache: 60s\n")
        path = "/badges/checks/pay-api/status.svg"
        with api.client() as client:
            first = client.get(path)
            etag = first.headers["etag"]
            again = client.get(path, headers={"If-None-Match": etag})
            seed(api, result("pay-api", started_at=datetime.now(UTC), status=Status.FAIL))
            changed = client.get(path, headers={"If-None-Match": etag})
        assert first.headers["cache-control"] == "public, max-age=60"
        assert re.fullmatch(r'"[0-9a-f]{20}"', etag)
        assert (again.status_code, again.content) == (304, b"")
        assert changed.status_code == 200
        assert said(changed.text)[0] == "pay-api: down"
        assert changed.headers["etag"] != etag

"""Specifications of the status page past ``FULL_ROWS`` checks: a full row for each check
that is not operational (up to FULL_ROWS of them, the most severe first), a compact row
(name, state, link) for each operational one and for those past the cap."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime

from monitor.api.page import FULL_ROWS
from probes.base import Status
from tests.api.conftest import LiveApi, StartApi, result, seed

NOW = datetime.now(UTC)


def fleet(count: int) -> str:
    """``count`` checks of the group Fleet, named f000, f001, ..."""
    return "".join(
        f"- {{name: f{n:03d}, kind: http, url: '${{TARGET}}/health', group: Fleet}}\n"
        for n in range(count)
    )


def serve(
    start_api: StartApi, count: int, *, failing: str, unseeded: str | Collection[str]
) -> LiveApi:
    """``count`` checks: ``failing`` fails, ``unseeded`` have no result, the rest pass."""
    unseeded = {unseeded} if isinstance(unseeded, str) else set(unseeded)
    api = start_api(checks=fleet(count))
    seed(
        api,
        *(
            result(name, started_at=NOW, status=Status.FAIL if name == failing else Status.PASS)
            for name in (f"f{n:03d}" for n in range(count))
            if name not in unseeded
        ),
    )
    return api


def full_rows(html: str) -> list[str]:
    return re.findall(r'<a class="name" id="check-[^"]+" href="[^"]+">([^<]+)</a>', html)


def compact_rows(html: str, css: str = "compact") -> dict[str, str]:
    """Check name -> state label, of the compact rows (``compact overflow``: the open list
    of checks not operational past the cap)."""
    found = re.search(rf'<details class="{css}"(?: open)?>(.*?)</details>', html, re.S)
    if found is None:
        return {}
    rows = re.findall(
        r'<li><a href="checks/([^"]+)">[^<]+</a> <span class="label [a-z]+">([^<]+)</span></li>',
        found.group(1),
    )
    return dict(rows)


class TestCrowdedPage:
    def test_past_full_rows_only_checks_not_operational_get_a_full_row(
        self, start_api: StartApi
    ) -> None:
        """With FULL_ROWS + 20 checks, the failing one and the one without data are drawn in
        full (bars, sparkline); every operational one is a compact row linking to its page,
        and the group still reads Down."""
        count = FULL_ROWS + 20
        api = serve(start_api, count, failing="f007", unseeded="f100")
        with api.client() as client:
            html = client.get("/").text
        assert full_rows(html) == ["f007", "f100"]
        assert html.count('<div class="bars"') == 2
        compact = compact_rows(html)
        operational = {f"f{n:03d}" for n in range(count)} - {"f007", "f100"}
        assert set(compact) == operational
        assert set(compact.values()) == {"Operational"}
        assert f"{len(operational)} more checks operational" in html
        assert re.search(r"<h3[^>]*>Fleet</h3><span class=\"label major\">Down</span>", html)

    def test_up_to_full_rows_every_check_is_drawn_in_full(self, start_api: StartApi) -> None:
        """A page of exactly FULL_ROWS checks has no compact rows."""
        api = serve(start_api, FULL_ROWS, failing="f003", unseeded="none")
        with api.client() as client:
            html = client.get("/").text
        assert len(full_rows(html)) == FULL_ROWS
        assert html.count('<div class="bars"') == FULL_ROWS
        assert compact_rows(html) == {}

    def test_past_the_cap_checks_not_operational_are_listed_open(self, start_api: StartApi) -> None:
        """A first start of a big config: 105 of FULL_ROWS + 30 checks have no data yet and one
        fails.  The failing one is drawn first (the most severe), then the first 99 without
        data; the other 6 without data are listed by name and state in an open list, never
        folded away, and the operational ones stay folded."""
        count = FULL_ROWS + 30
        waiting = [f"f{n:03d}" for n in range(20, 125)]
        api = serve(start_api, count, failing="f007", unseeded=waiting)
        with api.client() as client:
            html = client.get("/").text
        assert full_rows(html) == ["f007", *waiting[: FULL_ROWS - 1]]
        assert html.count('<div class="bars"') == FULL_ROWS
        overflow = compact_rows(html, "compact overflow")
        assert overflow == dict.fromkeys(waiting[FULL_ROWS - 1 :], "No data")
        assert '<details class="compact overflow" open>' in html
        assert "6 more checks not operational" in html
        operational = {f"f{n:03d}" for n in range(count)} - {"f007", *waiting}
        assert compact_rows(html) == dict.fromkeys(operational, "Operational")
        assert f"{len(operational)} more checks operational" in html
        assert re.search(r"<h3[^>]*>Fleet</h3><span class=\"label major\">Down</span>", html)

"""Specifications of the per-check page ``/checks/{name}``: its chart, its HTML, its guards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.api.chart import Series, line_chart, nice_step
from monitor.api.check_page import phase_chart
from monitor.store import ResultRecord
from probes.base import Status
from probes.reasons import FailureReason
from tests.api.conftest import TOKEN, LiveApi, StartApi, result, seed

NOW = datetime.now(UTC).replace(microsecond=0)
CHECKS = """\
- {name: pay-api, kind: http, url: '${TARGET}/health', group: Payments, regions: [eu, us]}
- {name: secret-db, kind: http, url: '${TARGET}/health', public: false}
- name: api-status
  kind: http
  url: ${TARGET}/api/v1/status
  expect: {status: [201]}
"""
# The chart's lines for an HTTP check, in order.
HTTP_LINES = ["total", "connect", "tls", "request", "first_byte", "transfer"]
PHASES = {"connect": 2.0, "tls": 0.0, "request": 0.5, "first_byte": 30.0, "transfer": 1.5}


def timed(
    region: str,
    ago: timedelta,
    status: Status = Status.PASS,
    duration_ms: float = 34.0,
    **fields: Any,
) -> ResultRecord:
    timings = {**PHASES, "total": sum(PHASES.values())}
    return result(
        "pay-api",
        region,
        status,
        started_at=datetime.now(UTC).replace(microsecond=0) - ago,  # the page's windows end now
        timings=timings,
        duration_ms=duration_ms,
        **fields,
    )


def serve(start_api: StartApi) -> LiveApi:
    """pay-api: eu passes every 10 min over two days, 34 ms each; us failed 3 h ago (a 5 s
    timeout), passed, and now fails."""
    api = start_api(checks=CHECKS, api="token: ${API_TOKEN}\n")
    records = [timed("eu", timedelta(minutes=10 * n)) for n in range(1, 288)]
    records += [
        timed("us", timedelta(hours=3), Status.FAIL, 5000.0, reason=FailureReason.TIMEOUT),
        timed("us", timedelta(hours=2)),
        timed(
            "us",
            timedelta(minutes=1),
            Status.FAIL,
            reason=FailureReason.HTTP_STATUS,
            message="expected status 200, got 503",
        ),
    ]
    seed(api, *records)
    return api


class TestChart:
    @pytest.mark.parametrize(
        ("top", "step"),
        [(0.0, 1.0), (4.2, 1.0), (34.0, 10.0), (101.0, 50.0), (950.0, 200.0), (2600.0, 1000.0)],
    )
    def test_y_steps_are_round(self, top: float, step: float) -> None:
        """At most five steps from zero past the top value, each 1, 2 or 5 times ten to n."""
        assert nice_step(top) == step

    def test_axes_and_gaps(self) -> None:
        """Ticks from 0 ms to a round top; a missing bucket breaks the line, a lone one is a dot."""
        starts = [datetime(2025, 3, 1, h, tzinfo=UTC) for h in range(6)]
        chart = line_chart(
            "t", starts, [Series("total", [10.0, 20.0, None, 34.0, None, None])], time_format="%H"
        )
        [line] = chart.lines
        assert [t.label for t in chart.y_ticks] == ["0 ms", "10 ms", "20 ms", "30 ms", "40 ms"]
        assert [t.label for t in chart.x_ticks] == ["00", "01", "02", "03", "04", "05"]
        assert (len(line.paths), len(line.dots)) == (1, 1)
        assert line.summary == "total: mean 21 ms, slowest 34 ms"
        assert (chart.y_ticks[0].at, chart.y_ticks[-1].at) == (chart.bottom, chart.top)

    def test_phases_are_means_per_bucket_without_errors(self) -> None:
        """Each phase is a series of hourly means; error results are no evidence and left out."""
        records = [
            result(started_at=NOW - timedelta(minutes=30), timings={"first_byte": 10.0}),
            result(started_at=NOW - timedelta(minutes=20), timings={"first_byte": 30.0}),
            result(
                started_at=NOW - timedelta(minutes=10),
                status=Status.ERROR,
                timings={"first_byte": 9000.0},
            ),
        ]
        chart = phase_chart(records, now=NOW, chart_range="24h")
        [line] = chart.lines
        assert line.summary == "first_byte: mean 20 ms, slowest 20 ms"
        assert len(chart.x_ticks) == 6  # 24 hourly buckets, a label every 4 hours


class TestCheckPageHtml:
    def test_regions_uptime_chart_and_failures(self, start_api: StartApi) -> None:
        """The page shows each region's newest result, uptime per region and window, a chart
        with one line per phase and labelled axes, and the failures with their reasons."""
        api = serve(start_api)
        with api.client() as client:
            response = client.get("/checks/pay-api")
        html = response.text
        assert response.status_code == 200
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "<title>pay-api: Degraded - smokewatch status</title>" in html
        assert "Group: Payments" in html
        cells = dict(re.findall(r'<th scope="row">(\w+)</th><td><span class="label (\w+)">', html))
        assert cells == {"eu": "ok", "us": "major"}
        rows = re.findall(r'<tr><th scope="row">([\w ]+)</th>((?:<td>[^<]*</td>){5})</tr>', html)
        uptime = {region: re.findall(r"<td>([^<]*)</td>", tds) for region, tds in rows}
        assert uptime == {
            "eu": ["100 %"] * 4 + ["34 / 34 ms"],
            "us": ["33.33 %"] * 4 + ["34 / 5000 ms"],  # the timeout counts
            # 24h: 143 eu runs + 1 of 3 us ones up; beyond: 287 + 1 of 290.
            "All regions": ["98.63 %", "99.31 %", "99.31 %", "99.31 %", "34 / 34 ms"],
        }
        legend = re.findall(r'<li><span class="swatch c\d"[^>]*></span>([^<]+)</li>', html)
        assert [item.split(":")[0] for item in legend] == HTTP_LINES
        assert "first_byte: mean 30 ms, slowest 30 ms" in legend
        assert re.search(r'<text[^>]*text-anchor="end">0 ms</text>', html)
        assert re.search(r'<text[^>]*text-anchor="middle">\d\d:\d\d</text>', html)
        failures = re.findall(r'<span class="label">Failed: (\w+) \([^)]+\)</span>', html)
        assert failures == ["http_status", "timeout"]
        assert "expected status 200, got 503" in html
        assert '<a href="../">' in html

    def test_seven_days(self, start_api: StartApi) -> None:
        """``?range=7d`` draws six-hour buckets labelled by day."""
        api = serve(start_api)
        with api.client() as client:
            html = client.get("/checks/pay-api?range=7d").text
        assert "Response time by phase, last 7d (mean per 6 hours, UTC)" in html
        assert re.search(r'<text[^>]*text-anchor="middle">[A-Z][a-z]{2} \d\d</text>', html)

    @pytest.mark.parametrize(
        ("path", "token", "status", "message"),
        [
            ("/checks/nope", None, 404, "no check named 'nope'"),
            ("/checks/secret-db", None, 404, "no check named 'secret-db'"),
            ("/checks/secret-db", TOKEN, 200, None),
            ("/checks/pay-api?range=1y", None, 422, "range"),
        ],
        ids=["unknown", "private-without-token", "private-with-token", "bad-range"],
    )
    def test_guards(
        self, start_api: StartApi, path: str, token: str | None, status: int, message: str | None
    ) -> None:
        """Unknown and (without the token) private checks are 404s; a bad range is a 422
        naming the parameter."""
        api = serve(start_api)
        with api.client(token) as client:
            response = client.get(path)
        assert response.status_code == status
        if message is not None:
            assert message in response.json()["error"]["message"]

    def test_artifact_links_for_token_holders_only(self, start_api: StartApi) -> None:
        """A real failing run's evidence is linked for the token holder, not for the public."""
        api = serve(start_api)
        with api.client(TOKEN) as client:
            assert client.post("/api/v1/checks/api-status/run", timeout=60).status_code == 200
            private = client.get("/checks/api-status").text
        with api.client() as client:
            public = client.get("/checks/api-status").text
        links = re.findall(r'<a href="([^"]+/artifacts/[^"]+)" rel="nofollow">', private)
        assert links
        assert "/artifacts/" not in public
        assert "Failed: http_status" in public

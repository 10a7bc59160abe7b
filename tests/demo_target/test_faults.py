"""Faults switched at run time, over real HTTP: each on and off, scoped, and counted."""

from __future__ import annotations

import itertools
import logging
import time

import httpx
import pytest
import websockets
from pydantic import ValidationError

from examples.demo_target import DemoTargetThread, Faults, TargetState


def ws_url(served: DemoTargetThread, path: str) -> str:
    return served.url.replace("http://", "ws://", 1) + path


class TestFaultsModel:
    @pytest.mark.parametrize(
        ("faults", "path", "expected"),
        [
            (Faults(), "/anything", True),
            (Faults(path_prefix="/api/"), "/api/v1/status", True),
            (Faults(path_prefix="/api/"), "/health", False),
            (Faults(path_prefix="/api/", scope={"status": "/health"}), "/health", True),
        ],
        ids=["default-everything", "prefix-match", "prefix-miss", "per-fault-scope"],
    )
    def test_applies(self, faults: Faults, path: str, expected: bool) -> None:
        """A scoped fault covers paths under its own scope, else under path_prefix."""
        assert faults.applies("status", path) is expected

    @pytest.mark.parametrize(
        "bad",
        [
            {"nope": True},
            {"status": 200},
            {"flaky_percent": 101},
            {"scope": {"console_error": "/"}},
        ],
        ids=["unknown-field", "status-not-error", "percent-over-100", "unscoped-fault"],
    )
    def test_rejects_bad_values(self, bad: dict[str, object]) -> None:
        """Unknown fields and out-of-range values are refused, not ignored."""
        with pytest.raises(ValidationError):
            Faults.model_validate(bad)


def draws(state: TargetState, n: int) -> list[bool]:
    return [state.next_flaky() for _ in range(n)]


class TestRandomDraws:
    """flaky_percent and jitter_ms draw from seeded generators, per request."""

    def test_same_seed_same_failures(self) -> None:
        """Two targets with one seed fail the same requests; another seed fails others."""
        one, two, other = TargetState(seed=1), TargetState(seed=1), TargetState(seed=2)
        for state in (one, two, other):
            state.set_faults(flaky_percent=30)
        first = draws(one, 200)
        assert draws(two, 200) == first
        assert draws(other, 200) != first

    def test_failures_are_independent_at_the_given_rate(self) -> None:
        """About p % of requests fail, and a failure says nothing about the next request."""
        state = TargetState(seed=11)
        state.set_faults(flaky_percent=5)
        failed = draws(state, 20_000)
        after_failure = [b for a, b in itertools.pairwise(failed) if a]
        assert 0.04 < sum(failed) / len(failed) < 0.06
        assert 0.02 < sum(after_failure) / len(after_failure) < 0.08  # not every 20th request

    @pytest.mark.parametrize(("percent", "expected"), [(0, False), (100, True)], ids=["0", "100"])
    def test_edges(self, percent: int, expected: bool) -> None:
        """0 % never fails and 100 % always does."""
        state = TargetState(seed=3)
        state.set_faults(flaky_percent=percent)
        assert set(draws(state, 50)) == {expected}

    def test_other_fault_changes_do_not_restart_the_draws(self) -> None:
        """Switching other faults mid-run continues the sequence, never failing first again."""
        steady, switched = TargetState(seed=5), TargetState(seed=5)
        steady.set_faults(flaky_percent=40)
        switched.set_faults(flaky_percent=40)
        expected = draws(steady, 30)
        got: list[bool] = []
        for _ in range(3):
            got += draws(switched, 10)
            switched.set_faults(switched.faults, slow_ms=switched.faults.slow_ms + 1)
        assert got == expected

    def test_a_new_flaky_seed_restarts_the_draws(self) -> None:
        """Setting flaky_seed restarts the sequence, as a target started with that seed."""
        fresh, running = TargetState(seed=9), TargetState(seed=1)
        fresh.set_faults(flaky_percent=50)
        running.set_faults(flaky_percent=50)
        draws(running, 7)
        running.set_faults(running.faults, flaky_seed=9)
        assert draws(running, 40) == draws(fresh, 40)

    def test_reset_restarts_from_the_targets_seed(self) -> None:
        """A reset is a target with no history: the draws start over from --seed."""
        state = TargetState(seed=4)
        state.set_faults(flaky_percent=50)
        first = draws(state, 20)
        state.reset()
        state.set_faults(flaky_percent=50)
        assert draws(state, 20) == first

    def test_jitter_stays_within_bounds_and_varies(self) -> None:
        """jitter_ms delays by 0..jitter_ms, different per request, and leaves failures alone."""
        plain, jittered = TargetState(seed=6), TargetState(seed=6)
        plain.set_faults(flaky_percent=20)
        jittered.set_faults(flaky_percent=20, jitter_ms=80)
        delays = [jittered.next_jitter_s() for _ in range(500)]
        assert all(0 <= d <= 0.08 for d in delays)
        assert max(delays) - min(delays) > 0.06
        assert draws(jittered, 100) == draws(plain, 100)


class TestRequestFaults:
    async def test_slow_ms(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """slow_ms delays matching responses and only those."""
        state.set_faults(slow_ms=200, path_prefix="/health")
        slow = await client.get("/health")
        start = time.perf_counter()
        other = await client.get("/fast")
        other_s = time.perf_counter() - start
        assert slow.status_code == 200
        assert slow.elapsed.total_seconds() >= 0.2
        assert other.status_code == 200
        assert other_s < 0.2
        assert state.stats.faults_injected == {"slow_ms": 1}

    @pytest.mark.parametrize("status", [500, 503], ids=["500", "503"])
    async def test_status(self, client: httpx.AsyncClient, state: TargetState, status: int) -> None:
        """status answers matching paths with that status; others stay healthy."""
        state.set_faults(status=status, path_prefix="/api/v1/status")
        faulted, health = await client.get("/api/v1/status"), await client.get("/health")
        assert (faulted.status_code, faulted.json()["error"]) == (status, "injected fault")
        assert health.status_code == 200

    async def test_wrong_json(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """wrong_json says degraded and drops ml_service, still with a 200."""
        state.set_faults(wrong_json=True)
        status, health = await client.get("/api/v1/status"), await client.get("/health")
        assert status.status_code == 200
        assert status.json()["status"] == "degraded"
        assert set(status.json()["services"]) == {"database", "redis"}
        assert health.json() == {"status": "degraded"}

    async def test_flaky_percent(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """flaky_percent fails matching requests as the seeded draws say, and only those."""
        state.set_faults(flaky_percent=50, flaky_seed=7, path_prefix="/health")
        codes = [(await client.get("/health")).status_code for _ in range(6)]
        expected = TargetState(seed=7)
        expected.set_faults(flaky_percent=50)
        assert codes == [503 if failed else 200 for failed in draws(expected, 6)]
        assert (await client.get("/fast")).status_code == 200
        assert state.stats.faults_injected["flaky_percent"] == codes.count(503)

    async def test_jitter_ms(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """jitter_ms delays matching responses, which still answer, and is counted."""
        state.set_faults(jitter_ms=30, flaky_seed=2, path_prefix="/health")
        codes = [(await client.get("/health")).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        assert (await client.get("/fast")).status_code == 200
        assert state.stats.faults_injected == {"jitter_ms": 3}

    async def test_down_drops_the_connection(
        self, client: httpx.AsyncClient, state: TargetState, caplog: pytest.LogCaptureFixture
    ) -> None:
        """down closes the connection without any response, and the server logs no error."""
        state.set_faults(down=True)
        with caplog.at_level(logging.ERROR), pytest.raises(httpx.RemoteProtocolError):
            await client.get("/health")
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert state.stats.faults_injected == {"down": 1}
        assert state.stats.request_count("/health") == 1

    async def test_control_is_never_faulted(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """With the target down and failing, /_control/ still answers so a test can heal it."""
        state.set_faults(down=True, status=500, slow_ms=1000)
        reset = await client.delete("/_control/faults")
        assert reset.status_code == 200
        assert (await client.get("/health")).status_code == 200
        assert "/_control/faults" not in state.stats.requests

    @pytest.mark.parametrize(
        ("scope", "css", "js"),
        [(None, 500, 500), ({"subresource_500": "/static/app.js"}, 200, 500)],
        ids=["all-assets", "only-js"],
    )
    async def test_subresource_500(
        self,
        client: httpx.AsyncClient,
        state: TargetState,
        scope: dict[str, str] | None,
        css: int,
        js: int,
    ) -> None:
        """subresource_500 fails static assets, narrowed by its scope; the page itself is fine."""
        state.set_faults(subresource_500=True, scope=scope or {})
        got_css, got_js = await client.get("/static/app.css"), await client.get("/static/app.js")
        assert (got_css.status_code, got_js.status_code) == (css, js)
        assert (await client.get("/")).status_code == 200

    async def test_websocket_rejected_under_status(
        self, served: DemoTargetThread, state: TargetState
    ) -> None:
        """A status fault refuses the websocket handshake."""
        state.set_faults(status=503)
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(ws_url(served, "/ws/echo"), proxy=None):
                pass

    async def test_websocket_dropped_when_down(
        self, served: DemoTargetThread, state: TargetState
    ) -> None:
        """down drops a websocket handshake without an answer."""
        state.set_faults(down=True)
        with pytest.raises((websockets.InvalidMessage, ConnectionError, EOFError)):
            async with websockets.connect(ws_url(served, "/ws/echo"), proxy=None):
                pass


class TestPageFaults:
    @pytest.mark.parametrize(
        ("fault", "present", "absent"),
        [
            ("console_error", 'data-faults="console_error"', None),
            ("js_exception", 'data-faults="js_exception"', None),
            ("post_from_page", 'data-faults="post_from_page"', None),
            ("missing_element", "<main data-testid", 'id="content"'),
        ],
        ids=["console-error", "js-exception", "post-from-page", "missing-element"],
    )
    async def test_homepage_faults(
        self,
        client: httpx.AsyncClient,
        state: TargetState,
        fault: str,
        present: str,
        absent: str | None,
    ) -> None:
        """Each page fault changes the homepage, and switching it off restores it."""
        state.set_faults(Faults.model_validate({fault: True}))
        faulted = (await client.get("/")).text
        state.set_faults()
        healthy = (await client.get("/")).text
        assert present in faulted
        assert present not in healthy
        assert absent is None or absent not in faulted
        assert '<main id="content"' in healthy

    async def test_script_implements_each_fault(self, client: httpx.AsyncClient) -> None:
        """The page script acts on each page flag it can be given."""
        script = (await client.get("/static/app.js")).text
        assert 'console.error("demo target fault: console_error")' in script
        assert 'throw new Error("demo target fault: js_exception")' in script
        assert 'fetch("/api/track", { method: "POST"' in script

    async def test_slow_page(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """slow_page_ms adds an image that takes that long, holding back the load event."""
        state.set_faults(slow_page_ms=150)
        html = (await client.get("/")).text
        image = await client.get("/img/slow.svg", params={"ms": 150})
        assert 'src="/img/slow.svg?ms=150"' in html
        assert image.headers["content-type"] == "image/svg+xml"
        assert image.elapsed.total_seconds() >= 0.15


class TestControlApi:
    async def test_post_replaces_and_get_reads(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """POST sets exactly the faults given; GET reads them back."""
        state.set_faults(slow_ms=50)
        posted = await client.post("/_control/faults", json={"status": 503, "path_prefix": "/api/"})
        read = (await client.get("/_control/faults")).json()
        assert posted.status_code == 200
        assert (read["status"], read["path_prefix"], read["slow_ms"]) == (503, "/api/", 0)
        assert state.faults.status == 503

    async def test_patch_merges(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """PATCH changes only the fields given."""
        state.set_faults(slow_ms=50)
        patched = (await client.patch("/_control/faults", json={"wrong_json": True})).json()
        assert (patched["slow_ms"], patched["wrong_json"]) == (50, True)

    @pytest.mark.parametrize("method", ["POST", "PATCH"], ids=["post", "patch"])
    async def test_bad_faults_are_422(
        self, client: httpx.AsyncClient, state: TargetState, method: str
    ) -> None:
        """An unknown fault is refused with 422 and changes nothing."""
        response = await client.request(method, "/_control/faults", json={"explode": True})
        assert response.status_code == 422
        assert state.faults == Faults()

    async def test_delete_heals(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """DELETE puts every fault back to healthy."""
        state.set_faults(status=500, wrong_json=True, flaky_percent=100)
        assert (await client.get("/health")).status_code == 500
        assert (await client.delete("/_control/faults")).json() == Faults().model_dump()
        assert (await client.get("/health")).json() == {"status": "healthy"}

    async def test_stats_count_requests_by_path_and_method(self, client: httpx.AsyncClient) -> None:
        """Stats count requests per path and method, synthetic ones apart, and not /_control/."""
        await client.get("/health")
        await client.get("/health", headers={"X-Synthetic-Monitor": "smokewatch"})
        await client.head("/health")
        stats = (await client.get("/_control/stats")).json()
        assert stats["requests"] == {"/health": {"GET": 2, "HEAD": 1}}
        assert (stats["total_requests"], stats["synthetic_requests"]) == (3, 1)

    async def test_stats_count_unexpected_writes(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """Non-read requests outside the allowed safe writes are recorded as unexpected."""
        await client.post("/api/track", content=b"{}")
        await client.delete("/health")
        await client.post("/api/v1/enhance", json={"prompt": "hi"})
        stats = (await client.get("/_control/stats")).json()
        assert stats["unexpected_writes"] == {"/api/track": {"POST": 1}, "/health": {"DELETE": 1}}
        assert stats["unexpected_writes_total"] == 2

    async def test_reset_endpoints(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """DELETE /stats forgets history but keeps faults; POST /reset also heals."""
        state.set_faults(wrong_json=True)
        await client.get("/health")
        assert (await client.delete("/_control/stats")).status_code == 204
        assert (state.stats.requests, state.faults.wrong_json) == ({}, True)
        assert (await client.post("/_control/reset")).status_code == 204
        assert state.faults == Faults()

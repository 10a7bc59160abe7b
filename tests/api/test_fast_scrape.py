"""Specifications of the scrape's fast path (``FastScrape``): a plain ``GET /metrics`` is
answered before the app's layers, with exactly the route's answer; every other request is
left to the app, so its CORS headers, guards and error answers still apply.

The service is a real Runtime behind the live test API (its registry, its renders in a
thread); the app behind the fast path is a small ASGI app that records what reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.api.context import ApiContext
from monitor.api.routes import metrics
from monitor.telemetry.scrape import Exposition
from tests.api.conftest import TOKEN, LiveApi, RuntimeService, StartApi

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
Answer = tuple[int, dict[str, str], bytes]


class Behind:
    """The app behind the fast path: notes each request that reaches it, answers 299."""

    def __init__(self) -> None:
        self.reached: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"the app"})


class FailingRender(RuntimeService):
    """A service whose metrics render fails."""

    async def metrics(self, accept: str | None = None) -> Exposition:
        raise RuntimeError("render failed")


async def ask(
    app: ASGIApp, method: str = "GET", path: str = "/metrics", headers: Sequence[Any] = ()
) -> Answer:
    """One request straight to ``app`` over ASGI: its status, headers and whole body."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, *rest = sent
    head = {name.decode(): value.decode() for name, value in start["headers"]}
    return start["status"], head, b"".join(m.get("body", b"") for m in rest)


def context(api: LiveApi) -> ApiContext:
    return ApiContext(service=api.service, log=None, version="test")


class TestPlainScrapes:
    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param([], id="bare"),
            pytest.param([("Accept-Encoding", "gzip")], id="gzip"),
            pytest.param([("Accept", OPENMETRICS), ("Accept-Encoding", "gzip")], id="prometheus"),
            pytest.param([("Accept", "text/plain"), ("Accept-Encoding", "identity")], id="text"),
        ],
    )
    def test_answered_before_the_app_with_the_routes_answer(
        self, start_api: StartApi, headers: list[tuple[str, str]]
    ) -> None:
        """A plain scrape never reaches the app, and gets the status, headers and bytes the
        route answers to the same request."""
        api = start_api()
        ctx = context(api)
        route = FastAPI()
        route.include_router(metrics.router(ctx))
        behind = Behind()
        fast = metrics.FastScrape(behind, ctx=ctx)

        answered = api.call(lambda: ask(fast, headers=headers))
        routed = api.call(lambda: ask(route, headers=headers))

        assert behind.reached == []
        assert answered == routed
        assert answered[0] == 200

    def test_private_reads_with_the_token(self, start_api: StartApi) -> None:
        """With ``public_reads: false`` a scrape bearing the token is answered at once."""
        api = start_api(api="token: ${API_TOKEN}\npublic_reads: false\n")
        behind = Behind()
        fast = metrics.FastScrape(behind, ctx=context(api))
        status, _, _ = api.call(lambda: ask(fast, headers=[("Authorization", f"Bearer {TOKEN}")]))
        assert (status, behind.reached) == (200, [])


class TestLeftToTheApp:
    @pytest.mark.parametrize(
        ("method", "path", "headers"),
        [
            pytest.param("HEAD", "/metrics", [], id="head"),
            pytest.param("POST", "/metrics", [], id="post"),
            pytest.param("GET", "/metrics/", [], id="trailing-slash"),
            pytest.param("GET", "/api/v1/status", [], id="another-path"),
            pytest.param("GET", "/metrics", [("Origin", "https://grafana.test")], id="cors"),
            pytest.param("GET", "/metrics", [("Content-Length", "5")], id="with-a-body"),
            pytest.param("GET", "/metrics", [("Transfer-Encoding", "chunked")], id="chunked"),
        ],
    )
    def test_requests_that_are_not_plain_scrapes(
        self, start_api: StartApi, method: str, path: str, headers: list[tuple[str, str]]
    ) -> None:
        """Anything but a bodiless, same-origin ``GET /metrics`` is the app's to answer."""
        api = start_api()
        behind = Behind()
        fast = metrics.FastScrape(behind, ctx=context(api))
        answer = api.call(lambda: ask(fast, method, path, headers))
        assert (answer[0], behind.reached) == (299, [(method, path)])

    @pytest.mark.parametrize(
        "authorization",
        [pytest.param(None, id="no-token"), pytest.param("Bearer wrong", id="wrong-token")],
    )
    def test_a_caller_the_read_guard_refuses(
        self, start_api: StartApi, authorization: str | None
    ) -> None:
        """With ``public_reads: false`` a scrape without the right token goes to the app,
        whose read guard answers 401."""
        api = start_api(api="token: ${API_TOKEN}\npublic_reads: false\n")
        behind = Behind()
        fast = metrics.FastScrape(behind, ctx=context(api))
        headers = [] if authorization is None else [("Authorization", authorization)]
        assert api.call(lambda: ask(fast, headers=headers))[0] == 299
        assert behind.reached == [("GET", "/metrics")]
        with api.client() as client:  # the whole app, over HTTP
            refused = client.get("/metrics", headers=dict(headers))
        assert refused.status_code == 401

    def test_a_failing_render(self, start_api: StartApi) -> None:
        """A render that fails is left to the app, which answers its 500."""
        api = start_api(service=FailingRender)
        behind = Behind()
        fast = metrics.FastScrape(behind, ctx=context(api))
        assert api.call(lambda: ask(fast))[0] == 299
        with api.client() as client:
            assert client.get("/metrics").status_code == 500

    def test_cross_origin_scrapes_keep_their_cors_headers(self, start_api: StartApi) -> None:
        """With ``cors_origins`` set, a browser's scrape from an allowed origin gets the
        CORS headers the app adds."""
        api = start_api(api="cors_origins: ['https://grafana.test']\n")
        with api.client() as client:
            response = client.get("/metrics", headers={"Origin": "https://grafana.test"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://grafana.test"

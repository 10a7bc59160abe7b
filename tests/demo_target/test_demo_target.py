"""The demo target's endpoints over real HTTP: health, limits, auth, enhance, pages, websocket."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD, DemoTargetThread, TargetState
from examples.demo_target.state import RateLimiter

GOOD_LOGIN = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_token(client: httpx.AsyncClient) -> str:
    """Open the login form as a browser would: the hidden token (its cookie stays in the jar)."""
    found = CSRF_FIELD.search((await client.get("/login")).text)
    assert found is not None
    return found.group(1)


def ws_url(served: DemoTargetThread, path: str) -> str:
    return served.url.replace("http://", "ws://", 1) + path


class TestHealth:
    async def test_health_says_healthy(self, client: httpx.AsyncClient) -> None:
        """GET /health answers exactly {"status": "healthy"}."""
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "healthy"}

    @pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/status"], ids=["health", "status"])
    async def test_full_status_body(self, client: httpx.AsyncClient, path: str) -> None:
        """The v1 health and status bodies carry status, version, a fresh timestamp and services."""
        body = (await client.get(path)).json()
        assert body["status"] == "healthy"
        assert body["version"] == "1.2.3"
        assert body["services"] == {
            "database": "healthy",
            "redis": "healthy",
            "ml_service": "healthy",
        }
        stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
        assert abs(datetime.now(UTC) - stamp) < timedelta(seconds=5)

    async def test_head_is_allowed(self, client: httpx.AsyncClient) -> None:
        """HEAD on a health endpoint answers 200 with no body, for status-only probes."""
        response = await client.head("/health")
        assert response.status_code == 200
        assert response.content == b""


class TestRateLimitedTestEndpoint:
    async def test_headers_count_down(self, client: httpx.AsyncClient) -> None:
        """Each call spends one of 100 requests and says so in the X-RateLimit headers."""
        first, second = await client.get("/api/v1/test"), await client.get("/api/v1/test")
        assert first.status_code == 200
        assert first.json()["ok"] is True
        assert first.headers["X-RateLimit-Limit"] == "100"
        assert (
            first.headers["X-RateLimit-Remaining"],
            second.headers["X-RateLimit-Remaining"],
        ) == (
            "99",
            "98",
        )
        assert 1 <= int(first.headers["X-RateLimit-Reset"]) <= 60

    async def test_default_limit_is_100_then_429(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """The 101st call in a minute gets 429 with Retry-After, and the target counts it."""
        statuses = [(await client.get("/api/v1/test")).status_code for _ in range(100)]
        over = await client.get("/api/v1/test")
        assert statuses == [200] * 100
        assert over.status_code == 429
        assert over.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert state.stats.rate_limited == 1

    async def test_window_resets(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """A fixed window: once it has passed, the client has its whole budget again."""
        now = [1000.0]
        state.limiter = RateLimiter(limit=2, window_s=60.0, clock=lambda: now[0])
        codes = [(await client.get("/api/v1/test")).status_code for _ in range(3)]
        now[0] += 60.0
        after = await client.get("/api/v1/test")
        assert codes == [200, 200, 429]
        assert after.status_code == 200
        assert after.headers["X-RateLimit-Remaining"] == "1"


class TestRateLimiter:
    @pytest.mark.parametrize(
        ("elapsed", "expected_reset"),
        [(0.0, 60), (59.5, 1), (10.2, 50)],
        ids=["fresh", "last-second", "mid-window"],
    )
    def test_reset_is_seconds_left(self, elapsed: float, expected_reset: int) -> None:
        """X-RateLimit-Reset is the whole seconds left in the client's window, at least 1."""
        now = [0.0]
        limiter = RateLimiter(limit=5, clock=lambda: now[0])
        limiter.hit("a")
        now[0] = elapsed
        assert limiter.hit("a").reset_s == expected_reset

    def test_a_fresh_window_never_reports_more_than_its_length(self) -> None:
        """On a large monotonic clock a fresh 60 s window says 60, not a rounded-up 61."""
        clock = 8132.0469  # (clock + 60) - clock == 60.000000000000007 in floating point
        limiter = RateLimiter(limit=5, clock=lambda: clock)
        assert limiter.hit("a").reset_s == 60

    def test_clients_have_separate_windows(self) -> None:
        """One client spending its budget leaves another's untouched."""
        limiter = RateLimiter(limit=1)
        assert [limiter.hit("a").allowed, limiter.hit("a").allowed] == [True, False]
        assert limiter.hit("b").allowed


class TestApiAuth:
    async def test_login_profile_logout_cycle(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """Log in, read the profile with the token, log out: the token then stops working."""
        token = (await client.post("/api/auth/login", json=GOOD_LOGIN)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        profile = await client.get("/api/user/profile", headers=auth)
        assert state.snapshot()["active_sessions"] == 1
        logout = await client.post("/api/auth/logout", headers=auth)
        after = await client.get("/api/user/profile", headers=auth)
        assert profile.json() == {"email": DEFAULT_EMAIL, "plan": "basic"}
        assert logout.status_code == 204
        assert after.status_code == 401
        stats = state.snapshot()
        assert (stats["logins"], stats["logouts"], stats["active_sessions"]) == (1, 1, 0)
        assert stats["logged_out"] == [{"email": DEFAULT_EMAIL, "kind": "api"}]

    @pytest.mark.parametrize(
        "credentials",
        [
            {"email": DEFAULT_EMAIL, "password": "wrong"},
            {"email": "someone@example.com", "password": DEFAULT_PASSWORD},
            {"email": DEFAULT_EMAIL, "password": ""},
        ],
        ids=["wrong-password", "wrong-email", "empty-password"],
    )
    async def test_bad_credentials_get_401(
        self, client: httpx.AsyncClient, state: TargetState, credentials: dict[str, str]
    ) -> None:
        """Anything but the test account's credentials is refused and counted as a failed login."""
        response = await client.post("/api/auth/login", json=credentials)
        assert response.status_code == 401
        assert "access_token" not in response.json()
        assert (state.sessions.opened, state.stats.failed_logins) == (0, 1)

    async def test_email_is_case_insensitive(self, client: httpx.AsyncClient) -> None:
        """The test account's email matches regardless of case, as email addresses do."""
        credentials = {**GOOD_LOGIN, "email": DEFAULT_EMAIL.upper()}
        assert (await client.post("/api/auth/login", json=credentials)).status_code == 200

    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
        ids=["none", "unknown-token", "basic-scheme"],
    )
    async def test_profile_needs_a_valid_bearer(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        """The profile answers 401 with a Bearer challenge without a live token."""
        response = await client.get("/api/user/profile", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_logout_with_unknown_token_is_401(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """Logging out a token that is not active is refused and not recorded as a logout."""
        response = await client.post("/api/auth/logout", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert state.sessions.ended == []


class TestEnhance:
    async def test_answers_and_counts(self, client: httpx.AsyncClient, state: TargetState) -> None:
        """A safe prompt gets a result that builds on it; the call is counted, nothing is saved."""
        response = await client.post("/api/v1/enhance", json={"prompt": "Summarise this text."})
        body = response.json()
        assert response.status_code == 200
        assert body["result"].startswith("Summarise this text.")
        assert body["saved"] is False
        assert state.stats.enhancements == 1

    @pytest.mark.parametrize("payload", [{}, {"prompt": ""}], ids=["no-prompt", "empty-prompt"])
    async def test_rejects_missing_prompt(
        self, client: httpx.AsyncClient, state: TargetState, payload: dict[str, str]
    ) -> None:
        """Without a prompt the call is a 422 and is not counted."""
        response = await client.post("/api/v1/enhance", json=payload)
        assert response.status_code == 422
        assert state.stats.enhancements == 0


class TestTimingEndpoints:
    async def test_delay_sleeps_as_asked(self, client: httpx.AsyncClient) -> None:
        """GET /delay?ms=150 takes at least 150 ms and says how long it slept."""
        response = await client.get("/delay", params={"ms": 150})
        assert response.json() == {"slept_ms": 150}
        assert 0.15 <= response.elapsed.total_seconds() < 1.0

    @pytest.mark.parametrize("ms", [-1, 60_001], ids=["negative", "over-a-minute"])
    async def test_delay_bounds(self, client: httpx.AsyncClient, ms: int) -> None:
        """Delays outside 0..60000 ms are refused."""
        assert (await client.get("/delay", params={"ms": ms})).status_code == 422

    async def test_fast_is_tiny(self, client: httpx.AsyncClient) -> None:
        """GET /fast answers a two-byte body."""
        response = await client.get("/fast")
        assert (response.status_code, response.text) == (200, "ok")


class TestPages:
    async def test_homepage_structure(self, client: httpx.AsyncClient) -> None:
        """The homepage has header, nav, #content, h1, status widget, local script, css, image."""
        html = (await client.get("/")).text
        for fragment in [
            'id="site-header"',
            'id="main-nav"',
            '<main id="content"',
            "<h1",
            'id="status-widget"',
            '<script src="/static/app.js"',
            'href="/static/app.css"',
            '<img id="hero" data-testid="hero" src="/static/hero.svg"',
            'data-faults=""',
        ]:
            assert fragment in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org', "")
        assert "https://" not in html

    @pytest.mark.parametrize("page", ["/", "/login"], ids=["home", "login"])
    async def test_every_local_reference_resolves(
        self, client: httpx.AsyncClient, page: str
    ) -> None:
        """Every href and src on a page, and the implicit /favicon.ico, resolves without error."""
        html = (await client.get(page)).text
        references = set(re.findall(r'(?:href|src)="(/[^"]*)"', html)) | {"/favicon.ico"}
        statuses = {ref: (await client.get(ref)).status_code for ref in references}
        assert "/static/app.js" in statuses
        assert {ref: code for ref, code in statuses.items() if code >= 400} == {}

    @pytest.mark.parametrize(
        ("path", "content_type", "marker"),
        [
            ("/static/app.js", "text/javascript", "/api/v1/status"),
            ("/static/app.css", "text/css", "#status-widget"),
            ("/static/hero.svg", "image/svg+xml", "<svg"),
        ],
        ids=["js", "css", "image"],
    )
    async def test_static_assets(
        self, client: httpx.AsyncClient, path: str, content_type: str, marker: str
    ) -> None:
        """Every asset the homepage uses is served locally with its content type."""
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert marker in response.text

    async def test_login_form(self, client: httpx.AsyncClient) -> None:
        """GET /login is a form posting email and password to /login."""
        html = (await client.get("/login")).text
        assert '<form id="login-form" method="post" action="/login"' in html
        assert 'name="email"' in html
        assert 'name="password"' in html
        assert 'type="submit"' in html
        assert "logged-out" not in html

    async def test_form_login_account_logout(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """Form login sets a cookie and redirects to /account; logout clears it and says so."""
        token = await csrf_token(client)
        login = await client.post("/login", data={**GOOD_LOGIN, "csrf_token": token})
        account = await client.get("/account")
        logout = await client.post("/logout")
        logged_out = await client.get(logout.headers["location"])
        account_after = await client.get("/account")
        assert (login.status_code, login.headers["location"]) == (303, "/account")
        assert 'data-testid="logged-in"' in account.text
        assert DEFAULT_EMAIL in account.text
        assert 'data-testid="logout"' in account.text
        assert (logout.status_code, logout.headers["location"]) == (303, "/login?logged_out=1")
        assert 'data-testid="logged-out"' in logged_out.text
        assert (account_after.status_code, account_after.headers["location"]) == (303, "/login")
        assert state.snapshot()["logged_out"] == [{"email": DEFAULT_EMAIL, "kind": "cookie"}]

    async def test_the_account_page_echoes_its_session_id(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """The session id is in the page twice: a data attribute and a script variable."""
        token = await csrf_token(client)
        await client.post("/login", data={**GOOD_LOGIN, "csrf_token": token})
        session = client.cookies["demo_session"]
        account = await client.get("/account")
        assert [s.token for s in state.sessions.active.values()] == [session]
        assert f'data-session="{session}"' in account.text
        assert f'window.demoSession = "{session}";' in account.text

    async def test_form_login_wrong_password(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """Wrong credentials show the form again with an error, status 401, and no cookie."""
        token = await csrf_token(client)
        response = await client.post(
            "/login", data={**GOOD_LOGIN, "password": "nope", "csrf_token": token}
        )
        assert response.status_code == 401
        assert 'data-testid="login-error"' in response.text
        assert "demo_session" not in response.headers.get("set-cookie", "")
        assert state.stats.failed_logins == 1

    @pytest.mark.parametrize(
        "token", [None, "", "forged-token-0123456789"], ids=["missing", "empty", "wrong"]
    )
    async def test_form_login_without_the_forms_csrf_token_is_refused(
        self, client: httpx.AsyncClient, state: TargetState, token: str | None
    ) -> None:
        """Right credentials, but no token matching the form's cookie: 403, no session."""
        await csrf_token(client)  # the cookie is set; the field is what is missing or wrong
        data = GOOD_LOGIN if token is None else {**GOOD_LOGIN, "csrf_token": token}
        response = await client.post("/login", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
        assert (state.sessions.opened, state.stats.csrf_rejected) == (0, 1)

    async def test_a_token_without_its_cookie_is_refused(
        self, client: httpx.AsyncClient, state: TargetState
    ) -> None:
        """The token alone (a forged cross-site post carries no cookie) is not enough."""
        token = await csrf_token(client)
        client.cookies.clear()
        response = await client.post("/login", data={**GOOD_LOGIN, "csrf_token": token})
        assert response.status_code == 403
        assert state.sessions.opened == 0

    async def test_form_echo_is_escaped(self, client: httpx.AsyncClient) -> None:
        """The email echoed back into a failed form is HTML-escaped."""
        response = await client.post("/login", data={"email": '"><script>x()</script>'})
        assert "<script>x()" not in response.text
        assert "&lt;script&gt;" in response.text

    async def test_account_needs_login(self, client: httpx.AsyncClient) -> None:
        """/account without a session redirects to the login page."""
        response = await client.get("/account")
        assert (response.status_code, response.headers["location"]) == (303, "/login")


class TestWebSocket:
    async def test_hello_then_echo(self, served: DemoTargetThread, state: TargetState) -> None:
        """The echo socket greets with {"type": "hello"} and echoes text and bytes."""
        async with websockets.connect(ws_url(served, "/ws/echo"), proxy=None) as ws:
            hello = json.loads(await ws.recv())
            await ws.send("ping")
            text = await ws.recv()
            await ws.send(b"\x00\x01")
            data = await ws.recv()
        assert hello == {"type": "hello"}
        assert (text, data) == ("ping", b"\x00\x01")
        assert (state.stats.websocket_connections, state.stats.websocket_messages) == (1, 2)

"""The demo target's HTML: homepage, login form, account page, logout, and a slow image.

The login form is a classic server-rendered one with a CSRF token, the way Django
does it: ``GET /login`` sets the ``demo_csrf`` cookie and puts the same value in a
hidden ``csrf_token`` field; ``POST /login`` is refused (403) unless both are there
and equal.  A browser does that by itself; a flow must capture the field and keep
the cookie.

The account page echoes its session id into the page (a ``data-session``
attribute and a ``window.demoSession`` variable), as many apps do for their
scripts: what a kept trace must not show, in one more place than the cookie.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from examples.demo_target.faults import MAX_DELAY_MS
from examples.demo_target.state import TargetState, state_of

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "demo_session"
CSRF_COOKIE = "demo_csrf"
CSRF_FIELD = "csrf_token"
READ = ["GET", "HEAD"]

State = Annotated[TargetState, Depends(state_of)]

_SLOW_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect width="120" height="40" rx="6" fill="#d8e2ff"/>'
    '<text x="60" y="25" font-size="12" text-anchor="middle" fill="#223">slow image</text></svg>'
)


def _form_fields(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, first value per field."""
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def pages_router() -> APIRouter:
    templates = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True)
    )

    def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)

    router = APIRouter()

    @router.api_route("/", methods=READ)
    async def home(state: State) -> HTMLResponse:
        faults = state.faults
        return render(
            "home.html",
            faults=" ".join(faults.page_flags()),
            missing_element=faults.missing_element,
            slow_page_ms=faults.slow_page_ms,
            version=state.version,
        )

    @router.api_route("/login", methods=READ)
    async def login_form(request: Request, logged_out: Annotated[int, Query()] = 0) -> HTMLResponse:
        return login_page(request, logged_out=bool(logged_out))

    def login_page(
        request: Request, status_code: int = 200, *, logged_out: bool = False, **context: Any
    ) -> HTMLResponse:
        """The form, with the visitor's CSRF token (a new one for a new visitor)."""
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        context = {"error": None, "email": "", **context}
        response = render("login.html", status_code, logged_out=logged_out, csrf=token, **context)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax")
        return response

    @router.post("/login")
    async def login_submit(request: Request, state: State) -> Response:
        fields = _form_fields(await request.body())
        email, password = fields.get("email", ""), fields.get("password", "")
        sent, expected = fields.get(CSRF_FIELD, ""), request.cookies.get(CSRF_COOKIE, "")
        if not (sent and expected and hmac.compare_digest(sent, expected)):
            state.stats.csrf_rejected += 1
            error = "The form expired or was not ours (CSRF token missing or wrong)."
            return login_page(request, 403, error=error, email=email)
        if not state.check_credentials(email, password):
            state.stats.failed_logins += 1
            error = "Wrong email or password."
            return login_page(request, 401, error=error, email=email)
        session = state.sessions.open(state.email, "cookie")
        response = RedirectResponse("/account", status_code=303)
        response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="lax")
        return response

    @router.api_route("/account", methods=READ)
    async def account(request: Request, state: State) -> Response:
        session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return RedirectResponse("/login", status_code=303)
        return render("account.html", email=session.email, plan=state.plan, session=session.token)

    @router.post("/logout")
    async def logout(request: Request, state: State) -> Response:
        state.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login?logged_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    @router.api_route("/favicon.ico", methods=READ)
    async def favicon() -> Response:
        # Browsers ask for it unprompted; a 404 here would be a console error on every page.
        icon = (STATIC_DIR / "favicon.svg").read_bytes()
        return Response(icon, media_type="image/svg+xml")

    @router.api_route("/img/slow.svg", methods=READ)
    async def slow_image(ms: Annotated[int, Query(ge=0, le=MAX_DELAY_MS)] = 0) -> Response:
        await asyncio.sleep(ms / 1000)
        return Response(
            _SLOW_SVG, media_type="image/svg+xml", headers={"Cache-Control": "no-store"}
        )

    return router

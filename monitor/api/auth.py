"""Bearer-token guards: writes and artifacts need ``api.token``; reads only when ``public_reads``
is off; artifacts not when ``public_artifacts`` is on; checks with ``public: false`` are
shown only to token holders.

The token is compared in constant time (``hmac.compare_digest``) and read from the
config on every request, so a reload that changes it takes effect at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from monitor.api.context import ApiContext
from monitor.api.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="smokewatch"'}
# Documents the scheme in OpenAPI; answers nothing itself (auto_error=False).
bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <api.token>`")


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def check_token(ctx: ApiContext, request: Request, *, what: str, hint: str) -> None:
    """Raise a 403 when no token is configured, a 401 when the caller's is missing or wrong."""
    configured = ctx.settings.token
    if configured is None:
        raise ApiError(403, "token_not_configured", f"{what} are disabled: {hint}")
    presented = _presented(request)
    if presented is None:
        raise ApiError(
            401,
            "missing_token",
            f"{what} need a bearer token: send 'Authorization: Bearer <api.token>'",
            headers=_CHALLENGE,
        )
    expected = configured.get_secret_value().encode()
    if not hmac.compare_digest(presented.encode(), expected):
        raise ApiError(401, "invalid_token", "the bearer token is not valid", headers=_CHALLENGE)


def write_guard(ctx: ApiContext) -> Callable[..., Awaitable[None]]:
    """A dependency for write endpoints (shown in OpenAPI as needing the bearer scheme)."""

    async def guard(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        check_token(
            ctx, request, what="write endpoints", hint="set api.token in the config to enable them"
        )

    return guard


def read_guard(ctx: ApiContext) -> Callable[..., Awaitable[None]]:
    """A dependency for read endpoints: open unless ``api.public_reads`` is false."""

    async def guard(request: Request) -> None:
        if may_read(ctx, request):
            return
        check_token(
            ctx,
            request,
            what="read endpoints",
            hint="api.public_reads is false, so set api.token (or make reads public)",
        )

    return guard


def holds_token(ctx: ApiContext, request: Request) -> bool:
    """Whether this caller sent the configured bearer token (never true without one)."""
    configured, presented = ctx.settings.token, _presented(request)
    if configured is None or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), configured.get_secret_value().encode())


def may_read(ctx: ApiContext, request: Request) -> bool:
    """Whether this caller may read: anyone with ``api.public_reads``, else a holder of the
    bearer token."""
    return ctx.settings.public_reads or holds_token(ctx, request)


def may_see_artifacts(ctx: ApiContext, request: Request) -> bool:
    """Whether this caller may see failure artifacts: anyone with ``api.public_artifacts``,
    else only a holder of the bearer token."""
    return ctx.settings.public_artifacts or holds_token(ctx, request)


def may_see_private(ctx: ApiContext, request: Request) -> bool:
    """Whether this caller may see checks with ``public: false``: a holder of the token."""
    return holds_token(ctx, request)


def artifact_guard(ctx: ApiContext) -> Callable[..., Awaitable[None]]:
    """A dependency for the artifact routes: the bearer token, unless ``public_artifacts``
    (then the read guard alone applies, which the router adds)."""

    async def guard(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if ctx.settings.public_artifacts:
            return
        check_token(
            ctx,
            request,
            what="artifacts",
            hint="set api.token (or api.public_artifacts: true to make them public)",
        )

    return guard

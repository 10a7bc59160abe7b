"""Every error the API answers is JSON ``{"error": {"code", "message"}}``.

    ApiError               raised by routes and guards: status, code, message (safe to show)
    HTTPException          Starlette's own (unknown route, wrong method): reworded
    RequestValidationError bad path or query parameters: 422 naming each parameter
    StoreUnavailable       the database cannot be reached: 503, no detail
    anything else          500 with a request id; the detail goes to the log only

No answer ever carries a stack trace, an exception's text or a secret.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.api.models import ErrorBody, ErrorResponse
from monitor.api.scrub import Scrubber
from monitor.errors import SmokewatchError
from monitor.store import StoreUnavailable

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid_parameter",
    503: "unavailable",
}
_PLACES = {"query": "query parameter", "path": "path parameter", "header": "header"}


class ApiError(SmokewatchError):
    """An error answer whose message is written for the caller and safe to show."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        problems: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.problems = list(problems) if problems is not None else None


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, problems=problems))
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers
    )


def describe_validation(errors: Sequence[Any]) -> str:
    """One line per bad parameter: ``query parameter 'limit': Input should be ...``."""
    lines: list[str] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        place = _PLACES.get(loc[0], loc[0]) if loc else "request"
        name = ".".join(loc[1:]) or "?"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        lines.append(f"{place} '{name}': {message}")
    return "; ".join(lines) or "invalid request"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 -- registered for ApiError only
    return error_response(
        exc.status, exc.code, exc.message, headers=exc.headers, problems=exc.problems
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 -- registered for HTTPException only
    status = exc.status_code
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
    code = _CODES.get(status, "error")
    return error_response(status, code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 -- registered for it only
    return error_response(422, "invalid_parameter", describe_validation(exc.errors()))


def install_error_handlers(app: FastAPI, *, log: Any, scrubber: Callable[[], Scrubber]) -> None:
    """Answer every error as JSON; ``scrubber`` gives the current config's secret masker."""

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("api.store_unavailable", path=request.url.path, error=scrubber().text(str(exc)))
        return error_response(
            503, "store_unavailable", "the result store is unavailable; try again shortly"
        )

    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreUnavailable, store_unavailable)


class CatchAll:
    """ASGI middleware: an unexpected exception becomes a bare 500 and one log line.

    Starlette's own 500 handler re-raises to the server, which prints the traceback
    (and the exception's text) wherever its logs go; here nothing leaves but a request
    id, and the log gets the exception's type, its scrubbed text and where it was raised.
    """

    def __init__(self, app: ASGIApp, *, log: Any, scrubber: Callable[[], Scrubber]) -> None:
        self.app = app
        self.log = log
        self.scrubber = scrubber

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 -- the last net: every error becomes a 500
            request_id = uuid.uuid4().hex[:16]
            frame = traceback.extract_tb(exc.__traceback__)[-1:]
            self.log.error(  # noqa: TRY400 -- a scrubbed one-liner; a traceback may hold secrets
                "api.unhandled_error",
                request_id=request_id,
                method=scope.get("method"),
                path=scope.get("path"),
                error_type=type(exc).__name__,
                error=self.scrubber().text(str(exc))[:500],
                where=f"{frame[0].filename}:{frame[0].lineno} in {frame[0].name}" if frame else "",
            )
            if started:
                return  # too late for an error answer; the server closes the connection
            response = error_response(
                500, "internal_error", f"internal error (request id {request_id})"
            )
            await response(scope, receive, send)

"""One router per area; each is built by a function closing over the app's :class:`ApiContext`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import Response
from pydantic import BeforeValidator

from monitor.api.errors import ApiError
from monitor.api.models import ErrorResponse
from monitor.config.models import NAME_PATTERN

__all__ = [
    "NAME_PATTERN",
    "READ_ERRORS",
    "REGION_PATTERN",
    "IsoTime",
    "errors",
    "json_bytes",
    "utc",
]

_WHY = {
    400: "The body is not valid JSON",
    401: "The bearer token is missing or wrong",
    403: "No api.token is configured, so this endpoint is disabled",
    404: "No such check",
    422: "A parameter is invalid; the message names it",
    503: "The result store cannot be reached",
}

REGION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _iso_only(value: object) -> object:
    # pydantic reads a bare number as a Unix timestamp; the documented format is ISO 8601.
    if isinstance(value, str) and _NUMBER.match(value):
        raise ValueError("expected an ISO 8601 time such as 2026-01-01T00:00:00Z, not a number")
    return value


IsoTime = BeforeValidator(_iso_only)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error answers an endpoint may give."""
    return {code: {"model": ErrorResponse, "description": _WHY[code]} for code in codes}


READ_ERRORS = (401, 403, 503)


def json_bytes(body: bytes) -> Response:
    """An already-rendered JSON answer (the cached status answers skip re-validation)."""
    return Response(content=body, media_type="application/json")


def utc(value: datetime | None, name: str) -> datetime | None:
    """``value`` in UTC; a naive time is taken as UTC.  A 422 when it cannot be converted."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ApiError(
            422, "invalid_parameter", f"query parameter '{name}': not a representable time"
        ) from None

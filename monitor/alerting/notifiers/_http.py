"""One JSON POST with a time bound, and its failures as :class:`DeliveryError`.

Retryable: timeouts, connection errors, 408, 429 (with ``Retry-After`` when given) and
5xx.  Not retryable: any other 4xx or 3xx (a revoked webhook, a bad token: retrying
cannot fix it).  Error messages are built from status codes, exception *types* and a
short excerpt of the answer passed through a redactor that knows the channel's
secrets; never from ``str(exc)`` of an HTTP error, which may quote the (secret) URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.alerting.notification import DeliveryError
from monitor.redact import Redactor
from monitor.version import smokewatch_version
from probes.lazy import lazy_import
from probes.retry import parse_retry_after

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy_import("httpx")  # loads when a notifier is built: validate needs only settings

EXCERPT_CHARS = 200
T = TypeVar("T")


def build_client() -> httpx.AsyncClient:
    """A client for one notifier: no redirects (a moved webhook is an error), no proxy env."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": f"smokewatch/{smokewatch_version()} (alerting)"},
    )


def secrets_of(*values: str | None) -> list[str]:
    """A URL's secrets: the URL, and its path (a receiver may echo only that)."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        found.append(value)
        path = httpx.URL(value).path if "://" in value else ""
        if len(path) > 8:
            found.append(path)
    return found


def retry_after_s(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or bad."""
    return parse_retry_after(response.headers.get("Retry-After"), now=now)


def excerpt(text: str, redactor: Redactor) -> str:
    """A one-line, bounded, redacted excerpt of an answer body."""
    flat = " ".join(text.split())
    if len(flat) > EXCERPT_CHARS:
        flat = flat[:EXCERPT_CHARS] + "..."
    return redactor.text(flat)


def is_retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    what: str,
    timeout_s: float,
    redactor: Redactor,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``payload``; return the answer whatever its status; raise only on no answer."""
    try:
        async with asyncio.timeout(timeout_s):
            return await client.post(url, json=payload, headers=headers, timeout=timeout_s)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise DeliveryError(f"{what}: no answer within {timeout_s:g}s", retryable=True) from exc
    except httpx.TransportError as exc:
        raise DeliveryError(
            f"{what}: request failed ({type(exc).__name__})", retryable=True
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # our side: retrying won't help
        message = redactor.text(f"{what}: request not sent ({type(exc).__name__})")
        raise DeliveryError(message, retryable=False) from exc


def raise_for_status(response: httpx.Response, *, what: str, redactor: Redactor) -> None:
    """Nothing on 2xx; otherwise a :class:`DeliveryError` saying whether to retry."""
    status = response.status_code
    if 200 <= status < 300:
        return
    body = excerpt(response.text, redactor)
    message = f"{what}: HTTP {status}" + (f" {body}" if body else "")
    raise DeliveryError(
        message,
        retryable=is_retryable_status(status),
        retry_after_s=retry_after_s(response) if status in (429, 503) else None,
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One named entry's URL (often secret) and its time bound."""

    url: str
    timeout_s: float


def configured(entries: Mapping[str, T], name: str, *, what: str) -> T:
    """The entry a ``channel:NAME`` target names; not retryable when there is none."""
    entry = entries.get(name)
    if entry is None:
        raise DeliveryError(f"{what} is not configured", retryable=False)
    return entry


async def post_checked(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    what: str,
    timeout_s: float,
    redactor: Redactor,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """:func:`post_json` then :func:`raise_for_status`: a 2xx answer, or a DeliveryError."""
    response = await post_json(
        client, url, payload, what=what, timeout_s=timeout_s, redactor=redactor, headers=headers
    )
    raise_for_status(response, what=what, redactor=redactor)
    return response

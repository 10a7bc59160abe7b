"""The ``http`` probe: one GET or HEAD request, checked against an ``expect:`` block.

:func:`send` is the one place smokewatch sends an HTTP request (the ``flow``
probe uses it too).  It uses the shared client from the context, adds the
synthetic-traffic headers, waits on the per-host gate, times each phase
(:mod:`probes.timing`), caps the body read and reads the TLS certificate's
expiry.  httpx exceptions are translated here, at the boundary; :func:`send`
raises only these::

    HttpProbeError              base; ``message`` is short and safe to show
    ├── RequestFailedError      no usable response: refused, DNS, TLS, reset, too
    │   │                       many redirects; ``transient``: may a retry help?
    │   └── RequestTimeoutError no complete response in time (transient)
    └── InvalidRequestError     the request itself is wrong (bad URL or header): ``error``

A response of any status is not an exception: it is an :class:`Exchange`.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator
from pydantic import model_validator as _model_validator

from probes.assertions import Expectations, clip, evaluate_expectations, snippet
from probes.base import (
    AssertionOutcome,
    Attachment,
    JSONValue,
    Probe,
    ProbeContext,
    ProbeResult,
    Status,
    failure_cause,
    origin_of,
)
from probes.errors import ProbeError
from probes.lazy import lazy_import
from probes.reasons import FailureReason, from_os_error
from probes.response_excerpt import response_excerpt
from probes.retry import parse_retry_after as parse_retry_after  # noqa: PLC0414 -- kept for importers
from probes.timing import PhaseTimer

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy_import("httpx")  # loads when a check runs: validate needs only the models

DEFAULT_MAX_BODY_BYTES: Final = 1_048_576
_PARSED_URLS: Final = 4096  # URLs whose parse :func:`_target` remembers
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class HttpProbeError(ProbeError):
    """Base of the errors :func:`send` raises; ``message`` is safe to show."""

    reason = FailureReason.INTERNAL

    def __init__(self, message: str, *, timings: dict[str, float] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.timings = timings or {}


class RequestFailedError(HttpProbeError):
    """The target gave no usable response; ``reason`` says which way it failed."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool = True,
        timings: dict[str, float] | None = None,
        reason: FailureReason = FailureReason.CONNECT,
    ) -> None:
        super().__init__(message, timings=timings)
        self.transient = transient
        self.reason = reason


class RequestTimeoutError(RequestFailedError):
    """No complete response within the time allowed."""

    def __init__(self, message: str, *, timings: dict[str, float] | None = None) -> None:
        super().__init__(message, timings=timings, reason=FailureReason.TIMEOUT)


class InvalidRequestError(HttpProbeError):
    """The request could not be built or sent as configured."""

    reason = FailureReason.CONFIG


class HttpSpec(BaseModel):
    """The kind-specific fields of an ``http`` check."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["http"] = Field("http", description="http")
    url: HttpUrl = Field(description="the URL to request")
    method: Literal["GET", "HEAD"] = Field("GET", description="GET or HEAD")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="request headers")
    follow_redirects: bool = Field(True, description="follow 3xx responses")
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=0, description="the most of the body read"
    )
    expect: Expectations = Field(
        default_factory=Expectations, description="assertions on the response"
    )

    @field_validator("headers")
    @classmethod
    def _headers_valid(cls, headers: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, value in headers.items():
            if not _TOKEN.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            if any(c in value.get_secret_value() for c in "\r\n\0"):
                raise ValueError(f"header {name!r} has a line break or NUL in its value")
        return headers

    @_model_validator(mode="after")
    def _tls_needs_https(self) -> HttpSpec:
        if self.expect.tls_days_left is not None and self.url.scheme != "https":
            raise ValueError("expect.tls_days_left needs an https:// url")
        return self


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its (possibly capped) response."""

    status_code: int
    headers: httpx.Headers
    body: bytes  # at most max_body_bytes
    truncated: bool  # the body went on past the cap
    url: str  # final URL, after redirects, without userinfo
    http_version: str
    encoding: str
    timings: dict[str, float] = field(default_factory=dict)  # ms by phase, see probes.timing
    tls_days_left: float | None = None  # https only, when the certificate was readable
    tls_not_after: float | None = None  # the same certificate's notAfter, Unix seconds

    @property
    def total_ms(self) -> float:
        return self.timings.get("total", 0.0)

    def json(self) -> JSONValue:
        """The body parsed as JSON; raises ``ValueError`` if it is not."""
        return json.loads(self.body)

    def text(self) -> str:
        """The body decoded with the response's charset (undecodable bytes replaced)."""
        try:
            return self.body.decode(self.encoding, "replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", "replace")

    def details(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "status_code": self.status_code,
            "http_version": self.http_version,
            "bytes": len(self.body),
            "truncated": self.truncated,
            "url": self.url,
        }
        if self.tls_days_left is not None:
            out["tls_days_left"] = self.tls_days_left
        if self.tls_not_after is not None:
            out["tls_not_after"] = self.tls_not_after
        return out

    def excerpt(self, method: str, *, mask: tuple[str, ...] = ()) -> Attachment:
        """This response as ``response.txt``: credentials dropped, body capped."""
        return response_excerpt(
            method=method,
            url=self.url,
            status_code=self.status_code,
            reason=httpx.codes.get_reason_phrase(self.status_code),
            http_version=self.http_version,
            headers=self.headers.multi_items(),
            body=self.body,
            truncated=self.truncated,
            mask=mask,
        )


def _reveal(value: JSONValue) -> JSONValue:
    """Unwrap ``SecretStr`` (also inside JSON bodies): httpx needs the real value."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


async def send(
    ctx: ProbeContext,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str | SecretStr] | None = None,
    json_body: JSONValue = None,
    form: Mapping[str, str | SecretStr] | None = None,
    content: bytes | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    follow_redirects: bool = True,
    timeout_s: float | None = None,
    cookies: httpx.Cookies | None = None,
) -> Exchange:
    """Send one request through ``ctx.client`` and read at most ``max_body_bytes`` of the body.

    ``ctx.headers`` (the synthetic-traffic marker) are applied last, so they are always
    sent.  ``cookies`` is the caller's own jar (a flow's): its cookies go with the
    request and the response's ``Set-Cookie`` (also a followed redirect's) lands in it,
    never in the shared client.
    ``timeout_s`` (default ``ctx.deadline_s``) bounds the whole exchange.
    Raises only :class:`HttpProbeError` subclasses, plus :class:`~probes.base.GateClosed`
    from ``ctx.gate`` when the host's request budget is spent (the runner reports that).
    """
    import asyncio  # noqa: PLC0415 -- 24 ms that ``validate`` of an http check never needs

    timeout = ctx.deadline_s if timeout_s is None else timeout_s
    timer = PhaseTimer()
    try:
        target, origin = _target(url)
        merged = httpx.Headers({k: _reveal(v) for k, v in (headers or {}).items()})
        merged.update(ctx.headers)
        request = ctx.client.build_request(
            method,
            target,
            headers=merged,
            json=_reveal(json_body) if json_body is not None else None,
            data={k: _reveal(v) for k, v in form.items()} if form is not None else None,
            content=content,
            timeout=timeout,
            extensions={"trace": timer.trace},
        )
        if cookies is not None:
            cookies.set_cookie_header(request)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:  # UnicodeError is a ValueError
        raise InvalidRequestError(f"invalid request: {clip(str(exc))}") from exc
    await ctx.gate.acquire(origin)
    timer.start()
    try:
        async with asyncio.timeout(timeout):
            response = await ctx.client.send(
                request, stream=True, follow_redirects=follow_redirects
            )
            try:
                if cookies is not None:
                    # Also from the redirects followed: a login's session cookie comes
                    # with its 303, not with the page it leads to.
                    for answer in (*response.history, response):
                        cookies.extract_cookies(answer)
                ctx.gate.observe(origin, response)
                not_after = _tls_not_after(response)
                body, truncated = await _read_capped(response, max_body_bytes)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException) as exc:
        message = _timed_out(timeout, timer)
        timer.stop()
        raise RequestTimeoutError(message, timings=timer.as_dict()) from exc
    except httpx.HTTPError as exc:
        timer.stop()
        raise _translate(exc, timer.as_dict()) from exc
    timer.stop()
    return Exchange(
        status_code=response.status_code,
        headers=response.headers,
        body=body,
        truncated=truncated,
        url=str(response.url.copy_with(userinfo=b"") if response.url.userinfo else response.url),
        http_version=response.http_version,
        encoding=_charset(response),
        timings=timer.as_dict(),
        tls_days_left=_days_left(not_after),
        tls_not_after=not_after,
    )


@functools.lru_cache(maxsize=_PARSED_URLS)
def _target(url: str) -> tuple[httpx.URL, str]:
    """``url`` parsed, and its origin (the key of its host budget).

    A check sends the same URL on every run; parsing it (~30 us) is remembered for the
    last ``_PARSED_URLS`` URLs (an ``httpx.URL`` is immutable).  A URL that does not
    parse raises each time, as it would uncached.
    """
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise InvalidRequestError(f"not an http(s) URL: {snippet(url)}")
    return target, origin_of(str(target))


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = limit - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _charset(response: httpx.Response) -> str:
    """The body's charset, utf-8 when the response names none.

    ``charset_encoding`` parses ``Content-Type`` through an email message (~0.1 ms); a
    header without the word "charset" has no such parameter, so it is asked only then.
    """
    content_type = response.headers.get("content-type")
    if content_type is None or "charset" not in content_type.lower():
        return "utf-8"
    return response.charset_encoding or "utf-8"


def _tls_not_after(response: httpx.Response) -> float | None:
    """When the server's (verified) certificate expires, in Unix seconds; None on http."""
    if response.url.scheme != "https":
        return None
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    not_after = (ssl_object.getpeercert() or {}).get("notAfter")  # empty unless verified
    if not isinstance(not_after, str):
        return None
    return float(ssl.cert_time_to_seconds(not_after))


def _days_left(not_after: float | None) -> float | None:
    return None if not_after is None else round((not_after - time.time()) / 86400, 2)


_DOING: Final = MappingProxyType(
    {
        "connect": "connecting",
        "tls": "in the TLS handshake",
        "request": "sending the request",
        "first_byte": "waiting for the response",
        "transfer": "reading the body",
    }
)


def _timed_out(timeout: float, timer: PhaseTimer) -> str:
    doing = _DOING.get(timer.last_phase or "")
    return f"timed out after {timeout:g} s" + (f" ({doing})" if doing else "")


def _translate(exc: httpx.HTTPError, timings: dict[str, float]) -> HttpProbeError:
    """Map an httpx error (other than a timeout) to our hierarchy, with a short message.

    A socket or TLS error under it names the failure (:func:`~probes.connection.os_cause`);
    otherwise the first row of :data:`_HTTP_ERRORS` that the error is an instance of.
    """
    from probes.connection import os_cause  # noqa: PLC0415 -- sockets: not for ``validate``

    if isinstance(exc, httpx.LocalProtocolError):
        return InvalidRequestError(f"invalid request: {clip(str(exc))}", timings=timings)
    label, transient, reason, detailed = next(
        (row[1:] for row in _http_errors() if isinstance(exc, row[0])), _OTHER_HTTP_ERROR
    )
    if detailed:
        label = f"{label}: {clip(str(exc) or type(exc).__name__)}"
    message, transient = os_cause(exc) or (label, transient)
    reason = from_os_error(exc) or reason
    return RequestFailedError(message, transient=transient, timings=timings, reason=reason)


_HttpErrorRow = tuple[type["httpx.HTTPError"], str, bool, FailureReason, bool]
_OTHER_HTTP_ERROR: Final = ("request failed", True, FailureReason.CONNECT, True)


@functools.cache
def _http_errors() -> tuple[_HttpErrorRow, ...]:
    """httpx error -> (message, transient, reason, does the message quote the error?).

    A function, not a module-level table, so that importing this module does not load httpx.
    """
    return (
        (httpx.TooManyRedirects, "too many redirects", False, FailureReason.HTTP_STATUS, False),
        (httpx.DecodingError, "could not decode the body", False, FailureReason.CONTENT, True),
        (httpx.ConnectError, "could not connect", True, FailureReason.CONNECT, True),
        (httpx.RemoteProtocolError, "protocol error", True, FailureReason.CONNECT, True),
        (httpx.ReadError, "connection lost while reading", True, FailureReason.CONNECT, True),
        (httpx.WriteError, "connection lost while sending", True, FailureReason.CONNECT, True),
    )


def evaluate(expect: Expectations, exchange: Exchange) -> list[AssertionOutcome]:
    """Every assertion outcome of ``expect`` against one exchange, status first."""
    return evaluate_expectations(expect, exchange)


class HttpProbe:
    """One request, its assertions, and a result (never an exception for a broken target)."""

    __slots__ = ()
    kind = "http"
    spec_model = HttpSpec

    async def run(self, spec: HttpSpec, ctx: ProbeContext) -> ProbeResult:
        try:
            exchange = await send(
                ctx,
                method=spec.method,
                url=str(spec.url),
                headers=spec.headers,
                max_body_bytes=spec.max_body_bytes,
                follow_redirects=spec.follow_redirects,
            )
        except InvalidRequestError as exc:
            return ProbeResult(
                status=Status.ERROR, message=exc.message, timings=exc.timings, reason=exc.reason
            )
        except RequestFailedError as exc:
            return ProbeResult(
                status=Status.FAIL,
                message=exc.message,
                timings=exc.timings,
                transient=exc.transient,
                details={"cause": failure_cause(timed_out=isinstance(exc, RequestTimeoutError))},
                reason=exc.reason,
            )
        outcomes = evaluate(spec.expect, exchange)
        code = exchange.status_code
        server_side = code >= 500 or code == 429
        failed = any(not o.passed for o in outcomes)
        retry_after = parse_retry_after(exchange.headers.get("retry-after"))
        result = ProbeResult.from_assertions(
            outcomes,
            timings=exchange.timings,
            details=exchange.details(),
            transient=server_side and failed,
            retry_after_s=retry_after if server_side else None,
        )
        if result.status is Status.FAIL:
            result.attachments.append(exchange.excerpt(spec.method))
        return result


PROBE: Final[Probe[HttpSpec]] = HttpProbe()

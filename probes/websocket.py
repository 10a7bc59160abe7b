"""WebSocket probe: connect within a budget, optionally send a message and check the reply.

A check passes when the handshake succeeds (HTTP 101) and, if ``send`` is set, a
reply arriving within the timeout matches ``expect``.  Messages the server sends
before the reply (a greeting, say) are skipped until one matches or time runs out.
``expect.contains``/``expect.matches`` need ``send``: without it no reply is awaited,
so the config is rejected rather than the expectation silently ignored.

The whole attempt (handshake and reply) stays within ``ctx.deadline_s``.  A refused or
dropped connection, a timeout and a 5xx/429 handshake answer are transient; any other
refused handshake (a 403, say) is not.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from probes.base import (
    AssertionOutcome,
    Probe,
    ProbeContext,
    ProbeResult,
    Status,
    failure_cause,
    origin_of,
)
from probes.reasons import FailureReason, from_os_error

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection
    from websockets.exceptions import WebSocketException

# websockets is imported where a check runs, not here: validate loads only the spec model.

MAX_MESSAGE_BYTES: Final = 1 << 20
_CLOSE_TIMEOUT_S: Final = 1.0  # closing is not measured; do not wait long for the server's close


class WebSocketExpect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contains: str | None = Field(None, description="a reply must contain this text")
    matches: str | None = Field(None, description="a reply must match this regex")
    connect_degraded_ms: float | None = Field(
        None, gt=0, description="a slower handshake is degraded"
    )
    connect_fail_ms: float | None = Field(None, gt=0, description="a slower handshake is fail")

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from None
        return value


class WebSocketSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["websocket"] = Field("websocket", description="websocket")
    url: str = Field(description="ws:// or wss:// URL")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="handshake headers")
    send: str | None = Field(None, description="a text message to send after connecting")
    expect: WebSocketExpect = Field(
        WebSocketExpect(), description="what the reply and handshake must be"
    )

    @field_validator("url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"ws", "wss"} or not parts.hostname:
            raise ValueError("url must be a ws:// or wss:// URL with a host")
        return value

    @model_validator(mode="after")
    def _reply_needs_send(self) -> WebSocketSpec:
        if self.send is None and (self.expect.contains, self.expect.matches) != (None, None):
            raise ValueError("expect.contains/matches check a reply, which needs 'send'")
        return self


class WebSocketProbe:
    kind = "websocket"
    spec_model = WebSocketSpec

    async def run(self, spec: WebSocketSpec, ctx: ProbeContext) -> ProbeResult:
        from websockets.asyncio.client import connect  # noqa: PLC0415 -- see the imports
        from websockets.exceptions import (  # noqa: PLC0415
            InvalidHandshake,
            InvalidURI,
            WebSocketException,
        )

        await ctx.gate.acquire(origin_of(spec.url))
        user_agent, headers = _handshake_headers(spec, ctx)
        t0 = time.perf_counter()
        deadline = t0 + ctx.deadline_s
        timings: dict[str, float] = {}
        try:
            async with connect(
                spec.url,
                additional_headers=headers,
                user_agent_header=user_agent,
                # Like the shared HTTP client (trust_env=False): no proxy from the environment.
                proxy=None,
                open_timeout=ctx.deadline_s,
                close_timeout=min(ctx.deadline_s, _CLOSE_TIMEOUT_S),
                max_size=MAX_MESSAGE_BYTES,
            ) as ws:
                timings["connect"] = (time.perf_counter() - t0) * 1000.0
                outcomes = _connect_budget(spec.expect, timings["connect"])
                if spec.send is not None:
                    t1 = time.perf_counter()
                    await ws.send(spec.send)
                    left = max(0.0, deadline - time.perf_counter())
                    outcomes.append(await _await_reply(ws, spec.expect, left))
                    timings["reply"] = (time.perf_counter() - t1) * 1000.0
        # TimeoutError is an OSError: it must come first.
        except TimeoutError:
            return _failure(
                f"timed out after {ctx.deadline_s:g} s", t0, FailureReason.TIMEOUT, transient=True
            )
        except InvalidURI as exc:
            return _failure(f"invalid URL: {exc}", t0, FailureReason.CONFIG, transient=False)
        except InvalidHandshake as exc:
            transient = _transient_handshake(exc)
            reason = from_os_error(exc) or FailureReason.HANDSHAKE
            return _failure(f"handshake failed: {exc}", t0, reason, transient=transient)
        except (OSError, WebSocketException) as exc:
            reason = from_os_error(exc) or FailureReason.CONNECT
            message = f"connection failed: {type(exc).__name__}: {exc}"
            return _failure(message, t0, reason, transient=True)
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        return ProbeResult.from_assertions(outcomes, timings=timings)


def _handshake_headers(spec: WebSocketSpec, ctx: ProbeContext) -> tuple[str, dict[str, str]]:
    """The User-Agent and the other handshake headers; ``ctx.headers`` win, in any case."""
    from websockets.http11 import USER_AGENT  # noqa: PLC0415 -- see the imports

    merged = {k.lower(): (k, v.get_secret_value()) for k, v in spec.headers.items()}
    merged.update({k.lower(): (k, v) for k, v in ctx.headers.items()})
    agent = merged.pop("user-agent", ("", USER_AGENT))[1]
    return agent, dict(merged.values())


def _transient_handshake(exc: WebSocketException) -> bool:
    """A missing or garbled answer, or a 5xx/429, may pass on a retry; a 4xx refusal will not."""
    from websockets.exceptions import InvalidMessage, InvalidStatus  # noqa: PLC0415

    if isinstance(exc, InvalidStatus):
        code = exc.response.status_code
        return code >= 500 or code == 429
    return isinstance(exc, InvalidMessage)


def _connect_budget(expect: WebSocketExpect, connect_ms: float) -> list[AssertionOutcome]:
    outcomes = []
    for limit, status in (
        (expect.connect_fail_ms, Status.FAIL),
        (expect.connect_degraded_ms, Status.DEGRADED),
    ):
        if limit is not None:
            outcomes.append(
                AssertionOutcome(
                    name="connect time",
                    passed=connect_ms <= limit,
                    expected=f"<= {limit:g} ms",
                    actual=f"{connect_ms:.1f} ms",
                    status_if_failed=status,
                    reason=FailureReason.LATENCY,
                    over_ms=connect_ms - limit,
                )
            )
    return outcomes


async def _await_reply(
    ws: ClientConnection, expect: WebSocketExpect, timeout_s: float
) -> AssertionOutcome:
    pattern = re.compile(expect.matches) if expect.matches else None
    wanted = (
        " and ".join(
            part
            for part in (
                f"contains {expect.contains!r}" if expect.contains else "",
                f"matches /{expect.matches}/" if expect.matches else "",
            )
            if part
        )
        or "any reply"
    )
    last = "no reply"
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                raw = await ws.recv()
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                last = text[:80]
                if (expect.contains is None or expect.contains in text) and (
                    pattern is None or pattern.search(text)
                ):
                    return AssertionOutcome("reply", True, wanted, last)
    except TimeoutError:
        # Silence is a timeout; a reply that never matched is the wrong content.
        reason = FailureReason.TIMEOUT if last == "no reply" else FailureReason.CONTENT
        return AssertionOutcome("reply", False, wanted, f"{last} (timed out)", reason=reason)


def _failure(message: str, t0: float, reason: FailureReason, *, transient: bool) -> ProbeResult:
    timed_out = reason is FailureReason.TIMEOUT
    return ProbeResult(
        Status.FAIL,
        message,
        timings={"total": (time.perf_counter() - t0) * 1000.0},
        transient=transient,
        details={"cause": failure_cause(timed_out=timed_out)} if transient else {},
        reason=reason,
    )


PROBE: Final[Probe[WebSocketSpec]] = WebSocketProbe()

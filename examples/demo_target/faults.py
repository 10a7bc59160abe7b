"""Faults the demo target can be told to have, switched at run time.

Request-level faults (``slow_ms``, ``status``, ``flaky_percent``, ``down``) and the
content faults ``wrong_json`` and ``subresource_500`` apply to the paths under a
prefix: ``scope[fault]`` if given, else ``path_prefix`` (default ``/``, every path).
``/_control/`` is never faulted, so a test can always switch a fault off again.

Page faults (``console_error``, ``js_exception``, ``missing_element``,
``slow_page_ms``, ``post_from_page``) change the homepage ``/`` only.

``flaky_percent = p`` is deterministic: counting matching requests from 1 since the
faults were last set, request ``n`` gets a 503 when ``ceil(n*p/100) > ceil((n-1)*p/100)``.
So exactly ``ceil(n*p/100)`` of the first ``n`` fail, spread evenly, and the first
one always fails (p=50: requests 1, 3, 5, ... fail; p=34: 1, 3, 6, 9, ...).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ScopedFault = Literal["slow_ms", "status", "flaky_percent", "down", "wrong_json", "subresource_500"]

MAX_DELAY_MS = 60_000


class Faults(BaseModel):
    """The target's current faults; the defaults are a healthy target."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    slow_ms: int = Field(default=0, ge=0, le=MAX_DELAY_MS, description="delay every response")
    status: int | None = Field(default=None, ge=400, le=599, description="answer with this status")
    wrong_json: bool = Field(
        default=False, description="health bodies say degraded, drop a service"
    )
    flaky_percent: int = Field(
        default=0, ge=0, le=100, description="this share of requests get 503"
    )
    down: bool = Field(default=False, description="drop the connection without a response")
    console_error: bool = Field(default=False, description="homepage JS calls console.error")
    js_exception: bool = Field(default=False, description="homepage JS throws an uncaught error")
    missing_element: bool = Field(default=False, description="homepage has no #content")
    subresource_500: bool = Field(default=False, description="static assets answer 500")
    slow_page_ms: int = Field(
        default=0, ge=0, le=MAX_DELAY_MS, description="homepage image delays the load event"
    )
    post_from_page: bool = Field(default=False, description="homepage JS POSTs to /api/track")
    path_prefix: str = Field(default="/", description="the paths scoped faults apply to")
    scope: dict[ScopedFault, str] = Field(
        default_factory=dict, description="per-fault path prefix, overriding path_prefix"
    )

    def applies(self, fault: ScopedFault, path: str) -> bool:
        """Whether a scoped fault covers ``path``."""
        return path.startswith(self.scope.get(fault, self.path_prefix))

    def page_flags(self) -> list[str]:
        """The page faults that are on, as the homepage script reads them."""
        names = ("console_error", "js_exception", "post_from_page")
        return [name for name in names if getattr(self, name)]


def flaky_hit(n: int, percent: int) -> bool:
    """Whether the ``n``-th matching request (from 1) fails under ``flaky_percent``."""
    return -(-n * percent // 100) > -(-(n - 1) * percent // 100)

"""Faults the demo target can be told to have, switched at run time.

Request-level faults (``slow_ms``, ``jitter_ms``, ``status``, ``flaky_percent``, ``down``) and the
content faults ``wrong_json`` and ``subresource_500`` apply to the paths under a
prefix: ``scope[fault]`` if given, else ``path_prefix`` (default ``/``, every path).
``/_control/`` is never faulted, so a test can always switch a fault off again.

Page faults (``console_error``, ``js_exception``, ``missing_element``,
``slow_page_ms``, ``post_from_page``) change the homepage ``/`` only.

``flaky_percent = p`` fails each matching request with a 503 independently, with
probability ``p``/100, drawn from a seeded generator: the same seed (``flaky_seed``, else
the target's ``--seed``) gives the same sequence of draws.  Changing other faults does not
restart the sequence; setting a new ``flaky_seed`` does, and so does a reset.
``jitter_ms = j`` delays each matching response by a uniform random 0..j ms, from its own
seeded generator (switching jitter on does not change which requests fail).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ScopedFault = Literal[
    "slow_ms", "jitter_ms", "status", "flaky_percent", "down", "wrong_json", "subresource_500"
]

MAX_DELAY_MS = 60_000


class Faults(BaseModel):
    """The target's current faults; the defaults are a healthy target."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    slow_ms: int = Field(default=0, ge=0, le=MAX_DELAY_MS, description="delay every response")
    jitter_ms: int = Field(
        default=0, ge=0, le=MAX_DELAY_MS, description="delay each response by random 0..jitter_ms"
    )
    status: int | None = Field(default=None, ge=400, le=599, description="answer with this status")
    wrong_json: bool = Field(
        default=False, description="health bodies say degraded, drop a service"
    )
    flaky_percent: int = Field(
        default=0, ge=0, le=100, description="each request gets a 503 with this probability"
    )
    flaky_seed: int | None = Field(
        default=None, description="seed of the random draws; a new value restarts them"
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

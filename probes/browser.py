"""The ``browser`` probe: a page load, and optionally a scripted journey, in real Chromium.

A homepage check::

    - name: homepage
      kind: browser
      url: https://app.example.com/
      required_selectors: ["#content", "[data-testid=nav]"]
      budgets: {degraded_ms: 1500, fail_ms: 3000}      # on the load event
      ignore_console: ["Download the React DevTools"]

A login check (steps: :mod:`probes.browser_steps`; ``cleanup`` runs in a ``finally``
once any step has run)::

    - name: login
      kind: browser
      url: https://app.example.com/login
      steps:
        - fill: "#email"
          value: smoke-test-basic@example.com
        - fill: "#password"
          value: ${SMOKE_TEST_PASSWORD}
        - click: "#login-submit"
          allow_write: ["POST /login"]
        - expect_url: "/account$"
        - expect_visible: "[data-testid=logged-in]"
      cleanup:
        - goto: /account
        - click: "#logout"
          allow_write: ["POST /logout"]
        - expect_visible: "[data-testid=logged-out]"

The browser comes from the :class:`~probes.browser_pool.BrowserPool` in
``ctx.resources`` (the Runtime's); without one, a browser is launched for this
check alone.  No browser is an ``error``; a broken page is ``fail``; a browser
crash, a navigation timeout or a 5xx document is ``fail`` and ``transient``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from probes.base import Probe, ProbeContext, ProbeResult, Status
from probes.browser_steps import FillStep, Step
from probes.reasons import FailureReason

if TYPE_CHECKING:
    from probes.browser_pool import BrowserPool


class LoadBudgets(BaseModel):
    """Budgets on the page's load time (the load event, from the start of navigation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    degraded_ms: float | None = Field(None, gt=0, description="slower than this: degraded")
    fail_ms: float | None = Field(None, gt=0, description="slower than this: fail")

    @model_validator(mode="after")
    def _ordered(self) -> LoadBudgets:
        if (
            self.degraded_ms is not None
            and self.fail_ms is not None
            and self.degraded_ms >= self.fail_ms
        ):
            raise ValueError("degraded_ms must be less than fail_ms")
        return self


class Viewport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(1280, ge=240, le=7680, description="pixels")
    height: int = Field(800, ge=240, le=4320, description="pixels")


class BrowserSpec(BaseModel):
    """The kind-specific fields of a ``browser`` check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["browser"] = Field("browser", description="browser")
    url: HttpUrl = Field(description="the page to load")
    wait_until: Literal["load", "networkidle"] = Field(
        "load", description="the navigation event to wait for"
    )
    required_selectors: tuple[str, ...] = Field((), description="each must be visible")
    steps: tuple[Step, ...] = Field(
        (), description="a scripted journey (goto, fill, click, expect_*, wait_for)"
    )
    cleanup: tuple[Step, ...] = Field((), description="always run once a step has run (logout)")
    budgets: LoadBudgets = Field(LoadBudgets(), description="budgets on the load event")
    max_console_errors: int = Field(0, ge=0, description="console errors and page errors allowed")
    max_page_errors: int = Field(0, ge=0, description="uncaught JavaScript exceptions")
    max_failed_requests: int = Field(0, ge=0, description="4xx/5xx responses, network errors")
    ignore_console: tuple[str, ...] = Field((), description="regexes of errors to ignore")
    ignore_requests: tuple[str, ...] = Field((), description="regexes of URLs that may fail")
    viewport: Viewport = Field(Viewport(), description="the browser window size")
    step_timeout_ms: int = Field(5000, gt=0, le=300_000, description="default bound on one step")
    selector_timeout_ms: int = Field(
        1000, gt=0, le=60_000, description="how long a required selector may take to be visible"
    )
    ignore_https_errors: bool = Field(False, description="accept invalid certificates")
    screenshot: bool = Field(True, description="keep a screenshot when the check fails")
    trace: bool = Field(
        True,
        description="keep a Playwright trace of a failure: recorded on the attempt that "
        "follows a failed one (a retry, the recheck, the next run)",
    )
    trace_every_attempt: bool = Field(
        False,
        description="record the trace on every attempt, so a first failure keeps one too "
        "(costs every check the tracing, about 70 ms of wall time)",
    )
    secret_fields: tuple[str, ...] = Field(
        (),
        description="header, query, form, JSON or cookie names whose values are credentials, "
        "beyond the built-in ones: masked in the kept trace",
    )

    @field_validator("ignore_console", "ignore_requests")
    @classmethod
    def _regexes(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return patterns

    def secrets(self) -> list[str]:
        """Every fill value: masked in results, scrubbed from traces."""
        return [
            s.value.get_secret_value()
            for s in (*self.steps, *self.cleanup)
            if isinstance(s, FillStep) and len(s.value.get_secret_value()) >= 3
        ]


def context_options(spec: BrowserSpec, ctx: ProbeContext) -> dict[str, Any]:
    """Options of the check's browser context: viewport, synthetic-traffic headers."""
    headers = {k: v for k, v in ctx.headers.items() if k.lower() != "user-agent"}
    options: dict[str, Any] = {
        "viewport": {"width": spec.viewport.width, "height": spec.viewport.height},
        "extra_http_headers": headers,
        "ignore_https_errors": spec.ignore_https_errors,
    }
    agent = next((v for k, v in ctx.headers.items() if k.lower() == "user-agent"), None)
    if agent:
        options["user_agent"] = agent
    return options


class BrowserProbe:
    __slots__ = ()
    kind = "browser"
    spec_model = BrowserSpec

    async def run(self, spec: BrowserSpec, ctx: ProbeContext) -> ProbeResult:
        # Playwright loads with the first browser check, not with the config models:
        # `smokewatch validate` and `--help` never need it.
        from probes.browser_pool import POOL_RESOURCE, BrowserPool  # noqa: PLC0415

        t0 = time.perf_counter()
        shared = ctx.resources.get(POOL_RESOURCE)
        if shared is None:
            # A browser launched for one check: its first attempt is its only one.
            async with BrowserPool(trace_every_attempt=True) as own:
                return await self._run(spec, ctx, own, t0)
        if not isinstance(shared, BrowserPool):
            return ProbeResult(
                Status.ERROR,
                f"resource {POOL_RESOURCE!r} is not a BrowserPool",
                reason=FailureReason.INTERNAL,
            )
        return await self._run(spec, ctx, shared, t0)

    async def _run(
        self, spec: BrowserSpec, ctx: ProbeContext, pool: BrowserPool, t0: float
    ) -> ProbeResult:
        from probes.browser_pool import BrowserCrashedError, BrowserUnavailableError  # noqa: PLC0415
        from probes.browser_run import BrowserRun  # noqa: PLC0415

        try:
            async with pool.context(**context_options(spec, ctx)) as context:
                return await BrowserRun(spec, ctx, context, pool, t0).execute()
        except BrowserUnavailableError as exc:
            return ProbeResult(
                Status.ERROR,
                exc.message,
                timings=_total(t0),
                details={"cause": "no_browser"},
                reason=FailureReason.BROWSER_UNAVAILABLE,
            )
        except BrowserCrashedError as exc:
            return ProbeResult(
                Status.FAIL,
                exc.message,
                timings=_total(t0),
                transient=True,
                details={"cause": "browser_crash"},
                reason=FailureReason.BROWSER_CRASH,
            )


def _total(t0: float) -> dict[str, float]:
    return {"total": (time.perf_counter() - t0) * 1000.0}


PROBE: Final[Probe[BrowserSpec]] = BrowserProbe()

"""One execution of a browser check in its own context: load, steps, cleanup, verdict, artifacts.

Assertion order decides the message (the first failure of the worst status):
the document, required selectors, steps, cleanup, failed requests, page errors,
console errors, then the load-time budgets.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from probes.assertions import clip
from probes.base import AssertionOutcome, JSONValue, ProbeContext, ProbeResult, Status
from probes.browser_page import PageWatch, navigation_timings
from probes.browser_steps import Step, allowance, first_line, run_step, url_path
from probes.reasons import FailureReason, from_chromium

if TYPE_CHECKING:
    from probes.browser import BrowserSpec
    from probes.browser_pool import BrowserPool

MASK = "***"
_MAIN_SHARE = 0.8  # of the deadline for the load and the steps; cleanup may use up to 95 %
_CLEANUP_SHARE = 0.95
_PREFIX = {"steps": "step", "cleanup": "cleanup"}


class BrowserRun:
    """The state of one browser check; :meth:`execute` returns its result."""

    def __init__(
        self,
        spec: BrowserSpec,
        ctx: ProbeContext,
        context: BrowserContext,
        pool: BrowserPool,
        t0: float,
    ) -> None:
        self.spec, self.ctx, self.context, self.pool, self.t0 = spec, ctx, context, pool, t0
        parts = urlsplit(str(spec.url))
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.watch = PageWatch(
            self.origin, ignore_console=spec.ignore_console, ignore_requests=spec.ignore_requests
        )
        self.outcomes: list[AssertionOutcome] = []
        self.timings: dict[str, float] = {}
        self.steps: dict[str, list[dict[str, JSONValue]]] = {"steps": [], "cleanup": []}
        self.status_code: int | None = None
        self.transient = False
        self.cause: str | None = None
        self.secrets = sorted(spec.secrets(), key=len, reverse=True)
        self.failure_png: bytes | None = None  # the page as the journey failed, before cleanup
        self.stem: Path | None = None  # where this failure's artifacts go, once it has one
        self.raw_trace: Path | None = None  # the trace, stopped as the journey failed
        self.seen_visible: frozenset[str] = frozenset()  # required selectors seen at load
        self.key = f"{ctx.region}/{ctx.check_name}"
        self.tracing = spec.trace and (spec.trace_every_attempt or pool.tracing_wanted(self.key))

    async def execute(self) -> ProbeResult:
        failed = True
        try:
            result = await self._execute()
            failed = result.status in (Status.FAIL, Status.ERROR)
            return result
        finally:
            self.pool.remember(self.key, failed=failed)
            if self.raw_trace is not None:  # kept traces were consumed; this one was not
                await asyncio.to_thread(self.raw_trace.unlink, missing_ok=True)

    async def _execute(self) -> ProbeResult:
        # The guard and the LCP observer are set on the context while its page is being
        # created (their round trips hidden behind it); both are in place before the
        # page's first request, the navigation below.
        page, _ = await asyncio.gather(self.context.new_page(), self.watch.guard(self.context))
        try:
            self.watch.listen(page)
            if self.tracing:
                # Without DOM snapshots Playwright records no network either (its HAR
                # tracer runs only with them): a trace without them shows too little.
                await self.context.tracing.start(screenshots=False, snapshots=True)
            started = False
            try:
                if await self._load(page):
                    await self._selectors(page)
                    started = bool(self.spec.steps)
                    await self._steps(page, self.spec.steps, "steps", _MAIN_SHARE)
            finally:
                if started and not page.is_closed():
                    await self._capture_failure(page)
                    await self._steps(page, self.spec.cleanup, "cleanup", _CLEANUP_SHARE)
        except PlaywrightError:
            if not (self.watch.crashed or page.is_closed() or not self._connected()):
                raise
            self.outcomes.append(
                AssertionOutcome(
                    "browser",
                    False,
                    "a running browser",
                    "the browser crashed",
                    reason=FailureReason.BROWSER_CRASH,
                )
            )
            self.transient, self.cause = True, "browser_crash"
            return self._result(page, closed=True)
        result = self._result(page, closed=False)
        if result.status in (Status.FAIL, Status.ERROR):
            result.artifacts = await self._artifacts(page)
        return result

    async def _capture_failure(self, page: Page) -> None:
        """Photograph the failing step's page and end the trace now, before the cleanup.

        A cleanup (a logout) would change the page: the evidence is the page as the
        journey failed, and the trace ends there too.
        """
        if not any(o.fails for o in self.outcomes):
            return
        with contextlib.suppress(PlaywrightError, OSError):
            if self.spec.screenshot:
                self.failure_png = await page.screenshot(full_page=True, timeout=5000)
            if self.tracing:
                raw = self._stem().with_suffix(".trace-raw")
                await asyncio.to_thread(raw.parent.mkdir, parents=True, exist_ok=True)
                self.raw_trace = raw
                await self.context.tracing.stop(path=raw)

    def _stem(self) -> Path:
        if self.stem is None:
            self.stem = self.pool.artifacts.new_stem(self.ctx.check_name or "browser")
        return self.stem

    def _connected(self) -> bool:
        browser = self.context.browser
        return browser is None or browser.is_connected()

    def _left_ms(self, share: float) -> float:
        end = self.t0 + self.ctx.deadline_s * share
        return (end - time.perf_counter()) * 1000.0

    async def _load(self, page: Page) -> bool:
        url = str(self.spec.url)
        timeout = max(self._left_ms(_MAIN_SHARE), 1.0)
        nav_start = time.perf_counter()
        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=timeout)
        except PlaywrightTimeoutError:
            self._fail_load(f"navigation timed out after {timeout:.0f} ms", cause="timeout")
            return False
        except PlaywrightError as exc:
            if page.is_closed():
                raise
            self._fail_load(first_line(exc.message), cause="connection")
            return False
        code = response.status if response is not None else 200
        self.status_code = code
        self.outcomes.append(
            AssertionOutcome(
                "document status", code < 400, "< 400", str(code), reason=FailureReason.HTTP_STATUS
            )
        )
        if code >= 500 or code == 429:
            self.transient = True
        await self._wait_loaded(page, nav_start)
        timings, self.seen_visible = await navigation_timings(page, self.spec.required_selectors)
        self.timings.update(timings)
        self._budgets()
        return code < 400

    def _fail_load(self, actual: str, *, cause: str) -> None:
        reason = FailureReason.TIMEOUT if cause == "timeout" else from_chromium(actual)
        self.outcomes.append(
            AssertionOutcome("page load", False, "the page to load", actual, reason=reason)
        )
        self.transient, self.cause = True, cause

    async def _wait_loaded(self, page: Page, nav_start: float) -> None:
        timeout = self._left_ms(_MAIN_SHARE)
        fail_ms = self.spec.budgets.fail_ms
        if fail_ms is not None:  # no need to wait past the point where it has failed anyway
            since = (time.perf_counter() - nav_start) * 1000.0
            timeout = min(timeout, fail_ms - since + 100.0)
        try:
            await page.wait_for_load_state("load", timeout=max(timeout, 1.0))
            if self.spec.wait_until == "networkidle":
                idle = max(self._left_ms(_MAIN_SHARE), 1.0)
                await page.wait_for_load_state("networkidle", timeout=idle)
        except PlaywrightTimeoutError:
            waited = (time.perf_counter() - nav_start) * 1000.0
            self.timings["load_waited"] = round(waited, 1)

    def _budgets(self) -> None:
        load = self.timings.get("load")
        waited = self.timings.pop("load_waited", None)
        actual = (
            f"{load:.0f} ms" if load is not None else f"no load event after {waited or 0:.0f} ms"
        )
        budgets = self.spec.budgets
        checks = (
            (budgets.fail_ms, Status.FAIL, ""),
            (budgets.degraded_ms, Status.DEGRADED, " (degraded)"),
        )
        for limit, status, label in checks:
            if limit is not None:
                passed = load is not None and load <= limit
                self.outcomes.append(
                    AssertionOutcome(
                        f"load time{label}",
                        passed,
                        f"at most {limit:g} ms",
                        actual,
                        status,
                        FailureReason.LATENCY,
                        None if load is None else load - limit,
                    )
                )
        if load is None and budgets.fail_ms is None:
            self._fail_load(actual, cause="timeout")

    async def _selectors(self, page: Page) -> None:
        timeout = min(self.spec.selector_timeout_ms, max(self._left_ms(_MAIN_SHARE), 1.0))

        async def visible(selector: str) -> AssertionOutcome:
            locator = page.locator(selector).first
            # After the load event a required element is nearly always there: the timing
            # call looked already (plain CSS); else one look, and a wait (polling) only for
            # one that is not visible yet.
            passed = selector in self.seen_visible or await locator.is_visible()
            if not passed:
                try:
                    await locator.wait_for(state="visible", timeout=timeout)
                    passed = True
                except PlaywrightTimeoutError:
                    pass
            if passed:
                actual = "visible"
            else:
                found = await page.locator(selector).count()
                actual = "not visible" if found else "not found"
            name = f"selector {selector} visible"
            expected = f"visible within {timeout:.0f} ms"
            return AssertionOutcome(
                name, passed, expected, actual, reason=FailureReason.MISSING_ELEMENT
            )

        found = await asyncio.gather(*(visible(s) for s in self.spec.required_selectors))
        self.outcomes.extend(found)

    async def _steps(self, page: Page, steps: Sequence[Step], label: str, share: float) -> None:
        base = str(self.spec.url)
        for index, step in enumerate(steps, start=1):
            allowed = allowance(step)
            if allowed is not None:
                self.watch.allowed = allowed
            left = self._left_ms(share)
            name = f"{_PREFIX[label]} {index}: {step.describe()}"
            if left <= 0:
                self.outcomes.append(
                    AssertionOutcome(
                        name, False, "time to run", "deadline reached", reason=FailureReason.TIMEOUT
                    )
                )
                break
            timeout = min(step.timeout_ms or self.spec.step_timeout_ms, left)
            done = await run_step(page, step, name=name, base_url=base, timeout_ms=timeout)
            self.outcomes.append(done.outcome)
            self.steps[label].append(
                {"step": name, "ok": done.outcome.passed, "ms": round(done.ms, 1)}
            )
            if done.status_code is not None:
                self.status_code = done.status_code
            if not done.outcome.passed:
                if done.transient and label == "steps":
                    self.transient = True
                break
        self.watch.allowed = ()

    def _health(self) -> list[AssertionOutcome]:
        spec, watch = self.spec, self.watch
        failed = [
            f"{r['method']} {r['url']} {r.get('status', r.get('error'))}"
            for r in watch.failed_requests
        ]
        rows = (
            ("failed requests", failed, spec.max_failed_requests, FailureReason.FAILED_REQUEST),
            ("page errors", watch.page_errors, spec.max_page_errors, FailureReason.PAGE_ERROR),
            (
                "console errors",
                watch.console_errors,
                spec.max_console_errors,
                FailureReason.CONSOLE_ERROR,
            ),
        )
        return [
            AssertionOutcome(
                name, len(items) <= limit, f"at most {limit}", _listing(items), reason=reason
            )
            for name, items, limit, reason in rows
        ]

    def _result(self, page: Page, *, closed: bool) -> ProbeResult:
        self.timings["total"] = (time.perf_counter() - self.t0) * 1000.0
        outcomes = [self._masked(o) for o in [*self.outcomes, *self._health()]]
        details: dict[str, JSONValue] = {
            "url": url_path(page.url) if not closed else url_path(str(self.spec.url)),
            "status_code": self.status_code,
            **self.watch.details(),
            **self.steps,
            "browser": self.pool.version,
        }
        if self.cause is not None:
            details["cause"] = self.cause
        result = ProbeResult.from_assertions(
            outcomes,
            timings=self.timings,
            details=self._mask_data(details),
            transient=self.transient,
        )
        blocked = len(self.watch.blocked_requests)
        if blocked and result.status.ok:
            result.message += f"; blocked {blocked} write request(s) from the page"
        first_blocked = self.watch.first_blocked
        if first_blocked is not None and result.status is Status.FAIL:
            # The journey broke after the guard stopped a write: name the write and the fix,
            # not the error page Chromium shows for an aborted request.
            result.message = first_blocked.advice(self.origin)
            result.reason = FailureReason.BLOCKED_WRITE
        return result

    async def _artifacts(self, page: Page) -> list[str]:
        store = self.pool.artifacts
        stem = self._stem()
        saved: list[str] = []
        try:
            await asyncio.to_thread(store.directory.mkdir, parents=True, exist_ok=True)
            if self.spec.screenshot:
                png = self.failure_png or await page.screenshot(full_page=True, timeout=5000)
                saved.append(str(await store.save_screenshot(stem, png)))
            if self.tracing:
                raw = self.raw_trace
                if raw is None:
                    raw = stem.parent / f"{stem.name}.trace-raw"
                    await self.context.tracing.stop(path=raw)
                saved.append(
                    str(await store.save_trace(stem, raw, self.secrets, self.spec.secret_fields))
                )
        except (PlaywrightError, OSError):
            pass  # artifacts are a help, not part of the verdict
        await store.prune()
        return saved

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def _masked(self, outcome: AssertionOutcome) -> AssertionOutcome:
        return replace(
            outcome,
            name=self._mask(outcome.name),
            expected=self._mask(outcome.expected),
            actual=self._mask(outcome.actual),
        )

    def _mask_data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._mask(value)
        if isinstance(value, dict):
            return {k: self._mask_data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask_data(v) for v in value]
        return value


def _listing(items: list[str]) -> str:
    if not items:
        return "0"
    return f"{len(items)}: " + clip("; ".join(items[:3]), 300)

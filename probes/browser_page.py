"""What a browser check sees happen on its page, and the read-only guard around it.

:class:`PageWatch` listens to one page for its whole check: console errors,
uncaught page errors, failed requests (4xx/5xx responses and network errors),
and routes every request of the context through the guard, which aborts any
write (a request other than GET/HEAD/OPTIONS) the current step does not allow.
:func:`navigation_timings` reads Navigation Timing and LCP from the page (LCP as
observed from the document's start by :data:`LCP_OBSERVER_JS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, ConsoleMessage, Page, Request, Response, Route
from playwright.async_api import Error as PlaywrightError

from probes.assertions import clip
from probes.base import JSONValue
from probes.browser_steps import AllowedWrite, url_path

READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
KEEP_MESSAGES: Final = 5
KEEP_REQUESTS: Final = 20
# The guard's own doing, and requests cut short by a navigation: not the target's fault.
_SELF_INFLICTED = re.compile(r"ERR_BLOCKED_BY_CLIENT|net::ERR_ABORTED|NS_BINDING_ABORTED")

# LCP is observed from the start of every document by an init script (one observer,
# no per-check waiting); TIMINGS_JS reads it with Navigation Timing (and which required
# selectors are already visible) in one call that waits for the LCP entry (300 ms at
# most) only when none has been delivered yet.  The value sits under a registered Symbol, which the
# page's own scripts do not enumerate.
LCP_OBSERVER_JS: Final = """(() => {
  const key = Symbol.for("smokewatch.lcp");
  try {
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      if (entries.length) window[key] = entries[entries.length - 1].startTime;
    }).observe({ type: "largest-contentful-paint", buffered: true });
  } catch (e) {}
})();"""

TIMINGS_JS: Final = """async (selectors) => {
  const key = Symbol.for("smokewatch.lcp");
  if (window[key] === undefined) {
    // Not painted, or the entry not delivered yet (a busy renderer delivers it late):
    // wait for it, at most 300 ms (a page with no contentful paint has no LCP).
    await new Promise((resolve) => {
      const cap = setTimeout(resolve, 300);
      try {
        new PerformanceObserver((list, observer) => {
          const entries = list.getEntries();
          if (!entries.length) return;
          window[key] ??= entries[entries.length - 1].startTime;
          observer.disconnect();
          clearTimeout(cap);
          resolve();
        }).observe({ type: "largest-contentful-paint", buffered: true });
      } catch (e) {
        clearTimeout(cap);
        resolve();
      }
    });
  }
  // Required selectors that plain CSS finds visible, as Playwright judges it (checkVisibility,
  // visibility: visible, a non-empty box); anything else is left to Playwright's locators.
  const visible = selectors.filter((selector) => {
    try {
      const el = document.querySelector(selector);
      if (!el) return false;
      const style = getComputedStyle(el);
      if (style.display === "contents") return false;
      if (el.checkVisibility && !el.checkVisibility()) return false;
      if (style.visibility !== "visible") return false;
      const rect = el.getBoundingClientRect();
      return rect.width > 0 && rect.height > 0;
    } catch (e) {
      return false;  // not plain CSS (a Playwright selector): ask Playwright
    }
  });
  const lcp = window[key] ?? null;
  const nav = performance.getEntriesByType("navigation")[0];
  if (!nav) return { timings: { lcp }, visible };
  return {
    timings: {
      ttfb: nav.responseStart,
      dcl: nav.domContentLoadedEventEnd || null,
      load: nav.loadEventEnd || nav.loadEventStart || null,
      lcp,
    },
    visible,
  };
}"""


def short_url(url: str, origin: str) -> str:
    """A request's URL for a report: the path on the check's origin, else host and path."""
    parts = urlsplit(url)
    if not parts.netloc:
        return clip(url, 120)
    here = f"{parts.scheme}://{parts.netloc}"
    return clip(parts.path or "/" if here == origin else f"{parts.netloc}{parts.path}", 200)


@dataclass(frozen=True, slots=True)
class BlockedWrite:
    """A write the guard stopped: what to add to ``allow_write`` to let it through."""

    method: str
    url: str  # without query or fragment

    def advice(self, origin: str) -> str:
        """``blocked POST https://host/login: add "POST /login" to allow_write``."""
        parts = urlsplit(self.url)
        same = f"{parts.scheme}://{parts.netloc}" == origin
        rule = f"{self.method} {parts.path or '/'}" if same else f"{self.method} {self.url}"
        return f'blocked {self.method} {self.url}: add "{rule}" to allow_write'


class PageWatch:
    """Collects one check's page events and guards its requests."""

    def __init__(
        self,
        origin: str,
        *,
        ignore_console: Sequence[str] = (),
        ignore_requests: Sequence[str] = (),
    ) -> None:
        self.origin = origin
        self.allowed: tuple[AllowedWrite, ...] = ()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[dict[str, JSONValue]] = []
        self.blocked_requests: list[dict[str, JSONValue]] = []
        self.allowed_writes: list[dict[str, JSONValue]] = []
        self.first_blocked: BlockedWrite | None = None
        self.crashed = False
        self._ignore_console = [re.compile(p) for p in ignore_console]
        self._ignore_requests = [re.compile(p) for p in ignore_requests]

    async def guard(self, context: BrowserContext) -> None:
        """Route the context's every request through the guard and observe LCP in its
        documents: two round trips to the browser, sent together."""
        await asyncio.gather(
            context.route("**/*", self._route), context.add_init_script(LCP_OBSERVER_JS)
        )

    def listen(self, page: Page) -> None:
        """Collect the page's console errors, page errors, failed requests and crash."""
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("crash", self._on_crash)

    def details(self) -> dict[str, JSONValue]:
        return {
            "console_errors": _counted(self.console_errors, KEEP_MESSAGES, "messages"),
            "page_errors": _counted(self.page_errors, KEEP_MESSAGES, "messages"),
            "failed_requests": _counted(self.failed_requests, KEEP_REQUESTS, "requests"),
            "blocked_requests": _counted(self.blocked_requests, KEEP_REQUESTS, "requests"),
            "allowed_writes": self.allowed_writes[:KEEP_REQUESTS],
        }

    async def _route(self, route: Route) -> None:
        request = route.request
        method = request.method
        with contextlib.suppress(PlaywrightError):  # the page or context closed meanwhile
            if method in READ_METHODS:
                await route.continue_()
                return
            entry: dict[str, JSONValue] = {
                "method": method,
                "url": short_url(request.url, self.origin),
            }
            if any(rule.matches(method, request.url, self.origin) for rule in self.allowed):
                self.allowed_writes.append(entry)
                await route.continue_()
                return
            self.blocked_requests.append(entry)
            if self.first_blocked is None:
                self.first_blocked = BlockedWrite(method, url_path(request.url))
            await route.abort("blockedbyclient")

    def _ignored(self, text: str) -> bool:
        return any(p.search(text) for p in self._ignore_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        if _SELF_INFLICTED.search(text) or self._ignored(text):
            return
        self.console_errors.append(clip(" ".join(text.split()), 200))

    def _on_page_error(self, error: Any) -> None:
        name = getattr(error, "name", "") or "Error"
        text = f"{name}: {getattr(error, 'message', '') or error}"
        if not self._ignored(text):
            self.page_errors.append(clip(" ".join(text.split()), 200))

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self._failed(response.request, status=response.status)

    def _on_request_failed(self, request: Request) -> None:
        failure = request.failure or "failed"
        if not _SELF_INFLICTED.search(failure):
            self._failed(request, error=failure)

    def _failed(self, request: Request, *, status: int | None = None, error: str = "") -> None:
        if any(p.search(request.url) for p in self._ignore_requests):
            return
        entry: dict[str, JSONValue] = {
            "method": request.method,
            "url": short_url(request.url, self.origin),
        }
        entry.update({"status": status} if status is not None else {"error": clip(error, 100)})
        self.failed_requests.append(entry)

    def _on_crash(self, page: Page) -> None:
        self.crashed = True


def _counted(items: list[Any], keep: int, key: str) -> dict[str, JSONValue]:
    return {"count": len(items), key: items[:keep]}


async def navigation_timings(
    page: Page, selectors: Sequence[str] = ()
) -> tuple[dict[str, float], frozenset[str]]:
    """TTFB, DOMContentLoaded, load and LCP of the current document, in ms; and which of
    ``selectors`` are plain CSS already visible (one call: the others are Playwright's to
    judge, and a selector not in the set is not thereby invisible)."""
    raw = await page.evaluate(TIMINGS_JS, list(selectors))
    if not isinstance(raw, dict):
        return {}, frozenset()
    timings = raw.get("timings")
    visible = raw.get("visible")
    found = (
        frozenset(v for v in visible if isinstance(v, str))
        if isinstance(visible, list)
        else frozenset()
    )
    if not isinstance(timings, dict):
        return {}, found
    return {
        key: round(float(value), 1)
        for key, value in timings.items()
        if isinstance(value, int | float) and value > 0
    }, found

"""One shared Chromium for every browser check: found, launched, recycled, always closed.

The Runtime owns one :class:`BrowserPool` and hands it to probes through
``ProbeContext.resources[POOL_RESOURCE]``.  Each check gets a fresh browser
context (its own cookies and storage, service workers blocked) from
:meth:`BrowserPool.context`, closed when the check ends.  The browser process is
replaced after ``max_checks`` checks, so a long-running service does not leak: the
new one is launched beside it once a check has ended past the limit, and the old one
serves on until the new one is up, so no check waits for (or is timed across) a
planned restart.  A browser that crashed is replaced by the next check, which waits
for the launch.  A browser still serving checks is closed when its last context
closes.

Errors raised here, both safe to show::

    BrowserError
    ├── BrowserUnavailableError  no Chromium, or it would not start: an ``error`` result
    └── BrowserCrashedError      the browser died under a check: a transient ``fail``
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from probes.browser_artifacts import ArtifactStore
from probes.errors import ProbeError

POOL_RESOURCE: Final = "browser_pool"
SYSTEM_CHROMIUM: Final = ("/usr/bin/chromium",)
# Headless on a server, as root, with no internet: without the background-networking
# flags Chromium phones home (component updates, sync) and waits on a closed network.
LAUNCH_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
INSTALL_HINT: Final = (
    "install one with 'playwright install chromium' or 'apt-get install chromium', "
    "or set the browser's executable_path"
)
_CLOSE_TIMEOUT_S: Final = 10.0


class BrowserError(ProbeError):
    """Base of the pool's errors; ``message`` is short and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BrowserUnavailableError(BrowserError):
    """No browser could be found or started."""


class BrowserCrashedError(BrowserError):
    """The browser died while a check was using it."""


def find_chromium(
    configured: str | None,
    bundled: str | None,
    fallbacks: Sequence[str] = SYSTEM_CHROMIUM,
) -> str:
    """The Chromium to launch: ``configured``, else Playwright's download, else the system's."""
    if configured:
        if _executable(configured):
            return configured
        raise BrowserUnavailableError(
            f"no Chromium at the configured executable_path {configured}: {INSTALL_HINT}"
        )
    for candidate in (bundled, *fallbacks):
        if candidate and _executable(candidate):
            return candidate
    raise BrowserUnavailableError(f"no Chromium found: {INSTALL_HINT}")


def _executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(slots=True, eq=False)
class _Slot:
    """One launched browser and the contexts it is serving."""

    browser: Browser
    uses: int = 0
    active: int = 0
    retired: bool = False


class BrowserPool:
    """A lazily launched, recycled Chromium; use as ``async with BrowserPool() as pool``."""

    def __init__(
        self,
        *,
        executable_path: str | None = None,
        use_bundled: bool = True,
        fallbacks: Sequence[str] = SYSTEM_CHROMIUM,
        max_checks: int = 200,
        launch_timeout_s: float = 30.0,
        args: Sequence[str] = LAUNCH_ARGS,
        artifacts_dir: str | Path = "smokewatch-artifacts",
        keep_artifacts: int = 50,
        trace_every_attempt: bool = False,
    ) -> None:
        if max_checks < 1:
            raise ValueError("max_checks must be at least 1")
        self.executable_path = executable_path
        self.use_bundled = use_bundled
        self.fallbacks = tuple(fallbacks)
        self.max_checks = max_checks
        self.launch_timeout_s = launch_timeout_s
        self.args = tuple(args)
        self.artifacts = ArtifactStore(artifacts_dir, keep=keep_artifacts)
        self.trace_every_attempt = trace_every_attempt
        self.launches = 0  # browsers started so far
        self.checks = 0  # contexts handed out so far
        self.version: str | None = None  # of the browser launched last
        self._playwright: Playwright | None = None
        self._current: _Slot | None = None
        self._retiring: list[_Slot] = []
        self._replacing: asyncio.Task[None] | None = None  # a replacement launching beside
        self._lock = asyncio.Lock()
        self._closed = False
        self._failing: set[str] = set()  # checks whose last attempt failed: trace the next

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def context(self, **options: Any) -> AsyncIterator[BrowserContext]:
        """A fresh browser context (service workers blocked), closed on exit.

        ``options`` go to ``Browser.new_context`` (viewport, user_agent, headers, ...).
        Raises :class:`BrowserUnavailableError` or :class:`BrowserCrashedError`.
        """
        slot, context = await self._open(options)
        try:
            yield context
        finally:
            await self._close_context(slot, context)
            await self._release(slot)

    async def _open(self, options: dict[str, Any]) -> tuple[_Slot, BrowserContext]:
        # A browser that died since its last check is noticed here: replace it, once.
        for attempt in (1, 2):
            slot = await self._acquire()
            try:
                return slot, await slot.browser.new_context(service_workers="block", **options)
            except PlaywrightError as exc:
                await self._release(slot)
                if slot is self._current:
                    await self._retire(slot)
                if attempt == 2:
                    raise BrowserCrashedError(
                        f"could not open a browser context: {_first_line(exc.message)}"
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def tracing_wanted(self, check: str) -> bool:
        """Whether ``check``'s attempt should record a trace: its last attempt failed.

        Tracing costs every check it runs in (DOM snapshots, the network log), and a
        trace is kept only by a failure: the attempt after a failure (the runner's
        retry, the recheck, the next run) records it, so a failure that holds has one.
        """
        return self.trace_every_attempt or check in self._failing

    def remember(self, check: str, *, failed: bool) -> None:
        """Note how ``check``'s attempt ended, for :meth:`tracing_wanted`."""
        if failed:
            self._failing.add(check)
        else:
            self._failing.discard(check)

    async def start(self) -> None:
        """Launch the browser now rather than on the first check."""
        slot = await self._acquire()
        slot.uses -= 1  # a warm-up is not a check
        self.checks -= 1
        await self._release(slot)

    async def close(self) -> None:
        """Close every browser and the Playwright driver; the pool cannot be used after."""
        if self._replacing is not None:  # a replacement launching: stopped, then closed
            self._replacing.cancel()
            await asyncio.wait([self._replacing])
        async with self._lock:
            self._closed = True
            slots = [*self._retiring, *([self._current] if self._current else [])]
            self._current, self._retiring = None, []
            for slot in slots:
                await self._close_browser(slot)
            if self._playwright is not None:
                playwright, self._playwright = self._playwright, None
                with contextlib.suppress(PlaywrightError, OSError):
                    await playwright.stop()

    async def _acquire(self) -> _Slot:
        async with self._lock:
            if self._closed:
                raise BrowserUnavailableError("the browser pool is closed")
            slot = self._current
            if slot is not None and not slot.browser.is_connected():
                await self._retire(slot)
                slot = None
            if slot is None:  # none yet, or it died: this check waits for a launch
                slot = self._current = _Slot(await self._launch())
            slot.uses += 1
            slot.active += 1
            self.checks += 1
            return slot

    async def _release(self, slot: _Slot) -> None:
        slot.active -= 1
        if slot.retired and slot.active == 0 and slot in self._retiring:
            self._retiring.remove(slot)
            await self._close_browser(slot)
        elif slot is self._current and slot.uses >= self.max_checks and self._replacing is None:
            # Recycled beside: the old browser serves on until the new one is up, so no
            # check ever waits for (or is timed across) a restart.
            self._replacing = asyncio.get_running_loop().create_task(self._replace())

    async def _replace(self) -> None:
        try:
            try:
                browser = await self._launch()
            except BrowserError:
                return  # the old one serves on; the next check past the limit tries again
            async with self._lock:
                if self._closed:
                    await self._close_browser(_Slot(browser))
                    return
                if self._current is not None:
                    await self._retire(self._current)
                self._current = _Slot(browser)
        finally:
            self._replacing = None

    async def replaced(self) -> None:
        """Wait until a replacement under way (``max_checks`` reached) is serving."""
        task = self._replacing
        if task is not None:
            await asyncio.shield(task)

    async def _retire(self, slot: _Slot) -> None:
        slot.retired = True
        self._current = None
        if slot.active == 0:
            await self._close_browser(slot)
        else:
            self._retiring.append(slot)

    async def _launch(self) -> Browser:
        if self._playwright is None:
            try:
                self._playwright = await async_playwright().start()
            except (PlaywrightError, OSError) as exc:
                raise BrowserUnavailableError(
                    f"the Playwright driver did not start: {_first_line(str(exc))}"
                ) from exc
        chromium = self._playwright.chromium
        bundled = chromium.executable_path if self.use_bundled else None
        executable = find_chromium(self.executable_path, bundled, self.fallbacks)
        try:
            browser = await chromium.launch(
                executable_path=executable,
                headless=True,
                args=list(self.args),
                timeout=self.launch_timeout_s * 1000,
            )
        except PlaywrightError as exc:
            raise BrowserUnavailableError(
                f"Chromium at {executable} did not start: {_first_line(exc.message)}"
            ) from exc
        self.launches += 1
        self.version = browser.version
        return browser

    async def _close_context(self, slot: _Slot, context: BrowserContext) -> None:
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await context.close()
        except (PlaywrightError, TimeoutError):
            # A context that will not close means a sick browser: replace it.
            if slot is self._current:
                slot.retired = True
                self._current = None
                self._retiring.append(slot)

    async def _close_browser(self, slot: _Slot) -> None:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await slot.browser.close()

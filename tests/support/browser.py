"""Helpers for the browser probe tests: a shared real Chromium, contexts, and check specs.

Each browser test module opens one :class:`BrowserPool` (one Chromium) for all its
tests, on a module-scoped event loop: Playwright objects belong to the loop that
made them.  The demo target runs in its own thread (``served`` / ``target``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD
from probes.base import ProbeContext, ProbeResult
from probes.browser import BrowserSpec
from probes.browser_pool import POOL_RESOURCE, BrowserPool

PASSWORD = DEFAULT_PASSWORD
WRONG_PASSWORD = "not-the-password-42"  # a wrong password, on purpose
MARKER_HEADERS = {"User-Agent": "smokewatch-test/1", "X-Synthetic-Monitor": "smokewatch"}


@contextlib.asynccontextmanager
async def started_pool(artifacts: Path, **options: Any) -> AsyncIterator[BrowserPool]:
    """A pool with its browser already launched, closed on exit."""
    async with BrowserPool(artifacts_dir=artifacts, **options) as pool:
        await pool.start()
        yield pool


def probe_context(
    client: httpx.AsyncClient,
    pool: BrowserPool | None,
    *,
    name: str = "browser-test",
    deadline_s: float = 10.0,
) -> ProbeContext:
    """A context handing the probe ``pool``; ``client`` is unused by browser checks."""
    return ProbeContext(
        client=client,
        headers=MARKER_HEADERS,
        deadline_s=deadline_s,
        check_name=name,
        resources={POOL_RESOURCE: pool} if pool is not None else {},
    )


def homepage_spec(base: str, **fields: Any) -> BrowserSpec:
    """The homepage check: the page loads, its main parts are visible, nothing errs."""
    data: dict[str, Any] = {
        "url": base + "/",
        "required_selectors": ["#content", "[data-testid=nav]", "#hero"],
        "budgets": {"fail_ms": 4000},
        "selector_timeout_ms": 1500,  # roomy: a loaded CI machine renders slowly
        **fields,
    }
    return BrowserSpec.model_validate(data)


def login_spec(
    base: str, *, password: str = PASSWORD, extra_steps: tuple[Any, ...] = ()
) -> BrowserSpec:
    """The test-account login: fill, submit, expect the account page, then log out."""
    return BrowserSpec.model_validate(
        {
            "url": base + "/login",
            "step_timeout_ms": 3000,  # roomy: a loaded CI machine renders slowly
            "steps": [
                {"fill": "#email", "value": DEFAULT_EMAIL},
                {"fill": "#password", "value": password},
                {"click": "#login-submit", "allow_write": ["POST /login"]},
                {"expect_url": "/account$"},
                {"expect_visible": "[data-testid=logged-in]"},
                *extra_steps,
            ],
            "cleanup": [
                {"goto": "/account"},
                {"click": "#logout", "allow_write": ["POST /logout"], "timeout_ms": 3000},
                {"expect_visible": "[data-testid=logged-out]"},
            ],
        }
    )


def shown(result: ProbeResult) -> str:
    """Everything a result would show anywhere: message, assertions, details, artifact paths."""
    parts = [result.message, repr(result.details), *result.artifacts]
    parts += [f"{a.name} {a.expected} {a.actual}" for a in result.assertions]
    return "\n".join(parts)


def artifact_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file()) if directory.exists() else []


@pytest.fixture(scope="module")
def browser_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's failing checks leave screenshots and traces."""
    return tmp_path_factory.mktemp("browser-artifacts")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser_pool(browser_artifacts: Path) -> AsyncIterator[BrowserPool]:
    """One Chromium for the whole module."""
    async with started_pool(browser_artifacts) as shared:
        yield shared


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser_client() -> AsyncIterator[httpx.AsyncClient]:
    """The module's shared HTTP client (the probe context requires one)."""
    async with httpx.AsyncClient() as shared:
        yield shared

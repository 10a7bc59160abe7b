"""Scripted steps of a browser journey, as config and as actions on a page.

Each step is a mapping named by its action, in ``smokewatch.yaml``::

    - goto: /login                        # a URL, or a path relative to the check's url
    - fill: "#password"                   # a selector, and the value to type
      value: ${SMOKE_TEST_PASSWORD}       # a secret: never shown, scrubbed from traces
    - click: "#login-submit"
      allow_write: ["POST /login"]        # the writes this step may cause
    - expect_url: "/account$"             # a regex searched in the page's URL
    - expect_visible: "[data-testid=logged-in]"
    - expect_text: "#account-email"
      text: smoke-test
    - wait_for: "#spinner"
      state: hidden

A write (any request but GET/HEAD) is blocked unless the current step allows it:
``allow_write`` of a ``goto``/``fill``/``click`` step stays open through the
``expect_*``/``wait_for`` steps after it, until the next action step.
"""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)

from probes.assertions import clip
from probes.base import AssertionOutcome
from probes.reasons import FailureReason, from_chromium

if TYPE_CHECKING:
    from playwright.async_api import Page
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

WRITE_METHODS: Final = ("POST", "PUT", "PATCH", "DELETE")


class AllowedWrite(BaseModel):
    """A write a step may cause: ``"POST /login"``, or ``{method: POST, url: /login}``.

    ``url`` is a glob: a path (``/api/*``) matches requests to the check's own
    origin, a full URL (``https://auth.example.com/*``) any origin.  The query
    string is ignored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["POST", "PUT", "PATCH", "DELETE"] = Field(
        "POST", description="the write method allowed"
    )
    url: str = Field(
        min_length=1, description="a path glob on the check's origin, or a full URL glob"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            method, _, url = value.strip().partition(" ")
            if not url:
                raise ValueError(f"expected 'METHOD URL', e.g. 'POST /login', got {value!r}")
            return {"method": method.upper(), "url": url.strip()}
        return value

    @field_validator("url")
    @classmethod
    def _path_or_url(cls, value: str) -> str:
        if not value.startswith(("/", "http://", "https://")):
            raise ValueError("url must be a path starting with '/' or an http(s) URL")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The schema accepts both spellings, as the model does (the README uses the string)."""
        mapping = handler.resolve_ref_schema(handler(core_schema))
        short = {
            "type": "string",
            "pattern": r"^\s*(POST|PUT|PATCH|DELETE|post|put|patch|delete) +(/|https?://)",
            "description": "'METHOD URL', e.g. 'POST /login' or 'DELETE https://auth.example.com/*'",
        }
        return {"description": mapping.get("description", ""), "anyOf": [short, mapping]}

    def matches(self, method: str, url: str, origin: str) -> bool:
        if method != self.method:
            return False
        parts = urlsplit(url)
        if self.url.startswith("/"):
            here = f"{parts.scheme}://{parts.netloc}"
            return here == origin and fnmatch.fnmatchcase(parts.path or "/", self.url)
        return fnmatch.fnmatchcase(f"{parts.scheme}://{parts.netloc}{parts.path}", self.url)

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: ClassVar[str]
    timeout_ms: int | None = Field(None, gt=0, le=300_000, description="default: step_timeout_ms")

    @property
    def target(self) -> str:
        value: str = getattr(self, self.action)
        return value

    def describe(self) -> str:
        return f"{self.action} {self.target}"


class _ActionStep(_Step):
    """A step that acts on the page, and so may cause writes."""

    allow_write: tuple[AllowedWrite, ...] = Field(
        (), description="writes this step may cause: 'POST /login' or {method, url}"
    )


class GotoStep(_ActionStep):
    action: ClassVar[str] = "goto"
    goto: str = Field(min_length=1, description="a URL, or a path relative to the check's url")
    wait_until: Literal["commit", "domcontentloaded", "load", "networkidle"] = Field(
        "load", description="the navigation event to wait for"
    )


class FillStep(_ActionStep):
    action: ClassVar[str] = "fill"
    fill: str = Field(min_length=1, description="selector of the field to fill")
    value: SecretStr = Field(description="the text to type (a secret: never shown)")


class ClickStep(_ActionStep):
    action: ClassVar[str] = "click"
    click: str = Field(min_length=1, description="selector of the element to click")


class ExpectVisibleStep(_Step):
    action: ClassVar[str] = "expect_visible"
    expect_visible: str = Field(min_length=1, description="selector that must become visible")


class ExpectUrlStep(_Step):
    action: ClassVar[str] = "expect_url"
    expect_url: str = Field(min_length=1, description="a regex searched in the page URL")

    @field_validator("expect_url")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
        return value


class ExpectTextStep(_Step):
    action: ClassVar[str] = "expect_text"
    expect_text: str = Field(min_length=1, description="selector whose text must contain text")
    text: str = Field(min_length=1, description="the element's text must contain this")

    def describe(self) -> str:
        return f"expect_text {self.expect_text} contains {self.text!r}"


class WaitForStep(_Step):
    action: ClassVar[str] = "wait_for"
    wait_for: str = Field(min_length=1, description="selector to wait on")
    state: Literal["attached", "detached", "visible", "hidden"] = Field(
        "visible", description="the state to wait for"
    )


_STEPS: Final[tuple[type[_Step], ...]] = (
    GotoStep,
    FillStep,
    ClickStep,
    ExpectVisibleStep,
    ExpectUrlStep,
    ExpectTextStep,
    WaitForStep,
)
ACTIONS: Final = tuple(s.action for s in _STEPS)


def _action_of(value: Any) -> str | None:
    if isinstance(value, _Step):
        return value.action
    if isinstance(value, dict):
        found = [a for a in ACTIONS if a in value]
        return found[0] if len(found) == 1 else None
    return None


Step = Annotated[
    Annotated[GotoStep, Tag("goto")]
    | Annotated[FillStep, Tag("fill")]
    | Annotated[ClickStep, Tag("click")]
    | Annotated[ExpectVisibleStep, Tag("expect_visible")]
    | Annotated[ExpectUrlStep, Tag("expect_url")]
    | Annotated[ExpectTextStep, Tag("expect_text")]
    | Annotated[WaitForStep, Tag("wait_for")],
    Discriminator(
        _action_of,
        custom_error_type="step_action",
        custom_error_message=f"a step takes exactly one action: {', '.join(ACTIONS)}",
    ),
]


@dataclass(frozen=True, slots=True)
class StepResult:
    outcome: AssertionOutcome
    ms: float
    transient: bool = False  # a navigation timed out or got a 5xx
    status_code: int | None = None  # of a goto's document


def allowance(step: _Step) -> tuple[AllowedWrite, ...] | None:
    """The writes allowed from this step on, or ``None`` to keep the current ones."""
    return step.allow_write if isinstance(step, _ActionStep) else None


async def run_step(
    page: Page, step: _Step, *, name: str, base_url: str, timeout_ms: float
) -> StepResult:
    """Do one step; a failure is an outcome, never an exception (but a dead browser raises)."""
    # Playwright loads with the first step run, not with the step models (config loading).
    from playwright.async_api import Error as PlaywrightError  # noqa: PLC0415
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError  # noqa: PLC0415
    from playwright.async_api import expect  # noqa: PLC0415

    t0 = time.perf_counter()
    expected, actual, passed = _expected(step, timeout_ms), "ok", True
    transient, code = False, None
    try:
        if isinstance(step, GotoStep):
            url = urljoin(base_url, step.goto)
            response = await page.goto(url, wait_until=step.wait_until, timeout=timeout_ms)
            code = response.status if response is not None else None
            if code is not None and code >= 400:
                passed, actual, transient = False, f"HTTP {code}", code >= 500 or code == 429
        elif isinstance(step, FillStep):
            await page.locator(step.fill).first.fill(
                step.value.get_secret_value(), timeout=timeout_ms
            )
        elif isinstance(step, ClickStep):
            await page.locator(step.click).first.click(timeout=timeout_ms)
        elif isinstance(step, ExpectVisibleStep):
            await page.locator(step.expect_visible).first.wait_for(
                state="visible", timeout=timeout_ms
            )
        elif isinstance(step, ExpectUrlStep):
            await page.wait_for_url(re.compile(step.expect_url), timeout=timeout_ms)
        elif isinstance(step, ExpectTextStep):
            await expect(page.locator(step.expect_text).first).to_contain_text(
                step.text, timeout=timeout_ms
            )
        elif isinstance(step, WaitForStep):
            await page.locator(step.wait_for).first.wait_for(state=step.state, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        passed, actual = False, await _timed_out(page, step, timeout_ms)
        transient = isinstance(step, GotoStep)
    except AssertionError:
        passed, actual = False, await _text_of(page, step)
    except PlaywrightError as exc:
        if page.is_closed():
            raise
        passed, actual = False, first_line(exc.message)
        transient = isinstance(step, GotoStep)
    ms = (time.perf_counter() - t0) * 1000.0
    outcome = AssertionOutcome(name, passed, expected, actual, reason=_reason(step, actual, code))
    return StepResult(outcome, ms, transient, code)


def _reason(step: _Step, actual: str, code: int | None) -> FailureReason:
    """Why a failed step failed: what the step waited for tells it (README, reasons)."""
    if isinstance(step, GotoStep):
        if code is not None and code >= 400:
            return FailureReason.HTTP_STATUS
        return FailureReason.TIMEOUT if "timed out" in actual else from_chromium(actual)
    if isinstance(step, ExpectTextStep):
        return FailureReason.MISSING_ELEMENT if actual == "not found" else FailureReason.CONTENT
    if isinstance(step, ExpectUrlStep):
        return FailureReason.ASSERTION
    if actual.startswith(("not found", "not visible")):
        return FailureReason.MISSING_ELEMENT
    return FailureReason.ASSERTION


def _expected(step: _Step, timeout_ms: float) -> str:
    within = f"within {timeout_ms:.0f} ms"
    if isinstance(step, GotoStep):
        return f"the page to load ({step.wait_until}) {within} with status < 400"
    if isinstance(step, ExpectUrlStep):
        return f"a URL matching {step.expect_url!r} {within}"
    if isinstance(step, ExpectTextStep):
        return f"text containing {step.text!r} {within}"
    if isinstance(step, WaitForStep):
        return f"{step.state} {within}"
    if isinstance(step, ExpectVisibleStep):
        return f"visible {within}"
    return f"an element to {step.action} {within}"


async def _timed_out(page: Page, step: _Step, timeout_ms: float) -> str:
    from playwright.async_api import Error as PlaywrightError  # noqa: PLC0415

    if isinstance(step, ExpectUrlStep):
        return f"URL {url_path(page.url)} after {timeout_ms:.0f} ms"
    if isinstance(step, GotoStep):
        return f"navigation timed out after {timeout_ms:.0f} ms"
    selector = step.target
    try:
        count = await page.locator(selector).count()
    except PlaywrightError:
        return f"timed out after {timeout_ms:.0f} ms"
    return "not found" if count == 0 else f"not {getattr(step, 'state', 'actionable')}"


async def _text_of(page: Page, step: _Step) -> str:
    from playwright.async_api import Error as PlaywrightError  # noqa: PLC0415

    try:
        text = await page.locator(step.target).first.inner_text(timeout=500)
    except PlaywrightError:
        return "not found"
    return repr(clip(" ".join(text.split()), 120))


def first_line(text: str, limit: int = 200) -> str:
    stripped = text.strip()
    line = stripped.splitlines()[0] if stripped else "unknown error"
    return clip(line, limit)


def url_path(url: str) -> str:
    """A URL without its query and fragment (which may carry tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url

"""Flow probe: a short journey of HTTP steps, values captured from one step used in the next.

The spec's API login: log in with the test account, capture the token, read the
profile, log out.  Rules that keep it safe in production:

- A step that is not GET/HEAD must say ``allow_write: true``; the config is rejected
  otherwise.
- ``cleanup`` steps (the logout) run in a ``finally``: also when a step failed,
  as long as the values they need were captured.  A failed cleanup does not fail the
  check by itself (the journey worked): it is reported in ``details["cleanup"]``
  (``ok``, ``step``, ``message``, ``status_code`` or ``cause``), and the runner retries
  it under ``retry_on`` like any other request.
- Captured values (tokens, ids) are treated as secrets: they never appear in the
  result, only ``***``.

Placeholders are ``{{ name }}`` in URLs, header values, form values and JSON strings;
each must be captured by an earlier step, which is checked at config load.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from probes import html_capture
from probes.assertions import Expectations, clip
from probes.base import (
    AssertionOutcome,
    Attachment,
    JSONValue,
    Probe,
    ProbeContext,
    ProbeResult,
    Status,
    failure_cause,
)
from probes.http import (
    DEFAULT_MAX_BODY_BYTES,
    Exchange,
    HttpProbeError,
    RequestFailedError,
    RequestTimeoutError,
    evaluate,
    parse_retry_after,
    send,
)
from probes.lazy import lazy_import
from probes.reasons import FailureReason
from probes.scrub import credentials_in

if TYPE_CHECKING:
    import httpx
    import jsonpath
else:  # both load when a flow runs (or a capture names a JSON path): validate stays light
    httpx = lazy_import("httpx")
    jsonpath = lazy_import("jsonpath")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
READ_METHODS: Final = frozenset({"GET", "HEAD"})
MASK: Final = "***"
_ELLIPSIS: Final = "…"  # how probes.assertions.clip marks a cut text
_MIN_MASKED: Final = 4  # shorter values are too likely to be ordinary words or numbers
_MESSAGE_CHARS: Final = 200


class Capture(BaseModel):
    """Where a value comes from: a JSON path of the body, a response header, or HTML.

    HTML: ``css`` (the first match; its attribute ``attr``, or its text) or ``regex``
    (one group) over the body: a CSRF token from a server-rendered form.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    json_path: str | None = Field(
        None, alias="json", description="a JSONPath into the response body"
    )
    header: str | None = Field(None, description="a response header's value")
    css: str | None = Field(None, description="a CSS selector; the first match is taken")
    attr: str | None = Field(None, description="with css: this attribute instead of the text")
    regex: str | None = Field(None, description="a regex with one group, over the body")

    @model_validator(mode="after")
    def _exactly_one(self) -> Capture:
        sources = [self.json_path, self.header, self.css, self.regex]
        if sum(source is not None for source in sources) != 1:
            raise ValueError("a capture takes exactly one of 'json', 'header', 'css' or 'regex'")
        if self.attr is not None and self.css is None:
            raise ValueError("'attr' goes with 'css' only")
        if self.json_path is not None:
            try:
                jsonpath.compile(self.json_path)
            except jsonpath.JSONPathError as exc:
                raise ValueError(f"invalid JSON path {self.json_path!r}: {exc}") from None
        if self.css is not None:
            html_capture.check_selector(self.css)
        if self.regex is not None:
            html_capture.check_regex(self.regex)
        return self

    def describe(self) -> str:
        """Where the value was looked for, for a message: ``css input[name=csrf] @value``."""
        if self.header is not None:
            return f"header {self.header}"
        if self.css is not None:
            return f"css {self.css}" + (f" @{self.attr}" if self.attr else " text")
        if self.regex is not None:
            return f"regex {self.regex}"
        return f"json {self.json_path}"

    def take(self, exchange: Exchange) -> str | None:
        """The captured value; ``None`` when nothing (or only an empty value) was found."""
        if self.header is not None:
            value: str | None = exchange.headers.get(self.header)
            return value or None
        if self.css is not None:
            return html_capture.select(exchange.text(), self.css, self.attr)
        if self.regex is not None:
            return html_capture.search(exchange.text(), html_capture.check_regex(self.regex))
        try:
            found: list[object] = jsonpath.findall(self.json_path or "$", exchange.json())
        except ValueError:
            return None
        if not found or found[0] is None:
            return None
        first: object = found[0]
        return (first if isinstance(first, str) else str(first)) or None


class FlowStep(BaseModel):
    """One request of a flow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="the step's name in results"
    )
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = Field(
        "GET", description="the HTTP method; a write needs allow_write: true"
    )
    url: str = Field(description="the request URL")
    allow_write: bool = Field(False, description="required for any method but GET/HEAD")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="request headers")
    json_body: JSONValue = Field(None, alias="json", description="a JSON body")
    form: dict[str, SecretStr] | None = Field(
        None, description="a form body (application/x-www-form-urlencoded)"
    )
    follow_redirects: bool = Field(False, description="follow 3xx responses")
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES, ge=0, description="the most of the body read"
    )
    expect: Expectations = Field(
        default_factory=Expectations, description="assertions on this step's response"
    )
    capture: dict[str, Capture] = Field(
        default_factory=dict,
        description="values to take from the response, for later steps ({{ name }})",
    )

    @field_validator("capture", mode="wrap")
    @classmethod
    def _capture_errors_name_the_step(
        cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> dict[str, Capture]:
        # Re-raised as a ValidationError, each error keeps its own location (the capture's
        # line in the file); the message gains the step's name, which the location lacks.
        try:
            captures: dict[str, Capture] = handler(value)
        except ValidationError as exc:
            step = info.data.get("name", "?")
            raise ValidationError.from_exception_data(
                exc.title, [_in_step(step, error) for error in exc.errors()]
            ) from None
        return captures

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _writes_are_explicit(self) -> FlowStep:
        if self.method not in READ_METHODS and not self.allow_write:
            raise ValueError(
                f"step '{self.name}' uses {self.method}, which may write: smokewatch is "
                "read-only unless the step says 'allow_write: true'"
            )
        if self.json_body is not None and self.form is not None:
            raise ValueError(f"step '{self.name}' sets both 'json' and 'form'")
        return self

    def placeholders(self) -> set[str]:
        texts = [self.url, *(v.get_secret_value() for v in self.headers.values())]
        texts += [v.get_secret_value() for v in (self.form or {}).values()]
        texts += list(_strings(self.json_body))
        return {name for text in texts for name in _PLACEHOLDER.findall(text)}


class FlowSpec(BaseModel):
    """The kind-specific fields of a ``flow`` check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["flow"] = Field("flow", description="flow")
    steps: list[FlowStep] = Field(min_length=1, description="the HTTP steps, in order")
    cleanup: list[FlowStep] = Field(
        default_factory=list, description="steps that always run at the end (logout)"
    )

    @model_validator(mode="after")
    def _placeholders_are_captured_first(self) -> FlowSpec:
        known: set[str] = set()
        names: set[str] = set()
        for step in self.steps:
            missing = step.placeholders() - known
            if missing:
                raise ValueError(
                    f"step '{step.name}' uses {sorted(missing)} before any step captures it"
                )
            if step.name in names:
                raise ValueError(f"step name '{step.name}' is used twice")
            known |= set(step.capture)
            names.add(step.name)
        for step in self.cleanup:
            missing = step.placeholders() - known
            if missing:
                raise ValueError(
                    f"cleanup step '{step.name}' uses {sorted(missing)}, never captured"
                )
            if step.name in names:
                raise ValueError(f"step name '{step.name}' is used twice")
            names.add(step.name)
        return self


class FlowProbe:
    __slots__ = ()
    kind = "flow"
    spec_model = FlowSpec

    async def run(self, spec: FlowSpec, ctx: ProbeContext) -> ProbeResult:
        t0 = time.perf_counter()
        run = _FlowRun(ctx)
        try:
            for step in spec.steps:
                if not await run.step(step, cleanup=False):
                    break
        finally:
            for step in spec.cleanup:
                await run.step(step, cleanup=True)
        timings = {**run.timings, "total": (time.perf_counter() - t0) * 1000.0}
        details: dict[str, JSONValue] = {"steps": run.steps}
        if run.cause:
            details["cause"] = run.cause
        if spec.cleanup:
            details["cleanup"] = run.cleanup_report
        result = ProbeResult.from_assertions(
            run.outcomes,
            timings=timings,
            details=details,
            transient=run.transient,
            retry_after_s=run.retry_after_s,
        )
        if run.error is not None:
            # A step that got no response fails the check, even after a merely degraded one;
            # the message names whichever failure came first.
            result.status = Status.worst(result.status, Status.FAIL)
            if not run.failed_before_error:
                result.message = run.error
                result.reason = run.error_reason
        if result.status is Status.FAIL and run.excerpt is not None:
            result.attachments.append(run.excerpt)
        if result.status.ok and not run.cleanup_report["ok"]:
            # The journey worked: a failed cleanup is reported (and counted), not a failure.
            result.message = f"{result.message}; cleanup failed: {run.cleanup_report['message']}"
        return result


class _FlowRun:
    """The state of one flow execution: captures, outcomes, step reports."""

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.cookies = httpx.Cookies()  # this run's own: a session never outlives its flow
        self.captured: dict[str, str] = {}
        # Values sent or set under credential names (cookies, Authorization): masked like captures.
        self.credentials: set[str] = set()
        self.outcomes: list[AssertionOutcome] = []
        self.steps: list[dict[str, JSONValue]] = []
        self.timings: dict[str, float] = {}
        self.transient = False
        self.retry_after_s: float | None = None
        self.error: str | None = None
        self.error_reason = FailureReason.CONNECT  # of ``error``
        self.cause: str | None = None
        self.failed_before_error = False  # an outcome had already failed the check
        self.excerpt: Attachment | None = None  # the first failing step's response
        # Cleanup steps report here, never into the check's outcomes: see FlowProbe.run.
        self.cleanup_report: dict[str, JSONValue] = {"ok": True}

    def _cleanup_failed(
        self, step: FlowStep, message: str, *, code: int | None, cause: str | None
    ) -> None:
        if not self.cleanup_report["ok"]:
            return  # the first failure explains it
        report: dict[str, JSONValue] = {"ok": False, "step": step.name, "message": message}
        if code is not None:
            report["status_code"] = code
        if cause is not None:
            report["cause"] = cause
        self.cleanup_report = report

    def _cleanup_error(self, step: FlowStep, exc: HttpProbeError, message: str) -> bool:
        self.steps.append({"name": step.name, "error": message})
        cause = failure_cause(timed_out=isinstance(exc, RequestTimeoutError))
        transient = isinstance(exc, RequestFailedError) and exc.transient
        self._cleanup_failed(step, message, code=None, cause=cause if transient else None)
        return False

    async def step(self, step: FlowStep, *, cleanup: bool) -> bool:
        missing = step.placeholders() - set(self.captured)
        if missing:
            self.steps.append({"name": step.name, "skipped": f"not captured: {sorted(missing)}"})
            return False
        headers = {k: self._fill(v.get_secret_value()) for k, v in step.headers.items()}
        form = (
            {k: self._fill(v.get_secret_value()) for k, v in step.form.items()}
            if step.form is not None
            else None
        )
        self.credentials |= credentials_in([*headers.items(), *(form or {}).items()])
        try:
            exchange = await send(
                self.ctx,
                method=step.method,
                url=self._fill(step.url),
                headers=headers,
                json_body=self._fill_json(step.json_body),
                form=form,
                max_body_bytes=step.max_body_bytes,
                follow_redirects=step.follow_redirects,
                cookies=self.cookies,
            )
        except HttpProbeError as exc:
            message = self._mask(f"step '{step.name}': {exc.message}")
            if cleanup:
                return self._cleanup_error(step, exc, message)
            self.transient = self.transient or (
                isinstance(exc, RequestFailedError) and exc.transient
            )
            if self.error is None:
                self.error, self.error_reason = message, exc.reason
                self.failed_before_error = any(o.fails for o in self.outcomes)
            self.steps.append({"name": step.name, "error": message})
            if self.cause is None:
                self.cause = failure_cause(timed_out=isinstance(exc, RequestTimeoutError))
            return False
        self.timings[f"step:{step.name}"] = exchange.total_ms
        cookies = exchange.headers.get_list("set-cookie")
        self.credentials |= credentials_in(("set-cookie", value) for value in cookies)
        # Capture even from a failing step: a created id may be all a cleanup step needs.
        # Captures come first so that evaluating the expectations can already mask them.
        missed = []
        for key, capture in step.capture.items():
            value = capture.take(exchange)
            if value is None:
                missed.append(
                    AssertionOutcome(
                        f"{step.name}: capture {key}",
                        False,
                        f"a value at {capture.describe()}",
                        _nothing_in(exchange),
                        reason=FailureReason.CONTENT,
                    )
                )
            else:
                self.captured[key] = value
        outcomes = [self._name(step, o) for o in evaluate(step.expect, exchange)]
        # Over a ``degraded`` budget the step still worked: the flow goes on, the result degrades.
        passed = not missed and all(not o.fails for o in outcomes)
        code = exchange.status_code
        if cleanup and not passed:
            first = next(o for o in outcomes + missed if not o.passed)
            detail = f"{first.name}: expected {first.expected}, got {first.actual}"
            self._cleanup_failed(step, self._mask(detail), code=code, cause=None)
        elif not cleanup:
            self.outcomes.extend(outcomes + missed)  # status first: it explains a missed capture
        self._keep_excerpt(step, exchange, failed=not passed and not cleanup)
        if not passed and not cleanup and (code >= 500 or code == 429):
            self.transient = True
            if self.retry_after_s is None:
                self.retry_after_s = parse_retry_after(exchange.headers.get("retry-after"))
        self.steps.append(
            {
                "name": step.name,
                "status_code": code,
                "ms": round(exchange.total_ms, 3),
                "ok": passed,
            }
        )
        return passed

    def _keep_excerpt(self, step: FlowStep, exchange: Exchange, *, failed: bool) -> None:
        """Keep the first failing step's response (captured values masked) as evidence."""
        if failed and self.excerpt is None:
            masked = tuple(v for v in self._masked_values() if len(v) >= _MIN_MASKED)
            self.excerpt = exchange.excerpt(f"step '{step.name}': {step.method}", mask=masked)

    def _name(self, step: FlowStep, outcome: AssertionOutcome) -> AssertionOutcome:
        return AssertionOutcome(
            name=f"{step.name}: {outcome.name}",
            passed=outcome.passed,
            expected=self._mask(outcome.expected),
            actual=self._mask(outcome.actual),
            status_if_failed=outcome.status_if_failed,
            reason=outcome.reason,
        )

    def _fill(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.captured.get(m.group(1), ""), text)

    def _fill_json(self, value: JSONValue) -> Any:
        if isinstance(value, str):
            return self._fill(value)
        if isinstance(value, dict):
            return {k: self._fill_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill_json(v) for v in value]
        return value

    def _masked_values(self) -> set[str]:
        return {*self.captured.values(), *self.credentials}

    def _mask(self, text: str) -> str:
        """``text`` with every captured or credential value masked, also as quoted or clipped."""
        for value in sorted(self._masked_values(), key=len, reverse=True):
            if len(value) >= _MIN_MASKED:
                text = _mask_value(text, value)
        return clip(text, _MESSAGE_CHARS)


def _nothing_in(exchange: Exchange) -> str:
    """What a capture found nothing in: ``nothing in a 200 text/html response (812 bytes, ...)``.

    Never the body itself: it may hold the very credentials the flow is handling.
    """
    kind = exchange.headers.get("content-type", "no content type").split(";")[0]
    about = f"{len(exchange.body)} bytes"
    if kind == "text/html":
        title = html_capture.select(exchange.text(), "title", None)
        about += f", title {clip(title)!r}" if title else ", no title"
    return f"nothing in a {exchange.status_code} {kind} response ({about})"


def _in_step(step: str, error: ErrorDetails) -> InitErrorDetails:
    """A capture's validation error, its message prefixed with the step and capture names."""
    capture = error["loc"][0] if error["loc"] else "?"
    message = f"step '{step}': capture '{capture}': " + error["msg"].removeprefix("Value error, ")
    return InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", {"message": message}),
        loc=error["loc"],
        input=error["input"],
    )


def _mask_value(text: str, value: str) -> str:
    forms = {value, repr(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
        # A snippet clipped in the middle of the value shows a prefix of it before the ellipsis.
        parts = text.split(_ELLIPSIS)
        for i, part in enumerate(parts[:-1]):
            for size in range(min(len(part), len(form) - 1), _MIN_MASKED - 1, -1):
                if part.endswith(form[:size]):
                    parts[i] = part[:-size] + MASK
                    break
        text = _ELLIPSIS.join(parts)
    return text


def _strings(value: JSONValue) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


PROBE: Final[Probe[FlowSpec]] = FlowProbe()

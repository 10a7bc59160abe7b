"""Response expectations (the ``expect:`` block) and their evaluation.

Shared by the ``http`` probe and the steps of the ``flow`` probe.  The models
validate everything at config load (regexes compiled, JSON paths parsed, JSON
Schemas checked) so a bad check fails fast; :func:`evaluate_expectations` then
turns one observed response into :class:`~probes.base.AssertionOutcome` verdicts.

Outcomes are phrased for a human and never carry more of a header value or the
body than a short snippet (:data:`SNIPPET_CHARS`).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Final, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from probes.base import AssertionOutcome, JSONValue, Status
from probes.lazy import lazy_import
from probes.reasons import FailureReason
from probes.scrub import is_credential_name

if TYPE_CHECKING:
    import jsonpath
    import jsonschema
    import jsonschema.exceptions

    # Private attributes' annotations: names only a type checker resolves, so that
    # pydantic, which evaluates every annotation of a model, does not load the libraries.
    JsonQuery = jsonpath.JSONPath | jsonpath.CompoundJSONPath
    SchemaValidator = jsonschema.Draft202012Validator
else:  # load when a check uses a JSON path or a JSON Schema: validate stays light
    # Not preloaded (probes.lazy): the validators below compile every JSON path and check
    # every schema, so a config with such an assertion has loaded them before any check.
    jsonpath = lazy_import("jsonpath", preload=False)
    jsonschema = lazy_import("jsonschema", preload=False)

SNIPPET_CHARS: Final = 80
_PATH_KEY = re.compile(r"[A-Za-z_][\w-]*")  # the names in a JSON path ($.auth['token'])
_STATUS_CLASS = re.compile(r"^[1-5]xx$")
_COMPARE: Final = MappingProxyType(
    {"gt": operator.gt, "lt": operator.lt, "ge": operator.ge, "le": operator.le}
)
JSON_OPERATORS: Final = ("equals", "contains", "exists", "one_of", "gt", "lt", "ge", "le")
HEADER_OPERATORS: Final = ("present", "equals", "matches")


def _compile_regex(value: object) -> object:
    if isinstance(value, str):
        try:
            return re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


Regex = Annotated[re.Pattern[str], BeforeValidator(_compile_regex)]


def redacted(value: str) -> str:
    """What an assertion shows of a credential it read: its length, never the value."""
    return f"<redacted, {len(value)} chars>"


def clip(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet(value: object, limit: int = SNIPPET_CHARS) -> str:
    """A JSON value rendered for a message (strings quoted), at most ``limit`` chars."""
    if isinstance(value, str):
        return clip(repr(value), limit)
    return clip(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str), limit)


def _only_operator(model: BaseModel, operators: tuple[str, ...], what: str) -> str:
    chosen = [op for op in operators if op in model.model_fields_set]
    if len(chosen) != 1:
        found = ", ".join(chosen) if chosen else "none"
        raise ValueError(f"{what} needs exactly one of {', '.join(operators)} (found: {found})")
    return chosen[0]


class JsonAssertion(BaseModel):
    """One JSON path assertion: ``{path: $.status, equals: healthy}``.

    A singular path (no wildcard, filter or slice) yields its one value; any other
    path yields the list of every value it matches.
    """

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="a JSONPath, e.g. $.status")
    equals: JSONValue = Field(None, description="the value equals this")
    contains: JSONValue = Field(
        None, description="the value (string or list) contains this"
    )  # list item / substring / dict key
    exists: bool | None = Field(
        None, description="true: the path must match; false: it must not"
    )  # false asserts absence
    one_of: list[JSONValue] | None = Field(
        default=None, min_length=1, description="the value is one of these"
    )
    gt: float | None = Field(None, description="the value is greater than this")
    lt: float | None = Field(None, description="the value is less than this")
    ge: float | None = Field(None, description="the value is at least this")
    le: float | None = Field(None, description="the value is at most this")

    _query: JsonQuery = PrivateAttr()
    _operator: str = PrivateAttr()

    @field_validator("path")
    @classmethod
    def _path_parses(cls, path: str) -> str:
        if not path.startswith("$"):
            raise ValueError(f"JSON path must start with '$' (got {path!r})")
        try:
            jsonpath.compile(path)
        except jsonpath.JSONPathError as exc:
            first_line = str(exc).splitlines()[0]
            raise ValueError(f"invalid JSON path {path!r}: {first_line}") from exc
        return path

    @model_validator(mode="after")
    def _one_operator(self) -> JsonAssertion:
        self._operator = _only_operator(self, JSON_OPERATORS, f"json assertion {self.path}")
        self._query = jsonpath.compile(self.path)
        return self

    def check(self, document: JSONValue) -> AssertionOutcome:
        """Evaluate against a parsed JSON document."""
        op = self._operator
        query = self._query
        matches = [m.obj for m in query.finditer(document)]
        singular = isinstance(query, jsonpath.JSONPath) and query.singular_query()
        found = bool(matches)
        value: JSONValue = (matches[0] if found else None) if singular else matches
        if not found:
            actual = "nothing (path not found)"
        elif any(is_credential_name(key) for key in _PATH_KEY.findall(self.path)):
            actual = redacted(value if isinstance(value, str) else json.dumps(value))
        else:
            actual = snippet(value)
        name = f"json {self.path}"
        if op == "exists":
            want = bool(self.exists)
            expected = "exists" if want else "absent"
            return AssertionOutcome(
                name, found == want, expected, actual, reason=FailureReason.CONTENT
            )
        expected_value = getattr(self, op)
        expected = f"{op.replace('_', ' ')} {snippet(expected_value)}"
        passed = found and _apply(op, value, expected_value)
        return AssertionOutcome(name, passed, expected, actual, reason=FailureReason.CONTENT)


def _same(a: JSONValue, b: JSONValue) -> bool:
    """JSON equality: like ``==`` but ``true`` never equals ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _is_number(value: JSONValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _apply(op: str, actual: JSONValue, expected: JSONValue) -> bool:
    if op == "equals":
        return _same(actual, expected)
    if op == "one_of":
        return any(_same(actual, option) for option in expected)
    if op == "contains":
        if isinstance(actual, list):
            return any(_same(item, expected) for item in actual)
        if isinstance(actual, str | dict):
            return isinstance(expected, str) and expected in actual
        return False
    return _is_number(actual) and bool(_COMPARE[op](actual, expected))


class HeaderAssertion(BaseModel):
    """One response header assertion: ``{name: X-Frame-Options, equals: DENY}``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="the header name (case-insensitive)")
    present: bool | None = Field(
        None, description="true: must be present; false: must be absent"
    )  # false asserts absence
    equals: str | None = Field(None, description="the header's exact value")
    matches: Regex | None = Field(None, description="a regular expression the value must match")

    @model_validator(mode="after")
    def _one_operator(self) -> HeaderAssertion:
        _only_operator(self, HEADER_OPERATORS, f"header assertion {self.name}")
        return self

    def check(self, headers: Mapping[str, str]) -> AssertionOutcome:
        """Evaluate against case-insensitive response headers (e.g. ``httpx.Headers``)."""
        value = headers.get(self.name)
        name = f"header {self.name}"
        if value is None:
            actual = "absent"
        elif is_credential_name(self.name):
            actual = redacted(value)
        else:
            actual = snippet(value)
        if self.present is not None:
            expected = "present" if self.present else "absent"
            return AssertionOutcome(name, (value is not None) == self.present, expected, actual)
        if self.matches is not None:
            passed = value is not None and self.matches.search(value) is not None
            expected = f"matches {snippet(self.matches.pattern)}"
            return AssertionOutcome(name, passed, expected, actual)
        expected = f"equals {snippet(self.equals)}"
        return AssertionOutcome(name, value == self.equals, expected, actual)


class ResponseTime(BaseModel):
    """Two budgets on total response time: over ``degraded_ms`` degrades, over ``fail_ms`` fails."""

    model_config = ConfigDict(extra="forbid")

    degraded_ms: float | None = Field(default=None, gt=0, description="slower than this: degraded")
    fail_ms: float | None = Field(default=None, gt=0, description="slower than this: fail")

    @model_validator(mode="after")
    def _ordered(self) -> ResponseTime:
        low, high = self.degraded_ms, self.fail_ms
        if low is not None and high is not None and low >= high:
            raise ValueError("response_time: degraded_ms must be below fail_ms")
        return self

    def check(self, total_ms: float) -> AssertionOutcome | None:
        actual = f"{total_ms:.0f} ms"
        if self.fail_ms is not None and total_ms > self.fail_ms:
            expected = f"<= {self.fail_ms:g} ms"
            over = total_ms - self.fail_ms
            return AssertionOutcome(
                "response time", False, expected, actual, reason=FailureReason.LATENCY, over_ms=over
            )
        if self.degraded_ms is not None and total_ms > self.degraded_ms:
            expected = f"<= {self.degraded_ms:g} ms"
            over = total_ms - self.degraded_ms
            return AssertionOutcome(
                "response time",
                False,
                expected,
                actual,
                Status.DEGRADED,
                FailureReason.LATENCY,
                over,
            )
        budgets = [b for b in (self.degraded_ms, self.fail_ms) if b is not None]
        if not budgets:
            return None
        limit = min(budgets)
        return AssertionOutcome(
            "response time", True, f"<= {limit:g} ms", actual, over_ms=total_ms - limit
        )


def budget_outcomes(budget: ResponseTime | None, total_ms: float) -> list[AssertionOutcome]:
    """The ``response_time`` outcome of a check that has one (tcp, tls, dns), else none."""
    outcome = budget.check(total_ms) if budget is not None else None
    return [outcome] if outcome is not None else []


def _status_codes(value: object) -> object:
    """Accept ``200``, ``"2xx"`` or a list of them; normalise to ``list[int | "Nxx"]``."""
    items = value if isinstance(value, list) else [value]
    out: list[int | str] = []
    for item in items:
        text = str(item).strip().lower()
        if isinstance(item, int | str) and not isinstance(item, bool) and text.isdigit():
            code = int(text)
            if not 100 <= code <= 599:
                raise ValueError(f"status {item!r} is not an HTTP status code (100-599)")
            out.append(code)
        elif isinstance(item, str) and _STATUS_CLASS.match(text):
            out.append(text)
        else:
            raise ValueError(f"status {item!r} must be a code like 200 or a class like '2xx'")
    if not out:
        raise ValueError("status needs at least one code or class")
    return out


def _any_2xx() -> list[int | str]:
    return ["2xx"]


class Observed(Protocol):
    """What expectations are checked against: one received response."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # case-insensitive
    @property
    def body(self) -> bytes: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def encoding(self) -> str: ...
    @property
    def total_ms(self) -> float: ...
    @property
    def tls_days_left(self) -> float | None: ...


class Expectations(BaseModel):
    """The ``expect:`` block of an http check or a flow step."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[list[int | str], BeforeValidator(_status_codes)] = Field(
        default_factory=_any_2xx,
        description="accepted status codes or classes like 2xx (default: 2xx)",
    )
    json_: list[JsonAssertion] = Field(
        default_factory=list, alias="json", description="assertions on JSON paths of the body"
    )
    json_schema: dict[str, JSONValue] | None = Field(
        None, description="a JSON Schema the body must validate against"
    )
    headers: list[HeaderAssertion] = Field(
        default_factory=list, description="response headers that must be present or equal"
    )
    body_matches: Regex | None = Field(None, description="a regular expression the body must match")
    response_time: ResponseTime | None = Field(None, description="budgets on the response time")
    tls_days_left: int | None = Field(
        default=None, ge=0, description="fail when the certificate expires within this many days"
    )

    _schema: SchemaValidator | None = PrivateAttr(default=None)

    @field_validator("json_schema")
    @classmethod
    def _schema_valid(cls, schema: dict[str, JSONValue] | None) -> dict[str, JSONValue] | None:
        if schema is not None:
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.exceptions.SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from exc
        return schema

    def model_post_init(self, context: Any, /) -> None:
        if self.json_schema is not None:
            checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
            self._schema = jsonschema.Draft202012Validator(self.json_schema, format_checker=checker)

    def check_status(self, status_code: int) -> AssertionOutcome:
        passed = any(
            status_code == want if isinstance(want, int) else str(status_code)[0] == want[0]
            for want in self.status
        )
        expected = " or ".join(str(want) for want in self.status)
        return AssertionOutcome(
            "status", passed, expected, str(status_code), reason=FailureReason.HTTP_STATUS
        )

    def check_json(self, body: bytes, *, truncated: bool = False) -> list[AssertionOutcome]:
        """JSON path and JSON Schema outcomes; one failed outcome if the body is not JSON."""
        if not self.json_ and self._schema is None:
            return []
        try:
            document = json.loads(body)
        except ValueError as exc:
            why = f"truncated at {len(body)} bytes" if truncated else clip(str(exc))
            actual = f"invalid JSON ({why})"
            return [
                AssertionOutcome(
                    "json body", False, "valid JSON", actual, reason=FailureReason.SCHEMA
                )
            ]
        outcomes = [assertion.check(document) for assertion in self.json_]
        if self._schema is not None:
            error = jsonschema.exceptions.best_match(self._schema.iter_errors(document))
            actual = "valid" if error is None else clip(f"{error.json_path}: {error.message}")
            outcomes.append(
                AssertionOutcome(
                    "json schema", error is None, "valid", actual, reason=FailureReason.SCHEMA
                )
            )
        return outcomes

    def check_body(self, text: str) -> AssertionOutcome | None:
        if self.body_matches is None:
            return None
        passed = self.body_matches.search(text) is not None
        actual = "a match" if passed else f"no match in {len(text)} chars"
        expected = f"matches {snippet(self.body_matches.pattern)}"
        return AssertionOutcome("body", passed, expected, actual, reason=FailureReason.CONTENT)

    def check_tls(self, days_left: float | None) -> AssertionOutcome | None:
        if self.tls_days_left is None:
            return None
        expected = f">= {self.tls_days_left} days left"
        if days_left is None:
            actual = "no certificate seen"
            return AssertionOutcome(
                "tls certificate", False, expected, actual, reason=FailureReason.TLS
            )
        passed = days_left >= self.tls_days_left
        actual = f"{days_left:.1f} days left"
        return AssertionOutcome(
            "tls certificate", passed, expected, actual, reason=FailureReason.TLS
        )


def evaluate_expectations(expect: Expectations, observed: Observed) -> list[AssertionOutcome]:
    """Every outcome, status first: status, headers, JSON, body, response time, TLS."""
    outcomes = [expect.check_status(observed.status_code)]
    outcomes.extend(h.check(observed.headers) for h in expect.headers)
    outcomes.extend(expect.check_json(observed.body, truncated=observed.truncated))
    wants_text = expect.body_matches is not None
    text = observed.body.decode(observed.encoding, errors="replace") if wants_text else ""
    optional = (
        expect.check_body(text),
        expect.response_time.check(observed.total_ms) if expect.response_time else None,
        expect.check_tls(observed.tls_days_left),
    )
    outcomes.extend(o for o in optional if o is not None)
    return outcomes

"""Specifications of response expectations (probes.assertions)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import ValidationError

from probes.assertions import (
    SNIPPET_CHARS,
    Expectations,
    HeaderAssertion,
    JsonAssertion,
    ResponseTime,
    evaluate_expectations,
)
from probes.base import ProbeResult, Status
from probes.http import Exchange
from tests.probes.conftest import HEALTH


def exchange(
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    total_ms: float = 10.0,
    tls_days_left: float | None = None,
    truncated: bool = False,
) -> Exchange:
    return Exchange(
        status_code=status,
        headers=httpx.Headers(headers or {}),
        body=body,
        truncated=truncated,
        url="http://t.example/",
        http_version="HTTP/1.1",
        encoding="utf-8",
        timings={"total": total_ms},
        tls_days_left=tls_days_left,
    )


class TestJsonAssertion:
    @pytest.mark.parametrize(
        ("spec", "passed", "actual"),
        [
            ({"path": "$.status", "equals": "healthy"}, True, "'healthy'"),
            ({"path": "$.uptime", "equals": 3600}, True, "3600"),
            ({"path": "$.maintenance", "equals": None}, True, "null"),
            ({"path": "$.enabled", "equals": True}, True, "true"),
            ({"path": "$.services", "equals": HEALTH["services"]}, True, None),
            ({"path": "$.components", "contains": "database"}, True, None),
            ({"path": "$.version", "contains": "2.3"}, True, "'1.2.3'"),
            ({"path": "$.services", "contains": "redis"}, True, None),
            ({"path": "$.components[*]", "contains": "cache"}, True, None),
            ({"path": "$.version", "exists": True}, True, "'1.2.3'"),
            ({"path": "$.missing", "exists": False}, True, "nothing (path not found)"),
            ({"path": "$.services.redis", "one_of": ["healthy", "degraded"]}, True, None),
            ({"path": "$.uptime", "gt": 0}, True, "3600"),
            ({"path": "$.ratio", "lt": 1}, True, "0.5"),
            ({"path": "$.uptime", "ge": 3600}, True, None),
            ({"path": "$.ratio", "le": 0.5}, True, None),
            ({"path": "$.status", "equals": "degraded"}, False, "'healthy'"),
            ({"path": "$.enabled", "equals": 1}, False, "true"),
            ({"path": "$.components", "contains": "queue"}, False, '["database","cache"]'),
            ({"path": "$.uptime", "contains": 1}, False, "3600"),
            ({"path": "$.missing", "exists": True}, False, "nothing (path not found)"),
            ({"path": "$.status", "exists": False}, False, "'healthy'"),
            ({"path": "$.services.database", "one_of": ["degraded", "down"]}, False, None),
            ({"path": "$.uptime", "gt": 3600}, False, "3600"),
            ({"path": "$.status", "gt": 0}, False, "'healthy'"),
            ({"path": "$.enabled", "ge": 0}, False, "true"),
            ({"path": "$.missing", "equals": "x"}, False, "nothing (path not found)"),
        ],
        ids=[
            "equals-str",
            "equals-int",
            "equals-null",
            "equals-bool",
            "equals-object",
            "contains-list-item",
            "contains-substring",
            "contains-dict-key",
            "contains-wildcard",
            "exists",
            "absent",
            "one-of",
            "gt",
            "lt",
            "ge",
            "le",
            "equals-wrong-value",
            "true-is-not-1",
            "contains-missing-item",
            "contains-on-a-number",
            "exists-but-missing",
            "absent-but-present",
            "one-of-miss",
            "gt-equal-value",
            "compare-a-string",
            "compare-a-bool",
            "equals-missing-path",
        ],
    )
    def test_checks_a_document(
        self, spec: dict[str, Any], passed: bool, actual: str | None
    ) -> None:
        """Each operator passes on a matching value and fails on any other."""
        outcome = JsonAssertion.model_validate(spec).check(HEALTH)
        assert outcome.passed is passed
        assert outcome.name == f"json {spec['path']}"
        if actual is not None:
            assert outcome.actual == actual

    def test_reads_as_a_sentence_when_it_fails(self) -> None:
        """A failed equals reads: json $.status: expected equals 'healthy', got 'degraded'."""
        outcome = JsonAssertion(path="$.status", equals="healthy").check({"status": "degraded"})
        result = ProbeResult.from_assertions([outcome])
        assert result.message == "json $.status: expected equals 'healthy', got 'degraded'"

    def test_shows_only_a_snippet_of_a_long_value(self) -> None:
        """The actual value in an outcome is cut to a short snippet."""
        outcome = JsonAssertion(path="$.blob", equals="x").check({"blob": "y" * 5000})
        assert len(outcome.actual) <= SNIPPET_CHARS
        assert outcome.actual.endswith("…")

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ({"path": "$.a", "equals": 1, "gt": 0}, "exactly one of equals, contains"),
            ({"path": "$.a"}, "(found: none)"),
            ({"path": "$.[", "exists": True}, "invalid JSON path '$.['"),
            ({"path": "status", "exists": True}, "must start with '$'"),
            ({"path": "$.a", "one_of": []}, "at least 1 item"),
            ({"path": "$.a", "equal": 1}, "Extra inputs are not permitted"),
        ],
        ids=["two-operators", "no-operator", "bad-path", "no-dollar", "empty-one-of", "typo"],
    )
    def test_rejects_a_bad_spec(self, spec: dict[str, Any], message: str) -> None:
        """A bad JSON assertion is a validation error that says what is wrong."""
        with pytest.raises(ValidationError) as caught:
            JsonAssertion.model_validate(spec)
        assert message in str(caught.value)


class TestHeaderAssertion:
    HEADERS = httpx.Headers(
        {
            "Content-Type": "application/json; charset=utf-8",
            "X-Frame-Options": "DENY",
            "Set-Cookie": "session=s3cr3t",
        }
    )

    @pytest.mark.parametrize(
        ("spec", "passed", "actual"),
        [
            ({"name": "x-frame-options", "present": True}, True, "'DENY'"),
            ({"name": "X-RateLimit-Limit", "present": True}, False, "absent"),
            ({"name": "Server", "present": False}, True, "absent"),
            ({"name": "X-Frame-Options", "present": False}, False, "'DENY'"),
            ({"name": "X-Frame-Options", "equals": "DENY"}, True, "'DENY'"),
            ({"name": "X-Frame-Options", "equals": "SAMEORIGIN"}, False, "'DENY'"),
            ({"name": "Content-Type", "matches": "^application/json"}, True, None),
            ({"name": "Content-Type", "matches": "^text/"}, False, None),
            ({"name": "X-Missing", "matches": "."}, False, "absent"),
            ({"name": "Set-Cookie", "equals": "x"}, False, "<redacted, 14 chars>"),
        ],
        ids=[
            "present",
            "present-but-missing",
            "absent",
            "absent-but-present",
            "equals",
            "equals-wrong",
            "matches",
            "matches-wrong",
            "matches-missing",
            "sensitive-redacted",
        ],
    )
    def test_checks_headers(self, spec: dict[str, Any], passed: bool, actual: str | None) -> None:
        """Names match case-insensitively; each operator passes or fails as stated."""
        outcome = HeaderAssertion.model_validate(spec).check(self.HEADERS)
        assert outcome.passed is passed
        if actual is not None:
            assert outcome.actual == actual

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ({"name": "A", "present": True, "equals": "x"}, "exactly one of present"),
            ({"name": "A"}, "(found: none)"),
            ({"name": "A", "matches": "("}, "invalid regular expression '('"),
            ({"name": "", "present": True}, "at least 1 character"),
        ],
        ids=["two-operators", "no-operator", "bad-regex", "empty-name"],
    )
    def test_rejects_a_bad_spec(self, spec: dict[str, Any], message: str) -> None:
        """A bad header assertion is a validation error that says what is wrong."""
        with pytest.raises(ValidationError) as caught:
            HeaderAssertion.model_validate(spec)
        assert message in str(caught.value)


class TestStatus:
    @pytest.mark.parametrize(
        ("status", "code", "passed"),
        [
            (None, 200, True),
            (None, 204, True),
            (None, 301, False),
            (None, 500, False),
            ([200], 200, True),
            ([200], 201, False),
            (404, 404, True),
            ("2xx", 299, True),
            (["2XX", 304], 304, True),
            (["200"], 200, True),
            (["3xx", 404], 500, False),
        ],
        ids=[
            "default-200",
            "default-204",
            "default-301",
            "default-500",
            "list",
            "list-miss",
            "scalar",
            "class",
            "mixed",
            "numeric-string",
            "mixed-miss",
        ],
    )
    def test_matches_codes_and_classes(self, status: object, code: int, passed: bool) -> None:
        """Codes match exactly, classes like 2xx by first digit; the default is any 2xx."""
        expect = (
            Expectations() if status is None else Expectations.model_validate({"status": status})
        )
        outcome = expect.check_status(code)
        assert outcome.passed is passed
        assert outcome.actual == str(code)

    @pytest.mark.parametrize(
        ("status", "message"),
        [(600, "not an HTTP status code"), ("2xy", "like 200 or a class"), ([], "at least one")],
        ids=["out-of-range", "bad-class", "empty"],
    )
    def test_rejects_a_bad_status(self, status: object, message: str) -> None:
        """A status that is neither a code nor a class is a validation error."""
        with pytest.raises(ValidationError) as caught:
            Expectations.model_validate({"status": status})
        assert message in str(caught.value)


class TestJsonBody:
    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["status", "services"],
        "properties": {"status": {"enum": ["healthy", "degraded"]}},
    }

    @pytest.mark.parametrize(
        ("document", "passed", "actual"),
        [
            (HEALTH, True, "valid"),
            ({"status": "healthy"}, False, "$: 'services' is a required property"),
            ({"status": "down", "services": {}}, False, None),
            ([1, 2], False, "$: [1, 2] is not of type 'object'"),
        ],
        ids=["valid", "missing-key", "bad-enum", "wrong-type"],
    )
    def test_checks_the_json_schema(self, document: Any, passed: bool, actual: str | None) -> None:
        """The body must satisfy the JSON Schema: a data contract."""
        expect = Expectations.model_validate({"json_schema": self.SCHEMA})
        (outcome,) = expect.check_json(json.dumps(document).encode())
        assert outcome.name == "json schema"
        assert outcome.passed is passed
        if actual is not None:
            assert outcome.actual == actual

    def test_rejects_an_invalid_schema(self) -> None:
        """A schema that is not valid JSON Schema fails at load time."""
        with pytest.raises(ValidationError, match="invalid JSON Schema"):
            Expectations.model_validate({"json_schema": {"type": "objekt"}})

    @pytest.mark.parametrize(
        ("truncated", "actual"),
        [(False, "invalid JSON (Expecting value: line 1 column 1 (char 0))"), (True, None)],
        ids=["not-json", "truncated"],
    )
    def test_a_body_that_is_not_json_is_one_failure(
        self, truncated: bool, actual: str | None
    ) -> None:
        """JSON assertions on a non-JSON body give one failed 'json body' outcome."""
        expect = Expectations.model_validate(
            {"json": [{"path": "$.a", "exists": True}], "json_schema": {"type": "object"}}
        )
        outcomes = expect.check_json(b"<html>", truncated=truncated)
        assert [(o.name, o.passed) for o in outcomes] == [("json body", False)]
        assert outcomes[0].actual == (actual or "invalid JSON (truncated at 6 bytes)")

    def test_a_body_is_not_parsed_without_json_assertions(self) -> None:
        """No JSON assertions: no JSON outcome, even for HTML."""
        assert Expectations().check_json(b"<html>") == []


class TestBodyMatches:
    @pytest.mark.parametrize(
        ("pattern", "passed"),
        [("healthy", True), (r"^all\b", True), ("degraded", False)],
        ids=["word", "anchored", "absent"],
    )
    def test_searches_the_body(self, pattern: str, passed: bool) -> None:
        """A regex search over the body text; the body never appears in the outcome."""
        outcome = Expectations.model_validate({"body_matches": pattern}).check_body(
            "all systems healthy"
        )
        assert outcome is not None
        assert outcome.passed is passed
        assert "systems" not in outcome.actual

    def test_rejects_a_bad_regex_naming_the_field(self) -> None:
        """A bad regex is a validation error located at body_matches."""
        with pytest.raises(ValidationError) as caught:
            Expectations.model_validate({"body_matches": "(unclosed"})
        (error,) = caught.value.errors()
        assert error["loc"] == ("body_matches",)
        assert "invalid regular expression" in error["msg"]


class TestResponseTime:
    @pytest.mark.parametrize(
        ("budget", "total_ms", "passed", "status_if_failed", "expected"),
        [
            ({"degraded_ms": 100, "fail_ms": 500}, 80, True, Status.FAIL, "<= 100 ms"),
            ({"degraded_ms": 100, "fail_ms": 500}, 150, False, Status.DEGRADED, "<= 100 ms"),
            ({"degraded_ms": 100, "fail_ms": 500}, 600, False, Status.FAIL, "<= 500 ms"),
            ({"degraded_ms": 100}, 600, False, Status.DEGRADED, "<= 100 ms"),
            ({"fail_ms": 200}, 150, True, Status.FAIL, "<= 200 ms"),
            ({"fail_ms": 200}, 250, False, Status.FAIL, "<= 200 ms"),
        ],
        ids=["fast", "degraded", "failed", "degraded-only", "fail-only-ok", "fail-only-slow"],
    )
    def test_two_budgets(
        self,
        budget: dict[str, float],
        total_ms: float,
        passed: bool,
        status_if_failed: Status,
        expected: str,
    ) -> None:
        """Over degraded_ms degrades, over fail_ms fails."""
        outcome = ResponseTime.model_validate(budget).check(total_ms)
        assert outcome is not None
        assert (outcome.passed, outcome.expected) == (passed, expected)
        if not passed:
            assert outcome.status_if_failed is status_if_failed

    def test_no_budget_no_outcome(self) -> None:
        """An empty response_time block asserts nothing."""
        assert ResponseTime().check(10_000) is None

    @pytest.mark.parametrize(
        "budget",
        [{"degraded_ms": 500, "fail_ms": 100}, {"degraded_ms": 0}, {"fail_ms": -1}],
        ids=["inverted", "zero", "negative"],
    )
    def test_rejects_bad_budgets(self, budget: dict[str, float]) -> None:
        """Budgets are positive and degraded comes before fail."""
        with pytest.raises(ValidationError):
            ResponseTime.model_validate(budget)


class TestTlsDaysLeft:
    @pytest.mark.parametrize(
        ("threshold", "days", "passed", "actual"),
        [
            (14, 30.0, True, "30.0 days left"),
            (14, 13.5, False, "13.5 days left"),
            (14, None, False, "no certificate seen"),
        ],
        ids=["plenty", "too-few", "unknown"],
    )
    def test_checks_days_left(
        self, threshold: int, days: float | None, passed: bool, actual: str
    ) -> None:
        """Fewer days left than the threshold fails."""
        outcome = Expectations(tls_days_left=threshold).check_tls(days)
        assert outcome is not None
        assert (outcome.passed, outcome.actual) == (passed, actual)


class TestEvaluateExpectations:
    def test_status_comes_first_and_every_assertion_is_reported(self) -> None:
        """Outcomes come status first, then headers, JSON, body, time and TLS."""
        expect = Expectations.model_validate(
            {
                "status": [200],
                "headers": [{"name": "X-A", "present": True}],
                "json": [{"path": "$.status", "equals": "healthy"}],
                "body_matches": "healthy",
                "response_time": {"fail_ms": 500},
                "tls_days_left": 1,
            }
        )
        body = json.dumps(HEALTH).encode()
        outcomes = evaluate_expectations(
            expect, exchange(503, body, {"X-A": "1"}, total_ms=20, tls_days_left=30)
        )
        names = [o.name for o in outcomes]
        assert names == [
            "status",
            "header X-A",
            "json $.status",
            "body",
            "response time",
            "tls certificate",
        ]
        assert [o.passed for o in outcomes] == [False, True, True, True, True, True]

    def test_only_status_by_default(self) -> None:
        """An empty expect block checks only for a 2xx."""
        outcomes = evaluate_expectations(Expectations(), exchange(200, b"<html>"))
        assert [(o.name, o.passed) for o in outcomes] == [("status", True)]

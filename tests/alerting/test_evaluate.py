"""Values per result and aggregations (no store needed); votes and verdicts: test_votes.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.alerting.evaluate import aggregate, result_value
from monitor.store import ResultRecord
from tests.alerting.conftest import result


class TestResultValue:
    @pytest.mark.parametrize(
        ("metric", "record", "expected"),
        [
            ("smoke_test.success", result(status="pass"), 1.0),
            ("smoke_test.success", result(status="degraded"), 1.0),
            ("smoke_test.success", result(status="fail"), 0.0),
            ("smoke_test.success", result(status="pass", attempts=2), 1.0),
            ("smoke_test.success", result(status="error"), None),
            ("smoke_test.duration", result(total_ms=1500), 1.5),
            ("smoke_test.duration", result(status="error", total_ms=1500), None),
            ("smoke_test.api_response", result(total_ms=250), 0.25),
            ("smoke_test.api_response", result("homepage", total_ms=250, load_ms=900), None),
            ("smoke_test.homepage_load", result("homepage", total_ms=2500, load_ms=900), 0.9),
            ("smoke_test.homepage_load", result("api", total_ms=250), None),
        ],
        ids=[
            "pass-is-1",
            "degraded-is-1",
            "fail-is-0",
            "recovered-retry-is-1",
            "error-is-no-evidence",
            "duration-in-seconds",
            "error-has-no-duration",
            "api-response-of-http",
            "no-api-response-of-browser",
            "homepage-load-of-browser",
            "no-homepage-load-of-http",
        ],
    )
    def test_value(self, metric: str, record: ResultRecord, expected: float | None) -> None:
        """Each result gives each metric the value telemetry would export, in base units."""
        assert result_value(metric, record) == expected

    def test_no_response_has_no_api_time(self) -> None:
        """A failure without any response (details cause) gives no API response time."""
        record = replace(result(status="fail", total_ms=5000), details={"cause": "timeout"})
        assert result_value("smoke_test.api_response", record) is None
        assert result_value("smoke_test.success", record) == 0.0


class TestAggregate:
    @pytest.mark.parametrize(
        ("aggregation", "values", "expected"),
        [
            ("avg", [1.0, 2.0, 6.0], 3.0),
            ("ratio", [1.0, 0.0, 1.0, 1.0], 0.75),
            ("min", [3.0, 1.0, 2.0], 1.0),
            ("max", [3.0, 1.0, 2.0], 3.0),
            ("count", [3.0, 1.0], 2.0),
            ("last", [3.0, 1.0, 2.0], 2.0),
            ("p50", [4.0, 1.0, 3.0, 2.0], 2.0),
            ("p95", [float(v) for v in range(1, 21)], 19.0),
            ("p99", [float(v) for v in range(1, 21)], 20.0),
            ("avg", [], None),
        ],
        ids=["avg", "ratio", "min", "max", "count", "last", "p50", "p95", "p99", "empty"],
    )
    def test_aggregation(
        self, aggregation: str, values: list[float], expected: float | None
    ) -> None:
        """Aggregations over a window's values, percentiles by nearest rank; none -> no data."""
        assert aggregate(aggregation, values) == expected

    def test_unknown(self) -> None:
        """An unknown aggregation is a ValueError naming it."""
        with pytest.raises(ValueError, match="median"):
            aggregate("median", [1.0])

"""The result record's fields are listed once (``ResultRecord``); everything else follows it.

The ``results`` table, the API's result models, ``run --once --json`` and the runner's
record are held to :data:`monitor.store.records.RESULT_FIELDS` here, so a field added to
one and not the others fails a test instead of going missing on the way.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from monitor.api.models import ResultItem, RunReport
from monitor.cli.output import runs_as_json
from monitor.runner import CheckRun
from monitor.store.records import RESULT_FIELDS, ResultRecord
from monitor.store.rows import from_row, to_row
from monitor.store.schema import results
from probes.base import AssertionOutcome, ProbeResult, Status
from probes.reasons import FailureReason

STARTED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def check_run() -> CheckRun:
    """A run whose every field holds a value other than its default."""
    return CheckRun(
        check="api",
        kind="http",
        region="eu-west-1",
        run_id="a" * 32,
        started_at=STARTED,
        duration_ms=12.34567,
        attempts=3,
        result=ProbeResult(
            status=Status.FAIL,
            message="HTTP 503",
            timings={"total": 12.3},
            assertions=[AssertionOutcome("status", passed=False, expected="200", actual="503")],
            details={"status_code": 503},
            artifacts=["/tmp/excerpt.txt"],
            reason=FailureReason.HTTP_STATUS,
        ),
        wall_ms=345.6789,
        wait_ms=300.1234,
        result_id=7,
    )


class TestTheStore:
    def test_the_results_table_has_a_column_per_field(self) -> None:
        """The ``results`` table's columns are exactly the record's fields."""
        assert {column.name for column in results.columns} == set(RESULT_FIELDS)

    def test_a_row_round_trips_every_field(self) -> None:
        """A record made a row and read back is the same record, field for field."""
        record = check_run().to_record()
        row = {**to_row(record), "id": 9}
        assert set(row) == set(RESULT_FIELDS)
        assert from_row(row) == ResultRecord(  # type: ignore[arg-type]  # a dict is a row here
            **{name: getattr(record, name) for name in RESULT_FIELDS if name != "id"}, id=9
        )


class TestTheRunner:
    def test_a_run_fills_every_field_of_its_record(self) -> None:
        """``CheckRun.to_record`` sets every field with a default (the others it must set)."""
        record = check_run().to_record()
        unset = [
            f.name
            for f in fields(ResultRecord)
            if f.name != "id" and f.default is not MISSING and getattr(record, f.name) == f.default
        ]
        assert unset == []


class TestTheApi:
    @pytest.mark.parametrize(
        ("model", "left_out", "added"),
        [
            pytest.param(ResultItem, {"check", "kind"}, set(), id="result-item"),
            pytest.param(
                RunReport, {"id", "timings", "assertions", "details"}, {"result_id"}, id="run"
            ),
        ],
    )
    def test_a_model_has_the_records_fields_but_those_it_names(
        self, model: type[BaseModel], left_out: set[str], added: set[str]
    ) -> None:
        """A response model's fields are the record's, less a named few, plus a named few."""
        assert set(model.model_fields) == set(RESULT_FIELDS) - left_out | added


class TestTheJsonOutput:
    def test_keys_follow_the_record_then_result_id_and_artifacts(self) -> None:
        """``--json`` prints the record's fields in its order, then ``result_id`` and
        ``artifacts``, with times rounded to the microsecond."""
        (item,) = json.loads(json.dumps(runs_as_json([check_run()])))
        assert list(item) == [
            *(name for name in RESULT_FIELDS if name not in ("artifacts", "id")),
            "result_id",
            "artifacts",
        ]
        assert item["started_at"] == STARTED.isoformat()
        assert (item["duration_ms"], item["wall_ms"], item["wait_ms"]) == (
            12.346,
            345.679,
            300.123,
        )
        assert (item["status"], item["reason"], item["result_id"]) == ("fail", "http_status", 7)

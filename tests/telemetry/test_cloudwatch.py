"""Specifications of the CloudWatch exporter, against moto's AWS emulator over real HTTP.

moto's server runs on 127.0.0.1 for the session (``moto_endpoint``); the exporter's
boto3 client talks to it as it would to CloudWatch, and the tests read the metrics
back with ``ListMetrics``, ``GetMetricData`` and ``GetMetricStatistics``.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from monitor.config.telemetry import CloudWatchSettings
from monitor.errors import MonitorError
from monitor.runner import CheckRun
from monitor.telemetry.base import ExportContext
from monitor.telemetry.cloudwatch import (
    MAX_CALL_BYTES,
    MAX_DATA_PER_CALL,
    CloudWatchExporter,
    batches,
    datum_size,
)
from probes.base import Status
from tests.support.processes import free_port
from tests.support.s3 import ACCESS_KEY, SECRET_KEY
from tests.telemetry.helpers import Recorder, RunChecks, json_logger, log_events, make_run

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
RUNS = [
    make_run("api", "http", timings={"connect": 1.0, "total": 47.25}, duration_ms=120.5,
             started_at=NOW),
    make_run("home", "browser", Status.DEGRADED, timings={"load": 1200.0, "total": 1500.0},
             duration_ms=1500.0, started_at=NOW),
    make_run("login", "flow", Status.FAIL, timings={"total": 3.0}, details={"cause": "connection"},
             duration_ms=30.0, started_at=NOW),
    make_run("ws", "websocket", Status.ERROR, message="probe error", started_at=NOW),
]  # fmt: skip


def context() -> tuple[ExportContext, Any]:
    log, stream = json_logger()
    ctx = ExportContext(
        registry=CollectorRegistry(), region="eu-west-1", env={}, log=log, version="1.0"
    )
    ctx.count_errors_of("cloudwatch")  # as Telemetry does: both counters start at 0
    return ctx, stream


def counter(ctx: ExportContext, name: str) -> float | None:
    return ctx.registry.get_sample_value(name, {"exporter": "cloudwatch"})


class Account:
    """A fresh namespace on the moto server, and a client to read it back."""

    def __init__(self, endpoint: str, region: str = "eu-west-1") -> None:
        self.endpoint = endpoint
        self.namespace = f"Smokewatch/test-{uuid.uuid4().hex[:10]}"
        self.client: Any = boto3.client(
            "cloudwatch",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def exporter(self, **settings: Any) -> tuple[CloudWatchExporter, ExportContext, Any]:
        fields = {
            "namespace": self.namespace,
            "region": "eu-west-1",
            "endpoint_url": self.endpoint,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            **settings,
        }
        ctx, stream = context()
        return CloudWatchExporter(CloudWatchSettings.model_validate(fields), ctx), ctx, stream

    def listed(self) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        metrics = self.client.list_metrics(Namespace=self.namespace)["Metrics"]
        return {
            (m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in metrics
        }

    def values(self, name: str, check: str, stat: str = "Average", region: str = "eu-west-1",
               extra: tuple[tuple[str, str], ...] = ()) -> list[float]:  # fmt: skip
        dimensions = [{"Name": "check", "Value": check}, {"Name": "region", "Value": region}]
        dimensions += [{"Name": k, "Value": v} for k, v in extra]
        query = {
            "Id": "q",
            "MetricStat": {
                "Metric": {"Namespace": self.namespace, "MetricName": name,
                           "Dimensions": dimensions},
                "Period": 60,
                "Stat": stat,
            },
        }  # fmt: skip
        found = self.client.get_metric_data(
            MetricDataQueries=[query],
            StartTime=NOW - timedelta(minutes=10),
            EndTime=datetime.now(UTC) + timedelta(minutes=10),
        )["MetricDataResults"]
        values: list[float] = found[0]["Values"]
        return values

    def unit(self, name: str, check: str) -> str:
        points = self.client.get_metric_statistics(
            Namespace=self.namespace,
            MetricName=name,
            Dimensions=[{"Name": k, "Value": v} for k, v in dims(check)],
            StartTime=NOW - timedelta(minutes=10),
            EndTime=datetime.now(UTC) + timedelta(minutes=10),
            Period=60,
            Statistics=["SampleCount"],
        )["Datapoints"]
        units = {p["Unit"] for p in points}
        assert len(units) == 1, points
        return str(units.pop())


@pytest.fixture
def account(moto_endpoint: str) -> Account:
    return Account(moto_endpoint)


def dims(check: str) -> tuple[tuple[str, str], ...]:
    return (("check", check), ("region", "eu-west-1"))


class TestPutMetricData:
    async def test_the_spec_metrics_are_read_back_with_units_and_dimensions(
        self, account: Account
    ) -> None:
        """Each run's smoke_test.* metrics land in the namespace, dimensions check and region."""
        exporter, ctx, _ = account.exporter()
        exporter.record(RUNS)
        await exporter.flush()
        assert account.listed() == {
            ("smoke_test.duration", dims("api")), ("smoke_test.success", dims("api")),
            ("smoke_test.api_response", dims("api")), ("smoke_test.duration", dims("home")),
            ("smoke_test.success", dims("home")), ("smoke_test.homepage_load", dims("home")),
            ("smoke_test.duration", dims("login")), ("smoke_test.success", dims("login")),
        }  # fmt: skip
        assert account.values("smoke_test.api_response", "api") == [47.25]
        assert account.values("smoke_test.duration", "api") == [120.5]
        assert account.values("smoke_test.homepage_load", "home") == [1200.0]
        assert account.values("smoke_test.success", "login") == [0.0]
        assert account.values("smoke_test.success", "home") == [1.0]
        assert account.unit("smoke_test.duration", "api") == "Milliseconds"
        assert account.unit("smoke_test.api_response", "api") == "Milliseconds"
        assert account.unit("smoke_test.success", "login") == "Count"
        assert counter(ctx, "smokewatch_telemetry_errors_total") == 0
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 0
        await exporter.close()

    async def test_an_error_run_puts_nothing(self, account: Account) -> None:
        """An error says nothing about the target: the namespace stays empty."""
        exporter, _, _ = account.exporter()
        exporter.record(RUNS[3:])
        await exporter.close()
        assert account.listed() == set()

    async def test_configured_dimensions_follow_check_and_region(self, account: Account) -> None:
        """dimensions: {env: prod} is a third dimension on every metric."""
        exporter, _, _ = account.exporter(dimensions={"env": "prod"})
        exporter.record(RUNS[:1])
        await exporter.close()
        assert {d for _, d in account.listed()} == {(*dims("api"), ("env", "prod"))}
        assert account.values("smoke_test.duration", "api", extra=(("env", "prod"),)) == [120.5]

    async def test_real_runs_against_the_demo_target(
        self, run_checks: RunChecks, account: Account
    ) -> None:
        """Runs of real checks: success per check read back with GetMetricData."""
        _, runs = await run_checks()
        exporter, _, _ = account.exporter()
        exporter.record(runs)
        await exporter.close()
        success = {
            run.check: account.values("smoke_test.success", run.check, region="eu-test")
            for run in runs
        }
        assert success == {"health": [1.0], "api-test": [1.0], "missing": [0.0],
                           "api-login": [1.0]}  # fmt: skip

    async def test_many_runs_go_in_calls_of_at_most_1000_data(self, account: Account) -> None:
        """1200 runs (3600 data) make 4 PutMetricData calls; every datum is read back."""
        exporter, _, _ = account.exporter()
        calls: list[int] = []

        def count(params: dict[str, Any], **_: Any) -> None:
            calls.append(len(params["MetricData"]))

        # botocore's own event hook on the real client: observes, changes nothing.
        exporter.client.meta.events.register("provide-client-params.cloudwatch.PutMetricData",
                                             count)  # fmt: skip
        runs: list[CheckRun] = [
            make_run(f"c{i % 40}", "http", timings={"total": float(i)}, started_at=NOW)
            for i in range(1200)
        ]
        exporter.record(runs)
        await exporter.flush()
        assert calls == [1000, 1000, 1000, 600]
        samples = account.values("smoke_test.duration", "c7", stat="SampleCount")
        assert sum(samples) == 30  # 1200 runs over 40 checks
        await exporter.close()

    async def test_a_value_that_is_not_a_number_is_dropped_alone(self, account: Account) -> None:
        """A NaN duration (CloudWatch refuses the whole call for one) is counted as dropped;
        the run's other metrics and the other runs still land."""
        broken = make_run("nan", "http", timings={"total": 5.0}, duration_ms=math.nan,
                          started_at=NOW)  # fmt: skip
        exporter, ctx, stream = account.exporter()
        exporter.record([broken, *RUNS[:1]])
        await exporter.flush()
        assert log_events(stream) == []
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 1
        assert account.values("smoke_test.api_response", "nan") == [5.0]
        assert account.values("smoke_test.duration", "nan") == []
        assert account.values("smoke_test.duration", "api") == [120.5]
        await exporter.close()


class TestBatches:
    def test_the_request_size_bounds_a_call_before_the_count_does(self) -> None:
        """Data with long dimension values split by bytes: each call stays under the bound."""
        long = {"Name": "check", "Value": "x" * 250}
        data = [
            {"MetricName": "smoke_test.duration", "Dimensions": [long] * 3, "Value": 1.0}
        ] * 1000
        calls = batches(data)
        assert len(calls) > 1
        assert all(sum(datum_size(d) for d in call) <= MAX_CALL_BYTES for call in calls)
        assert all(len(call) <= MAX_DATA_PER_CALL for call in calls)
        assert sum(len(call) for call in calls) == 1000


class TestSettings:
    async def test_credentials_and_region_come_from_boto3s_standard_chain(
        self, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """No keys and no region in the file: AWS_* variables supply both, as boto3 reads them."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        sydney = Account(moto_endpoint, region="ap-southeast-2")
        ctx, _ = context()
        settings = CloudWatchSettings(namespace=sydney.namespace, endpoint_url=moto_endpoint)
        exporter = CloudWatchExporter(settings, ctx)
        exporter.record(RUNS[:1])
        await exporter.close()
        assert ("smoke_test.duration", dims("api")) in sydney.listed()
        ireland = Account(moto_endpoint)  # the same namespace in another region: empty
        ireland.namespace = sydney.namespace
        assert ireland.listed() == set()

    def test_no_region_anywhere_is_a_startup_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Without region and without AWS_REGION/AWS_DEFAULT_REGION the build fails, naming it."""
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        ctx, _ = context()
        with pytest.raises(MonitorError, match=r"telemetry\.cloudwatch\.region"):
            CloudWatchExporter(CloudWatchSettings(), ctx)

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"namespace": "AWS/EC2"}, "namespace"),
            ({"namespace": ""}, "namespace"),
            ({"dimensions": {f"d{i}": "v" for i in range(29)}}, "dimensions"),
            ({"storage_resolution": 5}, "storage_resolution"),
        ],
        ids=["aws-reserved-namespace", "empty-namespace", "too-many-dimensions", "resolution"],
    )
    def test_invalid_settings_name_the_field(self, data: dict[str, Any], field: str) -> None:
        """What CloudWatch would refuse is refused at load time, naming the field."""
        with pytest.raises(ValidationError, match=field):
            CloudWatchSettings.model_validate(data)

    def test_the_secret_key_is_secret(self) -> None:
        """secret_access_key is a SecretStr: repr and dumps never show it."""
        settings = CloudWatchSettings.model_validate({"secret_access_key": SECRET_KEY})
        assert SECRET_KEY not in repr(settings)
        assert SECRET_KEY not in settings.model_dump_json()


class TestFailures:
    @pytest.mark.parametrize("down", ["hung", "unreachable"])
    async def test_a_down_endpoint_never_raises_and_never_waits_past_the_timeout(
        self, recorder: Recorder, down: str
    ) -> None:
        """A hung or closed endpoint: flush returns within the timeout; drops are counted."""
        recorder.delay_s = 3.0
        endpoint = recorder.url if down == "hung" else f"http://127.0.0.1:{free_port()}"
        account = Account(endpoint)
        exporter, ctx, stream = account.exporter(timeout="700ms", retries=0)
        exporter.record(RUNS)
        t0 = time.perf_counter()
        await exporter.flush()
        assert time.perf_counter() - t0 < 1.2
        (event,) = log_events(stream)
        assert (event["event"], event["exporter"]) == ("telemetry.failed", "cloudwatch")
        assert SECRET_KEY not in str(event)
        assert counter(ctx, "smokewatch_telemetry_dropped_total") == 8
        assert counter(ctx, "smokewatch_telemetry_errors_total") == 1
        await exporter.close()

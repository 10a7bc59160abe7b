"""Specifications of the Pushgateway push: a real Pushgateway scraped by a real Prometheus."""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from prometheus_client import CollectorRegistry

from monitor.config.telemetry import PushgatewaySettings, TelemetrySettings
from monitor.runner import CheckRun
from monitor.runtime.runtime import Runtime
from monitor.telemetry.hub import Telemetry, build_telemetry
from monitor.telemetry.pushgateway import PushOutcome
from tests.support.processes import free_port
from tests.support.prometheus import PrometheusServer, PushgatewayServer
from tests.telemetry.helpers import (
    Recorder,
    RunChecks,
    json_logger,
    log_events,
    make_run,
    recording_server,
)

TWO_CHECKS = """\
- name: health
  kind: http
  url: ${TARGET}/health
- name: api-test
  kind: http
  url: ${TARGET}/api/v1/test
"""
ONE_CHECK = TWO_CHECKS.split("- name: api-test", maxsplit=1)[0]


def telemetry_for(runtime: Runtime, **push: Any) -> Telemetry:
    log, _ = json_logger()
    settings = TelemetrySettings(pushgateway=PushgatewaySettings.model_validate(push))
    # A registry of its own: the Runtime's already carries the Runtime's own telemetry.
    return build_telemetry(
        settings,
        registry=CollectorRegistry(),
        region=runtime.region,
        env={},
        log=log,
        version="1.0",
    )


async def push(telemetry: Telemetry, runs: list[CheckRun]) -> PushOutcome | None:
    """What the end of ``run --once`` does: record the runs, push the registry."""
    telemetry.record(runs)
    return await telemetry.push()


def group_of(groups: list[dict[str, Any]], job: str) -> list[dict[str, Any]]:
    return [g for g in groups if g["labels"].get("job") == job]


class TestPushToPushgateway:
    async def test_a_second_run_replaces_the_group_and_prometheus_sees_it_with_honor_labels(
        self,
        run_checks: RunChecks,
        pushgateway_server: PushgatewayServer,
        prometheus_server: PrometheusServer,
    ) -> None:
        """Run 1 pushes two checks, run 2 (a new process: new registry) one; one group remains."""
        job = f"sw-push-{time.monotonic_ns()}"
        runtime, runs = await run_checks(TWO_CHECKS, region="us-east-1")
        outcome = await push(telemetry_for(runtime, url=pushgateway_server.url, job=job), runs)
        assert outcome is not None
        assert outcome.ok, outcome

        (group,) = group_of(pushgateway_server.groups(), job)
        assert group["labels"] == {"job": job, "region": "us-east-1"}

        prometheus_server.scrape(f"{job}-scrape", [pushgateway_server.address], honor_labels=True)
        first = prometheus_server.wait_for(
            f'smoke_test_success{{job="{job}"}}', lambda r: len(r) == 2
        )
        assert {(r["metric"]["check"], r["metric"]["region"]) for r in first} == {
            ("health", "us-east-1"),
            ("api-test", "us-east-1"),
        }

        runtime2, runs2 = await run_checks(ONE_CHECK, region="us-east-1")
        outcome2 = await push(telemetry_for(runtime2, url=pushgateway_server.url, job=job), runs2)
        assert outcome2 is not None
        assert outcome2.ok, outcome2

        (group,) = group_of(pushgateway_server.groups(), job)
        pushed = group["smoke_test_success"]["metrics"]
        assert [m["labels"]["check"] for m in pushed] == ["health"]

        second = prometheus_server.wait_for(
            f'smoke_test_success{{job="{job}"}}', lambda r: len(r) == 1
        )
        assert second[0]["metric"]["check"] == "health"
        counts = prometheus_server.query(f'count(smoke_test_runs_total{{job="{job}"}})')
        assert counts[0]["value"][1] == "5"  # one check x five results, not duplicated


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture
def tls_recorder(tls_files: tuple[trustme.CA, Path]) -> Iterator[Recorder]:
    """An HTTPS recorder whose certificate the test CA signed."""
    ca, _ = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with recording_server(Recorder(status=200, tls=True), context) as running:
        yield running


class TestPushRequest:
    async def test_the_push_is_a_put_to_job_and_region_with_basic_auth_over_tls(
        self, tls_recorder: Recorder, tls_files: tuple[trustme.CA, Path]
    ) -> None:
        """PUT /metrics/job/<job>/region/<region>, Basic auth, verified against ca_file."""
        log, _ = json_logger()
        push = {
            "url": tls_recorder.url, "job": "smokewatch", "username": "ci",
            "password": "s3cret-pw", "ca_file": str(tls_files[1]),
        }  # fmt: skip
        settings = TelemetrySettings(pushgateway=PushgatewaySettings.model_validate(push))
        registry = CollectorRegistry()
        telemetry = build_telemetry(
            settings, registry=registry, region="eu-west-1", env={}, log=log, version="1.0"
        )
        telemetry.record([make_run()])
        outcome = await telemetry.push()
        assert outcome is not None
        assert outcome.ok, outcome
        (request,) = tls_recorder.received
        assert (request.method, request.path) == ("PUT", "/metrics/job/smokewatch/region/eu-west-1")
        assert (
            request.headers["authorization"]
            == "Basic " + base64.b64encode(b"ci:s3cret-pw").decode()
        )
        assert b'smoke_test_success{check="api",kind="http",region="eu-west-1"} 1.0' in request.body

    async def test_an_unknown_ca_fails_the_push_without_raising(
        self, tls_recorder: Recorder
    ) -> None:
        """Without our CA the certificate does not verify: a failed outcome, not an exception."""
        log, _ = json_logger()
        settings = TelemetrySettings(pushgateway=PushgatewaySettings(url=tls_recorder.url))
        telemetry = build_telemetry(
            settings, registry=CollectorRegistry(), region="r", env={}, log=log, version="1"
        )
        outcome = await telemetry.push()
        assert outcome is not None
        assert not outcome.ok
        assert "CERTIFICATE_VERIFY_FAILED" in (outcome.error or "")


class TestPushFailure:
    @pytest.mark.parametrize(
        ("fail_run_on_error", "fails_run"),
        [(False, False), (True, True)],
        ids=["reported", "fails-run"],
    )
    async def test_an_unreachable_gateway_is_an_outcome_never_an_exception(
        self, fail_run_on_error: bool, fails_run: bool
    ) -> None:
        """Nothing listens: an outcome, logged and counted; it fails the run only if configured."""
        log, stream = json_logger()
        settings = TelemetrySettings(
            pushgateway=PushgatewaySettings(
                url=f"http://127.0.0.1:{free_port()}", fail_run_on_error=fail_run_on_error
            )
        )
        registry = CollectorRegistry()
        telemetry = build_telemetry(
            settings, registry=registry, region="r", env={}, log=log, version="1"
        )
        outcome = await telemetry.push()
        assert isinstance(outcome, PushOutcome)
        assert (outcome.ok, outcome.fails_run) == (False, fails_run)
        assert "Connection refused" in (outcome.error or "")
        assert (
            registry.get_sample_value(
                "smokewatch_telemetry_errors_total", {"exporter": "pushgateway"}
            )
            == 1
        )
        (event,) = [e for e in log_events(stream) if e["event"] == "telemetry.failed"]
        assert event["exporter"] == "pushgateway"

    async def test_a_hung_gateway_costs_at_most_the_timeout(self, recorder: Recorder) -> None:
        """A gateway that never answers in time: the push gives up after ``timeout``."""
        recorder.delay_s = 2.0
        log, _ = json_logger()
        settings = TelemetrySettings(
            pushgateway=PushgatewaySettings.model_validate(
                {"url": recorder.url, "timeout": "300ms"}
            )
        )
        telemetry = build_telemetry(
            settings, registry=CollectorRegistry(), region="r", env={}, log=log, version="1"
        )
        t0 = time.perf_counter()
        outcome = await telemetry.push()
        assert outcome is not None
        assert not outcome.ok
        assert time.perf_counter() - t0 < 1.0

    async def test_without_a_pushgateway_push_is_none(self) -> None:
        """No pushgateway section: nothing to push, no outcome."""
        log, _ = json_logger()
        telemetry = build_telemetry(
            TelemetrySettings(),
            registry=CollectorRegistry(),
            region="r",
            env={},
            log=log,
            version="1",
        )
        assert await telemetry.push() is None

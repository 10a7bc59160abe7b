"""Specifications of the Prometheus metrics: names, labels, values, and a real Prometheus."""

from __future__ import annotations

import gzip
import ssl
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import trustme
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from monitor.config.telemetry import DEFAULT_BUCKETS, TelemetrySettings
from monitor.runner import CheckRun
from monitor.telemetry.exposition import negotiate
from monitor.telemetry.hub import Telemetry, build_telemetry
from monitor.telemetry.scrape import Scrapes, render
from probes.base import ProbeContext, Status
from probes.http import PROBE, HttpSpec
from tests.support.prometheus import PrometheusServer
from tests.telemetry.helpers import (
    HOST,
    Recorder,
    RunChecks,
    json_logger,
    make_run,
    metrics_server,
    negotiating_server,
    recording_server,
)

HTTP_TIMINGS = {
    "connect": 1.0, "tls": 2.0, "request": 0.5, "first_byte": 40.0, "transfer": 3.0, "total": 47.0,
}  # fmt: skip
FLOW_TIMINGS = {"step:login": 30.0, "step:logout": 5.0, "total": 36.0}
BROWSER_TIMINGS = {"ttfb": 100.0, "dcl": 400.0, "load": 1200.0, "lcp": 900.0, "total": 1500.0}
L = {"check": "c", "kind": "http", "region": "eu-west-1"}
# What Prometheus 2.x sends by default (scrape_protocols).
PROMETHEUS_2_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
CERT_DAYS = 10

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def record(*runs: CheckRun, interval: timedelta | None = None) -> tuple[CollectorRegistry, Samples]:
    registry = CollectorRegistry(auto_describe=True)
    log, _ = json_logger()
    telemetry = build_telemetry(
        TelemetrySettings(), registry=registry, region="eu-west-1", env={}, log=log,
        version="9.9.9", interval=interval,
    )  # fmt: skip
    telemetry.record(list(runs))
    return registry, samples(registry)


def samples(registry: CollectorRegistry) -> Samples:
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def named(found: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in found if n == name]


class TestPrometheusExporter:
    @pytest.mark.parametrize(
        ("run", "expected"),
        [
            (
                make_run("c", "http", timings=HTTP_TIMINGS, duration_ms=120.0),
                {
                    ("smoke_test_success", ()): 1.0,
                    ("smoke_test_api_response_seconds", ()): 0.047,
                    ("smoke_test_homepage_load_seconds", ()): None,
                    ("probe_success", ()): 1.0,
                    ("probe_duration_seconds", ()): 0.047,
                    ("smoke_test_duration_seconds_sum", ()): 0.12,
                    ("smoke_test_phase_seconds", (("phase", "first_byte"),)): 0.04,
                    ("probe_http_duration_seconds", (("phase", "processing"),)): 0.0405,
                    ("probe_http_duration_seconds", (("phase", "connect"),)): 0.001,
                },
            ),
            (
                make_run("c", "flow", timings=FLOW_TIMINGS),
                {
                    ("smoke_test_api_response_seconds", ()): 0.036,
                    ("smoke_test_phase_seconds", (("phase", "step:login"),)): 0.03,
                    ("probe_http_duration_seconds", (("phase", "processing"),)): None,
                    ("probe_http_status_code", ()): None,
                },
            ),
            (
                make_run(
                    "c", "browser", Status.DEGRADED, timings=BROWSER_TIMINGS, duration_ms=1500
                ),
                {
                    ("smoke_test_success", ()): 1.0,
                    ("smoke_test_homepage_load_seconds", ()): 1.2,
                    ("smoke_test_api_response_seconds", ()): None,
                    ("smoke_test_browser_timing_seconds", (("phase", "lcp"),)): 0.9,
                    ("smoke_test_browser_timing_seconds", (("phase", "ttfb"),)): 0.1,
                    ("smoke_test_phase_seconds", (("phase", "load"),)): None,
                    ("probe_duration_seconds", ()): 1.5,
                },
            ),
            (
                make_run("c", "websocket", timings={"connect": 4.0, "reply": 1.0, "total": 6.0}),
                {
                    ("smoke_test_phase_seconds", (("phase", "reply"),)): 0.001,
                    ("smoke_test_api_response_seconds", ()): None,
                },
            ),
            (
                make_run(
                    "c",
                    "http",
                    Status.FAIL,
                    timings={"connect": 1.0, "total": 2.0},
                    details={"cause": "connection"},
                ),
                {
                    ("smoke_test_success", ()): 0.0,
                    ("probe_success", ()): 0.0,
                    ("smoke_test_api_response_seconds", ()): None,
                    ("smoke_test_phase_seconds", (("phase", "connect"),)): None,
                    ("smoke_test_duration_seconds_count", ()): 1.0,
                    ("probe_http_status_code", ()): 0.0,
                    ("probe_ssl_earliest_cert_expiry", ()): None,
                },
            ),
            (
                make_run(
                    "c", "http", Status.FAIL, timings=HTTP_TIMINGS, details={"status_code": 500}
                ),
                {
                    ("smoke_test_success", ()): 0.0,
                    ("smoke_test_api_response_seconds", ()): 0.047,
                    ("probe_http_status_code", ()): 500.0,
                    ("probe_ssl_earliest_cert_expiry", ()): None,
                },
            ),
            (
                make_run(
                    "c",
                    "http",
                    timings=HTTP_TIMINGS,
                    details={"status_code": 200, "tls_not_after": 1_800_000_000.0},
                ),
                {
                    ("probe_http_status_code", ()): 200.0,
                    ("probe_ssl_earliest_cert_expiry", ()): 1_800_000_000.0,
                },
            ),
            (
                make_run("c", "http", Status.ERROR, message="invalid request"),
                {
                    ("probe_http_status_code", ()): None,
                    ("probe_ssl_earliest_cert_expiry", ()): None,
                    ("probe_success", ()): 0.0,
                },
            ),
            (
                make_run("c", "browser", Status.ERROR, message="no browser", attempts=1),
                {
                    ("smoke_test_success", ()): None,
                    ("probe_success", ()): 0.0,
                    ("smoke_test_duration_seconds_count", ()): None,
                    ("smoke_test_attempts", ()): 1.0,
                },
            ),
        ],
        ids=[
            "http-pass",
            "flow-steps",
            "browser-degraded",
            "websocket",
            "http-no-response",
            "http-500-has-a-response-time",
            "https-status-and-certificate-expiry",
            "http-error-sets-no-status",
            "error-is-no-evidence",
        ],
    )
    def test_a_run_sets_these_series(
        self, run: CheckRun, expected: dict[Any, float | None]
    ) -> None:
        """Each kind of run feeds exactly the metrics the module's table promises."""
        _, found = record(run)
        labels = {**L, "kind": run.kind}
        for (name, extra), want in expected.items():
            got = value(found, name, **labels, **dict(extra))
            assert got == (pytest.approx(want) if want is not None else None), name

    @pytest.mark.parametrize(
        ("second", "status", "expiry"),
        [
            ({"details": {"cause": "tls"}, "status": Status.FAIL}, 0.0, 1_800_000_000.0),
            ({"details": {"status_code": 200}}, 200.0, None),
            ({"status": Status.ERROR}, 301.0, 1_800_000_000.0),
        ],
        ids=["no-response-keeps-the-expiry", "plain-http-drops-it", "error-changes-nothing"],
    )
    def test_the_status_and_expiry_after_a_second_run(
        self, second: dict[str, Any], status: float, expiry: float | None
    ) -> None:
        """After an https 301, a run without a response, over plain http, or an error."""
        first = make_run("c", "http", details={"status_code": 301, "tls_not_after": 1.8e9})
        _, found = record(first, make_run("c", "http", **second))
        assert value(found, "probe_http_status_code", **L) == status
        assert value(found, "probe_ssl_earliest_cert_expiry", **L) == expiry

    def test_the_run_counter_starts_every_result_at_zero(self) -> None:
        """The first run of a check creates all five result series, its own at 1."""
        _, found = record(make_run("c", "http", Status.FAIL))
        counts = {r: value(found, "smoke_test_runs_total", **L, result=r) for r in Status}
        assert counts == {
            Status.PASS: 0,
            Status.DEGRADED: 0,
            Status.FAIL: 1,
            Status.ERROR: 0,
            Status.SUSPECT: 0,
        }

    def test_counters_accumulate_and_gauges_keep_the_last_run(self) -> None:
        """Two runs: the counter says 2, the histogram counted 2, the gauges hold the second."""
        first = make_run("c", "http", timings={**HTTP_TIMINGS, "total": 10.0}, attempts=3)
        second = make_run("c", "http", timings=HTTP_TIMINGS, attempts=1)
        _, found = record(first, second)
        assert value(found, "smoke_test_runs_total", **L, result="pass") == 2
        assert value(found, "smoke_test_duration_seconds_count", **L) == 2
        assert value(found, "smoke_test_attempts", **L) == 1
        assert value(found, "smoke_test_api_response_seconds", **L) == pytest.approx(0.047)

    def test_timing_keys_that_are_not_bounded_names_never_become_labels(self) -> None:
        """A timing key that looks like a URL or free text is not exported as a phase."""
        odd = {"https://x/y?id=42": 5.0, "Some Error Text": 1.0, "connect": 1.0, "total": 7.0}
        _, found = record(make_run("c", "http", timings=odd))
        assert {d["phase"] for d in named(found, "smoke_test_phase_seconds")} == {"connect"}

    def test_labels_are_check_kind_region_plus_phase_result_and_reason_only(self) -> None:
        """No metric carries any label besides check, kind, region, phase, result, reason, le."""
        _, found = record(
            make_run("a", "http", timings=HTTP_TIMINGS),
            make_run("b", "browser", timings=BROWSER_TIMINGS),
        )
        allowed = {"check", "kind", "region", "phase", "result", "reason", "le", "version"}
        allowed |= {"exporter"}
        assert {k for (_, labels) in found for k, _ in labels} <= allowed

    def test_histogram_buckets_span_10_ms_to_30_s(self) -> None:
        """The duration histogram's finite bounds run from 0.01 s to 30 s."""
        _, found = record(make_run())
        bounds = sorted(
            float(d["le"])
            for d in named(found, "smoke_test_duration_seconds_bucket")
            if d["le"] != "+Inf"
        )
        assert (bounds[0], bounds[-1]) == (0.01, 30.0)
        assert {0.1, 0.2, 0.5, 3.0} <= set(bounds)

    @pytest.mark.parametrize(
        ("duration_ms", "bucket"),
        [(100.0, "0.1"), (100.5, "0.2"), (30_000.0, "30.0"), (45_000.0, "+Inf")],
        ids=["on-a-bound", "just-above", "the-last-bound", "beyond-30s"],
    )
    def test_an_observation_lands_in_the_first_bucket_at_or_above_it(
        self, duration_ms: float, bucket: str
    ) -> None:
        """Buckets are 'less than or equal': the first bound the duration does not exceed."""
        _, found = record(make_run(duration_ms=duration_ms))
        counts = {
            d["le"]: found[("smoke_test_duration_seconds_bucket", frozenset(d.items()))]
            for d in named(found, "smoke_test_duration_seconds_bucket")
        }
        first = next(le for le, count in counts.items() if count == 1)
        assert first == bucket
        assert counts["+Inf"] == 1

    def test_heartbeat_build_info_and_interval(self) -> None:
        """A run sets the region's last-run time; build info and the interval are exported."""
        before = time.time()
        _, found = record(make_run(), interval=timedelta(minutes=30))
        last = value(found, "smokewatch_last_run_timestamp_seconds", region="eu-west-1")
        assert last is not None
        assert before <= last <= time.time()
        assert value(found, "smokewatch_build_info", version="9.9.9") == 1
        assert value(found, "smokewatch_run_interval_seconds", region="eu-west-1") == 1800

    def test_metrics_go_to_the_given_registry_never_the_global_one(self) -> None:
        """Two telemetries on two registries coexist; the default registry stays untouched."""
        first, _ = record(make_run())
        second, _ = record(make_run())
        assert first is not second
        assert REGISTRY.get_sample_value("smoke_test_success", L) is None


def scrapes_of(registry: CollectorRegistry) -> tuple[Scrapes, Telemetry]:
    """A telemetry on ``registry`` and the /metrics cache keyed by its generation."""
    log, _ = json_logger()
    telemetry = build_telemetry(
        TelemetrySettings(), registry=registry, region="eu", env={}, log=log, version="1"
    )
    return Scrapes(registry, lambda: telemetry.ctx.generation), telemetry


class TestMetricsEndpointBody:
    async def test_the_body_is_rendered_again_only_after_a_change(self) -> None:
        """The body equals generate_latest; it is re-rendered after record() or a failure."""
        registry = CollectorRegistry(auto_describe=True)
        scrapes, telemetry = scrapes_of(registry)
        telemetry.record([make_run()])
        answer = await scrapes.get()
        assert answer.body == generate_latest(registry)
        assert gzip.decompress(answer.gzipped) == answer.body
        assert answer.content_type == CONTENT_TYPE_LATEST
        assert await scrapes.get() is answer  # cached: nothing changed
        telemetry.record([make_run(status=Status.FAIL)])
        again = (await scrapes.get()).body
        assert again != answer.body
        assert b'smoke_test_success{check="api",kind="http",region="eu-west-1"} 0.0' in again
        telemetry.ctx.failed("datadog", "down")
        failed = await scrapes.get()
        assert b'smokewatch_telemetry_errors_total{exporter="datadog"} 1.0' in failed.body
        assert gzip.decompress(failed.gzipped) == failed.body
        assert scrapes.renders == 3

    async def test_openmetrics_when_the_scraper_asks_for_it(self) -> None:
        """An OpenMetrics Accept gets OpenMetrics 1.0.0 (same samples, '# EOF'), cached apart."""
        registry = CollectorRegistry(auto_describe=True)
        scrapes, telemetry = scrapes_of(registry)
        telemetry.record([make_run(details={"status_code": 200, "tls_not_after": 1.8e9})])
        answer = await scrapes.get(PROMETHEUS_2_ACCEPT)
        body = answer.body
        assert answer.content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8"
        assert body.endswith(b"# EOF\n")
        assert await scrapes.get(PROMETHEUS_2_ACCEPT) is answer
        text = await scrapes.get("text/plain;version=0.0.4")
        assert text.content_type == CONTENT_TYPE_LATEST
        assert not text.body.endswith(b"# EOF\n")
        om = {
            (s.name, frozenset(s.labels.items())): s.value
            # prometheus_client's OpenMetrics parser has no annotations.
            for family in openmetrics_families(body.decode())  # type: ignore[no-untyped-call]
            for s in family.samples
        }
        labels = frozenset({**L, "check": "api"}.items())
        assert om[("probe_http_status_code", labels)] == 200
        assert om[("probe_ssl_earliest_cert_expiry", labels)] == 1.8e9
        assert om[("smoke_test_runs_total", labels | {("result", "pass")})] == 1


class TestScrapedByPrometheus:
    async def test_prometheus_scrapes_the_runtime_registry_after_real_checks(
        self, run_checks: RunChecks, prometheus_server: PrometheusServer
    ) -> None:
        """Checks run against the demo target; PromQL over a real scrape returns their series."""
        runtime, runs = await run_checks()
        log, _ = json_logger()
        registry = CollectorRegistry()  # the Runtime's own already holds its telemetry
        telemetry = build_telemetry(
            TelemetrySettings(), registry=registry, region=runtime.region, env={},
            log=log, version="9.9.9", interval=timedelta(minutes=30),
        )  # fmt: skip
        telemetry.record(runs)
        status = {run.check: run.status for run in runs}
        assert status == {
            "health": Status.PASS, "api-test": Status.PASS, "missing": Status.FAIL,
            "api-login": Status.PASS,
        }  # fmt: skip
        job = f"sw-scrape-{time.monotonic_ns()}"
        with metrics_server(registry) as address:
            prometheus_server.scrape(job, [address])
            success = prometheus_server.wait_for(
                f'smoke_test_success{{job="{job}"}}', lambda r: len(r) == 4
            )
            by_check = {r["metric"]["check"]: float(r["value"][1]) for r in success}
            assert by_check == {"health": 1, "api-test": 1, "missing": 0, "api-login": 1}
            assert {r["metric"]["region"] for r in success} == {"eu-test"}

            failed = prometheus_server.query(
                f'smoke_test_runs_total{{job="{job}", result="fail"}} == 1'
            )
            assert [r["metric"]["check"] for r in failed] == ["missing"]

            reasons = prometheus_server.query(f'smoke_test_failures_total{{job="{job}"}}')
            assert [
                (r["metric"]["check"], r["metric"]["reason"], float(r["value"][1])) for r in reasons
            ] == [("missing", "http_status", 1.0)]

            api = prometheus_server.query(f'smoke_test_api_response_seconds{{job="{job}"}}')
            seconds = {r["metric"]["check"]: float(r["value"][1]) for r in api}
            assert set(seconds) == {"health", "api-test", "missing", "api-login"}
            login = next(run for run in runs if run.check == "api-login")
            assert seconds["api-login"] == pytest.approx(login.result.timings["total"] / 1000)

            p95 = prometheus_server.query(
                "histogram_quantile(0.95, sum by (le, check) "
                f'(smoke_test_duration_seconds_bucket{{job="{job}", check="health"}}))'
            )
            # One observation: the quantile lies within the bucket that holds it.
            health = next(run for run in runs if run.check == "health").duration_ms / 1000
            bounds = (0.0, *DEFAULT_BUCKETS)
            upper = min(b for b in bounds if b >= health)
            lower = max(b for b in bounds if b < health)
            assert len(p95) == 1
            assert lower < float(p95[0]["value"][1]) <= upper

            phases = prometheus_server.query(
                f'probe_http_duration_seconds{{job="{job}", check="health"}}'
            )
            assert {r["metric"]["phase"] for r in phases} == {
                "connect",
                "tls",
                "processing",
                "transfer",
            }

            stale = prometheus_server.query(
                f'time() - smokewatch_last_run_timestamp_seconds{{job="{job}"}}'
                f' > 2 * smokewatch_run_interval_seconds{{job="{job}"}}'
            )
            assert stale == []

    async def test_prometheus_gets_openmetrics_with_status_codes_and_cert_expiry(
        self, run_checks: RunChecks, prometheus_server: PrometheusServer
    ) -> None:
        """Real http checks and a real https probe; Prometheus negotiates OpenMetrics and reads
        probe_http_status_code and probe_ssl_earliest_cert_expiry (a 10-day certificate)."""
        runtime, runs = await run_checks()
        runs.append(await https_run(runtime.region))
        log, _ = json_logger()
        registry = CollectorRegistry()
        telemetry = build_telemetry(
            TelemetrySettings(), registry=registry, region=runtime.region, env={}, log=log,
            version="9.9.9",
        )  # fmt: skip
        telemetry.record(runs)
        job = f"sw-openmetrics-{time.monotonic_ns()}"

        def answer(accept: str | None) -> tuple[bytes, str]:
            found = render(registry, negotiate(accept))
            return found.body, found.content_type

        with negotiating_server(answer) as (address, served):
            prometheus_server.scrape(job, [address])
            codes = prometheus_server.wait_for(
                f'probe_http_status_code{{job="{job}"}}', lambda r: len(r) == 4
            )
            assert {r["metric"]["check"]: float(r["value"][1]) for r in codes} == {
                "health": 200, "api-test": 200, "missing": 404, "tls": 200,
            }  # fmt: skip
            expiring = prometheus_server.query(
                f'(probe_ssl_earliest_cert_expiry{{job="{job}"}} - time()) / 86400 < 14'
            )
            assert [r["metric"]["check"] for r in expiring] == ["tls"]
            days = float(expiring[0]["value"][1])
            assert CERT_DAYS - 0.1 < days <= CERT_DAYS
        assert served
        accept, _ = served[0]
        assert accept is not None
        assert accept.startswith("application/openmetrics-text")
        assert {ct for _, ct in served} == {
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }


async def https_run(region: str) -> CheckRun:
    """A real http probe run against an https server with a trustme certificate."""
    ca = trustme.CA()
    cert = ca.issue_cert(HOST, not_after=datetime.now(UTC) + timedelta(days=CERT_DAYS))
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    with recording_server(Recorder(status=200, tls=True), tls=server_tls) as server:
        async with httpx.AsyncClient(verify=client_tls, trust_env=False) as client:
            started = datetime.now(UTC)
            spec = HttpSpec.model_validate({"url": f"{server.url}/health"})
            result = await PROBE.run(spec, ProbeContext(client=client))
    assert result.status is Status.PASS, result.message
    total = result.timings["total"]
    return CheckRun("tls", "http", region, "run-tls", started, total, 1, result)

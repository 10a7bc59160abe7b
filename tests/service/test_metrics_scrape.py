"""Specification: a real Prometheus scraping ``smokewatch serve`` sees every check's series."""

from __future__ import annotations

import pytest

from tests.service.conftest import HEALTH, StartServe, WriteConfig
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.timeout(300)

MISSING = """\
- name: missing
  kind: http
  url: ${TARGET}/no-such-page
"""


class TestServeScrapedByPrometheus:
    def test_promql_returns_the_series_of_scheduled_runs(
        self,
        write_config: WriteConfig,
        start_serve: StartServe,
        prometheus_server: PrometheusServer,
    ) -> None:
        """Prometheus scrapes /metrics of a serving instance; PromQL gives 1 for the passing
        check, 0 for the failing one, runs counted by result, and the instance's region."""
        serve = start_serve(write_config(HEALTH + MISSING, interval="1s"), region="eu-test")
        job = "smokewatch-serve"
        prometheus_server.scrape(job, [serve.url.removeprefix("http://")])

        success = prometheus_server.wait_for(
            f'smoke_test_success{{job="{job}"}}', lambda r: len(r) == 2, timeout=30
        )
        assert {r["metric"]["check"]: float(r["value"][1]) for r in success} == {
            "health": 1.0,
            "missing": 0.0,
        }
        assert {r["metric"]["region"] for r in success} == {"eu-test"}
        assert {r["metric"]["kind"] for r in success} == {"http"}

        # The scheduler keeps running: the counters grow between scrapes.
        runs = prometheus_server.wait_for(
            f'smoke_test_runs_total{{job="{job}", check="missing", result="fail"}} >= 2',
            timeout=30,
        )
        assert len(runs) == 1
        assert not prometheus_server.query(
            f'smoke_test_runs_total{{job="{job}", check="health", result="fail"}} > 0'
        )
        heartbeat = prometheus_server.query(
            f'time() - smokewatch_last_run_timestamp_seconds{{job="{job}"}} < 60'
        )
        assert [r["metric"]["region"] for r in heartbeat] == ["eu-test"]

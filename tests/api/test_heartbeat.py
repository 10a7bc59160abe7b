"""Heartbeat checks end to end: a job pings the served API, the runner judges from the store."""

from __future__ import annotations

import time
from pathlib import Path

from monitor.config.loader import load_config
from monitor.runner import CheckRun
from probes.base import Status
from probes.reasons import FailureReason
from tests.api.conftest import LiveApi, RuntimeService, StartApi, config_yaml

HB_TOKEN = "hb-7d1e2f3a4b5c6d7e"
# backup: period 2s, grace 0s: "late" is two seconds away, so tests can wait it out for
# real, yet a judgement right after a ping is on time even on a loaded machine.
# report: period 1h, for verdicts that must not depend on how fast the machine is.
CHECKS = f"""\
- name: backup
  kind: heartbeat
  token: {HB_TOKEN}
  period: 2s
  grace: 0s
- name: report
  kind: heartbeat
  token: {HB_TOKEN}-report
  period: 1h
- name: etl
  kind: heartbeat
  token: {HB_TOKEN}-etl
  period: 1h
  max_run: 2s
- name: cache
  kind: tcp
  host: 127.0.0.1
  port: 6379
"""
LATE_S = 2.2


def judge(live: LiveApi, check: str = "backup") -> CheckRun:
    return live.call(lambda: live.service.run_now(check))


class TestPings:
    def test_a_ping_on_time_passes_and_silence_then_fails_as_late(
        self, start_api: StartApi
    ) -> None:
        """Pinged within period + grace: pass; no ping for longer: fail, reason late."""
        live = start_api(checks=CHECKS)
        with live.client() as client:
            answer = client.post(f"/api/v1/heartbeat/backup/{HB_TOKEN}")
        assert answer.status_code == 200
        assert answer.json()["signal"] == "success"
        on_time = judge(live)
        assert on_time.status is Status.PASS, on_time.result.message
        time.sleep(LATE_S)
        late = judge(live)
        assert (late.status, late.result.reason) == (Status.FAIL, FailureReason.LATE)
        assert late.result.message.startswith("last success ping at ")
        assert late.result.details["last_success"] == answer.json()["at"].replace("Z", "+00:00")

    def test_a_job_that_never_pings_fails_once_the_first_ping_is_overdue(
        self, start_api: StartApi
    ) -> None:
        """Watching starts at the first judgement: pass until period + grace, then late."""
        live = start_api(checks=CHECKS)
        first = judge(live)
        assert first.status is Status.PASS
        assert first.result.message.startswith("no ping yet; the first is due by ")
        time.sleep(LATE_S)
        never = judge(live)
        assert (never.status, never.result.reason) == (Status.FAIL, FailureReason.LATE)
        assert never.result.message.startswith("no success ping since watching began at ")

    def test_a_fail_signal_fails_with_the_jobs_message_until_a_success(
        self, start_api: StartApi
    ) -> None:
        """POST .../fail with a body: fail, reason job_failed, the body as evidence."""
        live = start_api(checks=CHECKS)
        with live.client() as client:
            client.post(f"/api/v1/heartbeat/report/{HB_TOKEN}-report/fail", content=b"disk full\n")
            failed = judge(live, "report")
            client.get(f"/api/v1/heartbeat/report/{HB_TOKEN}-report/success")
            recovered = judge(live, "report")
        assert (failed.status, failed.result.reason) == (Status.FAIL, FailureReason.JOB_FAILED)
        assert failed.result.message.endswith(": disk full")
        assert recovered.status is Status.PASS

    def test_a_started_run_that_outlives_max_run_fails(self, start_api: StartApi) -> None:
        """.../start, then no end within max_run: fail, reason late."""
        live = start_api(checks=CHECKS)
        with live.client() as client:
            client.post(f"/api/v1/heartbeat/etl/{HB_TOKEN}-etl/start")
        assert judge(live, "etl").status is Status.PASS
        time.sleep(LATE_S)
        stuck = judge(live, "etl")
        assert (stuck.status, stuck.result.reason) == (Status.FAIL, FailureReason.LATE)
        assert stuck.result.message.endswith("has not ended after 2s (max_run)")


class TestRefusals:
    def test_a_wrong_token_and_an_unknown_check_get_the_same_404_without_the_token(
        self, start_api: StartApi
    ) -> None:
        """Guessing reveals nothing: same answer either way, and no token echoed back."""
        live = start_api(checks=CHECKS)
        with live.client() as client:
            wrong = client.post("/api/v1/heartbeat/backup/not-the-right-token-at-all")
            unknown = client.post(f"/api/v1/heartbeat/nosuch/{HB_TOKEN}")
            other_token = client.post(f"/api/v1/heartbeat/etl/{HB_TOKEN}")
            other_kind = client.post(f"/api/v1/heartbeat/cache/{HB_TOKEN}")
        for answer in (wrong, unknown, other_token, other_kind):
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "unknown_heartbeat"
            assert HB_TOKEN not in answer.text
            assert "not-the-right-token" not in answer.text

    def test_an_unknown_signal_is_a_422_naming_it(self, start_api: StartApi) -> None:
        """Only start, success and fail exist."""
        live = start_api(checks=CHECKS)
        with live.client() as client:
            answer = client.post(f"/api/v1/heartbeat/backup/{HB_TOKEN}/finish")
        assert answer.status_code == 422
        assert "signal" in answer.json()["error"]["message"]

    def test_the_token_is_masked_in_results_and_logs(self, start_api: StartApi) -> None:
        """The token is a secret even when written literally in the config: a job that
        echoes its own ping URL in its fail message gets it masked in the result and log."""
        live = start_api(checks=CHECKS)
        url = f"/api/v1/heartbeat/backup/{HB_TOKEN}/fail"
        with live.client() as client:
            client.post(url, content=f"curl {url} after exit 3".encode())
        run = judge(live)
        assert run.result.message.endswith(": curl /api/v1/heartbeat/backup/***/fail after exit 3")
        assert HB_TOKEN not in live.service.log_stream.getvalue()
        assert HB_TOKEN not in str(run.result.details)


class TestReplicas:
    def test_a_ping_to_one_replica_is_judged_by_another(self, tmp_path: Path) -> None:
        """Two serve instances on one store: the ping's state is in the store, not in memory."""
        database = tmp_path / "shared.db"
        replicas: list[LiveApi] = []
        try:
            for region in ("eu", "us"):
                folder = tmp_path / region
                folder.mkdir()
                path = folder / "smokewatch.yaml"
                path.write_text(config_yaml(database, checks=CHECKS))
                service = RuntimeService(load_config(path, {}), region=region, env={})
                replicas.append(LiveApi(service))
                replicas[-1].start()
            eu, us = replicas
            with eu.client() as client:
                client.post(f"/api/v1/heartbeat/backup/{HB_TOKEN}/fail", content=b"exit 3")
            run = judge(us)
        finally:
            for replica in replicas:
                replica.stop()
        assert (run.region, run.status, run.result.reason) == (
            "us",
            Status.FAIL,
            FailureReason.JOB_FAILED,
        )
        assert run.result.details["fail_message"] == "exit 3"

"""The tcp, tls and dns kinds through the real Runtime: retries, redaction and metrics as for http.

Each check runs from a smokewatch.yaml, through the runner (retries, backoff,
redaction with the config's secrets) into the Prometheus registry, against the
real servers of tests/probes/sockets.py and dns_server.py.
"""

from __future__ import annotations

import io
import socket
import textwrap
from pathlib import Path

from prometheus_client import generate_latest

from monitor.config import load_config
from monitor.runtime.runtime import Runtime
from probes.base import Status
from probes.reasons import FailureReason
from tests.probes.dns_server import DnsServer
from tests.probes.sockets import LineServer

PASSWORD = "redis-pa55-0c1d2e3f"


def runtime(tmp_path: Path, checks: str) -> Runtime:
    text = (
        "defaults:\n  retries: 2\n  backoff: {initial: 10ms, max: 20ms}\n  timeout: 1s\n"
        "alert_rules: null\nchecks:\n" + textwrap.indent(textwrap.dedent(checks), "  ")
    )
    path = tmp_path / "smokewatch.yaml"
    path.write_text(text)
    loaded = load_config(path, env={"REDIS_PASSWORD": PASSWORD})
    return Runtime(loaded, region="test", use_store=False, log_stream=io.StringIO(), env={})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class TestRetries:
    async def test_a_refused_tcp_connection_is_retried_like_an_http_one(
        self, tmp_path: Path
    ) -> None:
        """retry_on 'connection' covers tcp: three attempts, then fail with reason connect."""
        checks = f"- name: db\n  kind: tcp\n  host: 127.0.0.1\n  port: {closed_port()}\n"
        async with runtime(tmp_path, checks) as rt:
            (run,) = await rt.run_once()
            metrics = generate_latest(rt.registry).decode()
        assert (run.status, run.attempts, run.result.reason) == (
            Status.FAIL,
            3,
            FailureReason.CONNECT,
        )
        labels = 'check="db",kind="tcp",reason="connect",region="test"'
        assert f"smoke_test_failures_total{{{labels}}} 1.0" in metrics

    async def test_a_wrong_reply_is_not_retried(self, tmp_path: Path) -> None:
        """An answer that does not match is the target's verdict: one attempt."""
        async with LineServer().serving() as server:
            checks = (
                f"- name: db\n  kind: tcp\n  host: 127.0.0.1\n  port: {server.port}\n"
                '  send: "HELLO\\n"\n  expect: {contains: WORLD}\n  timeout: 300ms\n'
            )
            async with runtime(tmp_path, checks) as rt:
                (run,) = await rt.run_once()
        assert (run.status, run.attempts, run.result.reason) == (
            Status.FAIL,
            1,
            FailureReason.CONTENT,
        )


class TestRedaction:
    async def test_a_secret_sent_and_echoed_back_is_masked_in_the_result(
        self, tmp_path: Path
    ) -> None:
        """send: AUTH ${REDIS_PASSWORD}: the echo in the failed assertion shows ***."""
        async with LineServer().serving() as server:
            checks = (
                f"- name: redis\n  kind: tcp\n  host: 127.0.0.1\n  port: {server.port}\n"
                '  send: "AUTH ${REDIS_PASSWORD}\\n"\n  expect: {contains: +OK}\n'
                "  timeout: 1s\n"
            )
            async with runtime(tmp_path, checks) as rt:
                (run,) = await rt.run_once()
        # A loaded machine may time out a first attempt before the echo and retry it.
        assert set(server.received) == {f"AUTH {PASSWORD}\n".encode()}
        assert run.status is Status.FAIL
        assert PASSWORD not in run.result.message
        assert "AUTH ***" in run.result.assertions[0].actual


class TestMetrics:
    async def test_tcp_and_dns_timings_become_phase_gauges(self, tmp_path: Path) -> None:
        """connect/first_byte of tcp and the dns pass reach smoke_test_phase_seconds and success."""
        async with LineServer().serving() as server, DnsServer().serving() as dns:
            checks = (
                f"- name: redis\n  kind: tcp\n  host: 127.0.0.1\n  port: {server.port}\n"
                '  send: "PING\\n"\n  expect: {contains: PONG}\n'
                f"- name: www\n  kind: dns\n  query_name: www.example.test\n"
                f"  resolver: 127.0.0.1:{dns.port}\n"
            )
            async with runtime(tmp_path, checks) as rt:
                runs = await rt.run_once()
                metrics = generate_latest(rt.registry).decode()
        assert [r.status for r in runs] == [Status.PASS, Status.PASS]
        for phase in ("connect", "first_byte"):
            labels = f'check="redis",kind="tcp",phase="{phase}",region="test"'
            assert f"smoke_test_phase_seconds{{{labels}}}" in metrics
        assert 'smoke_test_success{check="www",kind="dns",region="test"} 1.0' in metrics

"""Specifications of the dns probe (probes.dnsquery) against a local authoritative server."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from probes.base import ProbeContext, ProbeResult, Status
from probes.dnsquery import PROBE, DnsSpec
from probes.reasons import FailureReason
from tests.probes.dns_server import DnsServer


@pytest.fixture
async def dns_server() -> AsyncIterator[DnsServer]:
    async with DnsServer().serving() as server:
        yield server


async def query(server: DnsServer, ctx: ProbeContext, name: str, **fields: Any) -> ProbeResult:
    spec = DnsSpec.model_validate(
        {"query_name": name, "resolver": f"127.0.0.1:{server.port}"} | fields
    )
    return await PROBE.run(spec, ctx)


class TestAnswers:
    async def test_exact_answers_pass_in_any_order_with_the_answer_as_evidence(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """expect.answers is the whole set; order does not matter; rcode and TTL are kept."""
        result = await query(
            dns_server,
            ctx,
            "www.example.test",
            expect={"answers": ["192.0.2.11", "192.0.2.10"]},
        )
        assert result.status is Status.PASS, result.message
        assert sorted(result.details["answers"]) == ["192.0.2.10", "192.0.2.11"]
        assert result.details["rcode"] == "NOERROR"
        assert result.details["authoritative"] is True
        assert result.details["ttl"] == 300
        assert result.details["resolver"] == f"127.0.0.1:{dns_server.port}"
        assert result.timings["total"] > 0
        assert dns_server.queries == [("udp", "www.example.test.", "A")]

    async def test_a_missing_or_extra_answer_fails_as_content(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """The server answered, with other records: fail, reason content, both sets shown."""
        result = await query(
            dns_server, ctx, "www.example.test", expect={"answers": ["192.0.2.10"]}
        )
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.CONTENT)
        expected, got = result.message.removeprefix("answers: expected ").split(", got ")
        assert expected == "192.0.2.10"
        assert sorted(got.split(", ")) == ["192.0.2.10", "192.0.2.11"]
        assert not result.transient

    async def test_contains_checks_names_without_case_or_trailing_dot(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """MX '10 MAIL.example.test' matches the served '10 mail.example.test.'."""
        result = await query(
            dns_server,
            ctx,
            "example.test",
            record_type="MX",
            expect={"contains": ["10 MAIL.example.test"]},
        )
        assert result.status is Status.PASS, result.message
        missing = await query(
            dns_server,
            ctx,
            "example.test",
            record_type="MX",
            expect={"contains": ["30 other.example.test"]},
        )
        assert (missing.status, missing.reason) == (Status.FAIL, FailureReason.CONTENT)
        assert missing.message.startswith("answers contain 30 other.example.test: expected present")

    async def test_an_unquoted_txt_value_is_one_string(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """TXT answers are written as users read them: v=spf1 -all, spaces included."""
        result = await query(
            dns_server,
            ctx,
            "example.test",
            record_type="TXT",
            expect={"answers": ["v=spf1 -all"]},
        )
        assert result.status is Status.PASS, result.message

    async def test_a_truncated_udp_answer_is_asked_again_over_tcp(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """60 A records do not fit 512 bytes: the TC answer is retried over TCP and judged."""
        result = await query(
            dns_server, ctx, "big.example.test", expect={"contains": ["198.51.100.60"]}
        )
        assert result.status is Status.PASS, result.message
        assert len(result.details["answers"]) == 60
        assert [t for t, _, _ in dns_server.queries] == ["udp", "tcp"]

    async def test_transport_tcp_asks_over_tcp_only(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """transport: tcp never sends a UDP datagram."""
        result = await query(
            dns_server, ctx, "www.example.test", record_type="AAAA", transport="tcp"
        )
        assert result.status is Status.PASS, result.message
        assert dns_server.queries == [("tcp", "www.example.test.", "AAAA")]


class TestRcode:
    async def test_nxdomain_fails_as_dns_when_noerror_is_expected(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """A name that does not exist fails with reason dns and the rcode as evidence."""
        result = await query(dns_server, ctx, "gone.example.test")
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.DNS)
        assert result.message == "rcode: expected NOERROR, got NXDOMAIN"
        assert result.details["answers"] == []

    async def test_an_expected_nxdomain_passes(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """expect.rcode: NXDOMAIN checks that a name stays unpublished."""
        result = await query(dns_server, ctx, "gone.example.test", expect={"rcode": "NXDOMAIN"})
        assert result.status is Status.PASS, result.message

    async def test_servfail_fails_as_dns(self, dns_server: DnsServer, ctx: ProbeContext) -> None:
        """SERVFAIL is an answer (a bad one): fail with reason dns, never error."""
        result = await query(dns_server, ctx, "broken.example.test")
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.DNS)
        assert result.message == "rcode: expected NOERROR, got SERVFAIL"


class TestNoAnswer:
    async def test_silence_fails_as_a_timeout_and_may_be_retried(
        self, dns_server: DnsServer, ctx: ProbeContext
    ) -> None:
        """No answer within the deadline: fail, reason timeout, transient."""
        result = await query(
            dns_server, dataclasses.replace(ctx, deadline_s=0.3), "slow.example.test"
        )
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TIMEOUT)
        assert result.transient
        assert result.details["cause"] == "timeout"
        # Gave up at the 0.3 s deadline, not after a resolver's own seconds-long lifetime
        # (bounded loosely: a loaded machine may overshoot a deadline by a few hundred ms).
        assert result.timings["total"] < 1500

    async def test_a_closed_tcp_port_fails_as_connect(self, ctx: ProbeContext) -> None:
        """Nothing listening (over TCP): fail, reason connect, retried like a refused request."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        spec = DnsSpec(query_name="www.example.test", resolver=f"127.0.0.1:{port}", transport="tcp")
        result = await PROBE.run(spec, ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.CONNECT)
        assert result.details["cause"] == "connection"


class TestSpec:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"resolver": "dns.google"}, "resolver", "must be an IP address"),
            ({"resolver": "1.1.1.1:0"}, "resolver", "not between 1 and 65535"),
            ({"record_type": "ANY"}, "record_type", "'A'"),
            ({"expect": {"rcode": "OK"}}, "expect.rcode", "'NOERROR'"),
            ({"expect": {"answers": ["1.2.3"]}}, "", "expect.answers[0]: '1.2.3' is not a A"),
            (
                {"record_type": "MX", "expect": {"contains": ["mail.example.com"]}},
                "",
                "expect.contains[0]: 'mail.example.com' is not a MX record",
            ),
            ({"query_name": "a..b"}, "query_name", "not a DNS name"),
        ],
        ids=["hostname-resolver", "port-0", "any", "bad-rcode", "bad-a", "bad-mx", "bad-name"],
    )
    def test_bad_fields_are_refused_naming_the_field(
        self, fields: dict[str, Any], field: str, message: str
    ) -> None:
        """Config errors name the field (or the answer's index) at load time."""
        with pytest.raises(ValidationError) as caught:
            DnsSpec.model_validate({"query_name": "example.com"} | fields)
        (error,) = caught.value.errors()
        assert ".".join(str(p) for p in error["loc"]) == field
        assert message in error["msg"]

    def test_a_resolver_may_be_ipv6_with_a_port(self) -> None:
        """[::1]:5353 is an address and a port."""
        assert DnsSpec(query_name="example.com", resolver="[::1]:5353").resolver == "[::1]:5353"

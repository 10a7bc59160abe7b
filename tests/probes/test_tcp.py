"""Specifications of the tcp probe (probes.tcp) against real servers on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import trustme
from pydantic import ValidationError

from probes.base import ProbeContext, Status
from probes.reasons import FailureReason
from probes.tcp import PROBE, TcpSpec
from tests.probes.sockets import LineServer, server_context


def spec(port: int, **fields: Any) -> TcpSpec:
    return TcpSpec.model_validate({"host": "127.0.0.1", "port": port} | fields)


class TestConnect:
    async def test_an_open_port_passes_with_connect_timing_and_address(
        self, ctx: ProbeContext
    ) -> None:
        """Connecting is the whole check without expect; the peer's address is evidence."""
        async with LineServer().serving() as server:
            result = await PROBE.run(spec(server.port), ctx)
        assert (result.status, result.reason) == (Status.PASS, None)
        assert result.details["address"] == f"127.0.0.1:{server.port}"
        assert 0 < result.timings["connect"] <= result.timings["total"]
        assert "tls" not in result.timings

    async def test_a_refused_connection_fails_as_connect_and_may_be_retried(
        self, ctx: ProbeContext, closed_port: int
    ) -> None:
        """Nothing listening is the target being down: fail, reason connect, transient."""
        result = await PROBE.run(spec(closed_port), ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.CONNECT)
        assert result.message == "connection refused"
        assert result.transient
        assert result.details["cause"] == "connection"

    async def test_an_unknown_host_fails_as_dns(self, ctx: ProbeContext) -> None:
        """A name that does not resolve is the dns reason (the .invalid TLD never resolves)."""
        result = await PROBE.run(spec(80, host="no-such-host.invalid"), ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.DNS)


class TestSendExpect:
    async def test_a_matching_reply_passes_and_times_the_first_byte(
        self, ctx: ProbeContext
    ) -> None:
        """send PING, expect +PONG: the request reaches the server and the reply is read."""
        async with LineServer().serving() as server:
            result = await PROBE.run(
                spec(server.port, send="PING\r\n", expect={"contains": "+PONG"}), ctx
            )
        assert result.status is Status.PASS, result.message
        assert server.received == [b"PING\r\n"]
        assert 0 <= result.timings["first_byte"] <= result.timings["total"]
        assert result.assertions[0].name == "reply"

    async def test_a_wrong_reply_fails_as_content_with_the_reply_as_evidence(
        self, ctx: ProbeContext
    ) -> None:
        """The server answered, badly: fail (never error), reason content, not retried."""
        async with LineServer().serving() as server:
            result = await PROBE.run(
                spec(server.port, send="HELLO\r\n", expect={"contains": "+PONG"}),
                dataclasses.replace(ctx, deadline_s=0.5),
            )
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.CONTENT)
        assert result.message == "reply: expected contains '+PONG', got 'HELLO\\r\\n' (timed out)"
        assert not result.transient

    async def test_a_greeting_is_the_reply_when_nothing_is_sent(self, ctx: ProbeContext) -> None:
        """Servers that speak first (SMTP, SSH) are checked by regex without any send."""
        async with LineServer(greeting=b"220 mail.test ESMTP ready\r\n").serving() as server:
            result = await PROBE.run(spec(server.port, expect={"matches": r"^220 \S+ ESMTP"}), ctx)
        assert result.status is Status.PASS, result.message
        assert server.received == []

    async def test_bytes_go_and_come_back_as_hex(self, ctx: ProbeContext) -> None:
        """send_hex and contains_hex carry binary protocols (here: echoed bytes)."""
        async with LineServer().serving() as server:
            result = await PROBE.run(
                spec(server.port, send_hex="00ff7f0a", expect={"contains_hex": "ff7f"}), ctx
            )
        assert result.status is Status.PASS, result.message
        assert server.received == [b"\x00\xff\x7f\n"]

    async def test_silence_fails_as_a_timeout_within_the_deadline(self, ctx: ProbeContext) -> None:
        """A server that accepts but never answers: the probe's own timeout, with evidence."""
        async with LineServer(mode="silent").serving() as server:
            result = await PROBE.run(
                spec(server.port, send="PING\r\n", expect={"contains": "PONG"}),
                dataclasses.replace(ctx, deadline_s=0.4),
            )
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TIMEOUT)
        assert result.assertions[0].actual == "no reply (timed out)"
        assert result.timings["total"] < 400

    async def test_a_hang_up_without_a_word_fails_as_connect(self, ctx: ProbeContext) -> None:
        """The peer closing before any reply is a lost connection, not wrong content."""
        async with LineServer(mode="hangup").serving() as server:
            result = await PROBE.run(spec(server.port, expect={"contains": "PONG"}), ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.CONNECT)
        assert result.assertions[0].actual == "no reply (connection closed)"

    async def test_the_response_time_budget_degrades(self, ctx: ProbeContext) -> None:
        """expect.response_time works as on http: over degraded_ms is degraded."""
        async with LineServer().serving() as server:
            result = await PROBE.run(
                spec(server.port, expect={"response_time": {"degraded_ms": 0.001}}), ctx
            )
        assert result.status is Status.DEGRADED


class TestTls:
    async def test_a_trusted_certificate_passes_with_the_certificate_as_evidence(
        self, ctx: ProbeContext, ca: trustme.CA
    ) -> None:
        """tls: true verifies chain and name, times the handshake and records the certificate."""
        tls = server_context(ca, "127.0.0.1", days=20)
        async with LineServer(tls=tls).serving() as server:
            result = await PROBE.run(
                spec(server.port, tls=True, send="PING\n", expect={"contains": "PONG"}), ctx
            )
        assert result.status is Status.PASS, result.message
        assert result.timings["tls"] > 0
        certificate = result.details["tls"]["certificate"]
        assert certificate["sans"] == ["IP:127.0.0.1"]
        assert 19.9 < certificate["days_left"] <= 20
        assert 19.9 < result.details["tls_days_left"] <= 20

    @pytest.mark.parametrize(
        ("names", "expired", "why"),
        [
            (("127.0.0.1",), True, "certificate has expired"),
            (("other.example",), False, "IP address mismatch"),
        ],
        ids=["expired", "wrong-host"],
    )
    async def test_an_untrusted_certificate_fails_as_tls_and_is_not_retried(
        self, ctx: ProbeContext, ca: trustme.CA, names: tuple[str, ...], expired: bool, why: str
    ) -> None:
        """The server answered with a bad certificate: fail, reason tls, verify message."""
        tls = server_context(ca, *names, expired=expired)
        async with LineServer(tls=tls).serving() as server:
            result = await PROBE.run(spec(server.port, tls=True), ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TLS)
        assert result.message.startswith("TLS certificate not trusted: ")
        assert why in result.message
        assert not result.transient


class TestSpec:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"send": "a", "send_hex": "61"}, "", "give send or send_hex, not both"),
            ({"send_hex": "zz"}, "send_hex", "not hex bytes: 'zz'"),
            ({"expect": {"contains_hex": "0"}}, "expect.contains_hex", "not hex bytes"),
            ({"host": "tcp://db:5432"}, "host", "must be a bare host name or IP address"),
            ({"host": "db:5432"}, "host", "the port has its own field"),
            ({"server_name": "db"}, "", "server_name needs tls: true"),
            ({"expect": {"matches": "("}}, "expect.matches", "invalid regular expression"),
            ({"port": 70000}, "port", "less than or equal to 65535"),
        ],
        ids=[
            "send-twice",
            "bad-hex",
            "bad-expect-hex",
            "url-host",
            "port-in-host",
            "sni-without-tls",
            "bad-regex",
            "port-too-big",
        ],
    )
    def test_bad_fields_are_refused_naming_the_field(
        self, fields: dict[str, Any], field: str, message: str
    ) -> None:
        """Config errors name the field and say what is wrong, at load time."""
        with pytest.raises(ValidationError) as caught:
            TcpSpec.model_validate({"host": "127.0.0.1", "port": 5432} | fields)
        (error,) = caught.value.errors()
        assert ".".join(str(p) for p in error["loc"]) == field
        assert message in error["msg"]

    def test_an_ipv6_literal_is_a_host(self) -> None:
        """IPv6 addresses are hosts, with or without brackets."""
        assert spec(53, host="[::1]").host == "::1"

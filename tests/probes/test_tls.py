"""Specifications of the tls probe (probes.tls) against real TLS servers on 127.0.0.1."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from typing import Any

import pytest
import trustme
from pydantic import ValidationError

from probes.base import ProbeContext, Status
from probes.reasons import FailureReason
from probes.tls import PROBE, TlsSpec
from tests.probes.sockets import LineServer, server_context


def spec(port: int, **fields: Any) -> TlsSpec:
    return TlsSpec.model_validate({"host": "127.0.0.1", "port": port} | fields)


async def probe(ctx: ProbeContext, tls: ssl.SSLContext, **fields: Any) -> Any:
    async with LineServer(tls=tls).serving() as server:
        return await PROBE.run(spec(server.port, **fields), ctx)


class TestTrusted:
    async def test_a_valid_certificate_passes_with_its_evidence_and_timings(
        self, ctx: ProbeContext, ca: trustme.CA
    ) -> None:
        """Chain, name and lifetime fine: pass; subject, issuer, SANs, notAfter are recorded."""
        result = await probe(ctx, server_context(ca, "127.0.0.1", "localhost", days=60))
        assert result.status is Status.PASS, result.message
        certificate = result.details["tls"]["certificate"]
        assert certificate["sans"] == ["DNS:localhost", "IP:127.0.0.1"]
        assert "trustme" in certificate["issuer"]
        assert certificate["subject"]
        assert 59.9 < certificate["days_left"] <= 60
        assert datetime.fromisoformat(certificate["not_after"]) > datetime.now(UTC)
        assert result.details["tls"]["protocol"] == "TLSv1.3"
        assert result.timings["connect"] > 0
        assert 0 < result.timings["tls"] <= result.timings["total"]

    @pytest.mark.parametrize(
        ("days", "expect", "status"),
        [
            (20, {"days_left": 14}, Status.PASS),
            (10, {"days_left": 14}, Status.FAIL),
            (20, {"days_left": 14, "days_left_degraded": 30}, Status.DEGRADED),
            (10, {"days_left": 14, "days_left_degraded": 30}, Status.FAIL),
        ],
        ids=["above", "below", "warn-window", "below-both"],
    )
    async def test_days_until_expiry_fail_below_the_threshold(
        self, ctx: ProbeContext, ca: trustme.CA, days: int, expect: dict[str, Any], status: Status
    ) -> None:
        """Fewer days left than days_left fails; fewer than days_left_degraded degrades."""
        result = await probe(ctx, server_context(ca, "127.0.0.1", days=days), expect=expect)
        assert result.status is status, result.message
        if status is Status.FAIL:
            assert result.reason is FailureReason.TLS
            assert (
                result.message == "certificate expiry: expected >= 14 days left, got 10.0 days left"
            )


class TestRefused:
    @pytest.mark.parametrize(
        ("names", "expired", "why"),
        [
            (("127.0.0.1",), True, "certificate has expired"),
            (("other.example",), False, "IP address mismatch"),
        ],
        ids=["expired", "wrong-host"],
    )
    async def test_an_untrusted_certificate_fails_with_what_was_served(
        self, ctx: ProbeContext, ca: trustme.CA, names: tuple[str, ...], expired: bool, why: str
    ) -> None:
        """Verification refused it: fail (not error), reason tls, and the certificate shown."""
        result = await probe(ctx, server_context(ca, *names, expired=expired))
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TLS)
        assert result.message.startswith("certificate trusted: expected chain and name valid, got")
        assert why in result.message
        assert not result.transient
        certificate = result.details["tls"]["certificate"]
        assert certificate["sans"] == [f"IP:{n}" if n[0].isdigit() else f"DNS:{n}" for n in names]
        assert (certificate["days_left"] < 0) is expired

    async def test_a_certificate_from_an_unknown_ca_fails(self, ctx: ProbeContext) -> None:
        """A chain to a root the monitor does not trust is refused the same way."""
        result = await probe(ctx, server_context(trustme.CA(), "127.0.0.1"))
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TLS)
        assert "unable to get local issuer certificate" in result.message

    async def test_trusted_false_judges_only_lifetime_and_protocol(self, ctx: ProbeContext) -> None:
        """An internal self-signed service: trust is not asked, expiry still is."""
        tls = server_context(trustme.CA(), "other.example", days=30)
        result = await probe(ctx, tls, expect={"trusted": False})
        assert result.status is Status.PASS, result.message
        assert result.details["tls"]["certificate"]["sans"] == ["DNS:other.example"]


class TestProtocol:
    async def test_an_older_protocol_than_min_version_fails(
        self, ctx: ProbeContext, ca: trustme.CA
    ) -> None:
        """A server that speaks at most TLS 1.2 fails min_version TLSv1.3, naming both."""
        tls = server_context(ca, "127.0.0.1", maximum=ssl.TLSVersion.TLSv1_2)
        result = await probe(ctx, tls, expect={"min_version": "TLSv1.3"})
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TLS)
        assert result.message == "protocol: expected TLSv1.3 or newer, got TLSv1.2"
        passed = await probe(ctx, tls, expect={"min_version": "TLSv1.2"})
        assert passed.status is Status.PASS

    async def test_a_server_that_speaks_no_tls_fails_the_handshake(self, ctx: ProbeContext) -> None:
        """A plain-text greeting where a handshake was due: fail, reason tls, transient."""
        async with LineServer(greeting=b"220 plain text\r\n").serving() as server:
            result = await PROBE.run(spec(server.port), ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.TLS)
        assert result.message.startswith("TLS handshake failed")

    async def test_a_closed_port_fails_as_connect(
        self, ctx: ProbeContext, closed_port: int
    ) -> None:
        """Nothing listening: fail, reason connect, retried like any refused connection."""
        result = await PROBE.run(spec(closed_port), ctx)
        assert (result.status, result.reason) == (Status.FAIL, FailureReason.CONNECT)
        assert result.details["cause"] == "connection"


class TestSpec:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"expect": {"min_version": "SSLv3"}}, "expect.min_version", "'TLSv1.3'"),
            ({"expect": {"days_left": -1}}, "expect.days_left", "greater than or equal to 0"),
            (
                {"expect": {"days_left": 30, "days_left_degraded": 10}},
                "expect",
                "days_left_degraded must be above days_left",
            ),
            ({"host": "https://example.com"}, "host", "bare host name"),
        ],
        ids=["old-protocol", "negative-days", "degraded-below-fail", "url-host"],
    )
    def test_bad_fields_are_refused_naming_the_field(
        self, fields: dict[str, Any], field: str, message: str
    ) -> None:
        """Config errors name the field and say what is wrong."""
        with pytest.raises(ValidationError) as caught:
            spec(443, **fields)
        (error,) = caught.value.errors()
        assert ".".join(str(p) for p in error["loc"]) == field
        assert message in error["msg"]

    def test_defaults_fail_two_weeks_before_expiry_and_verify(self) -> None:
        """Port 443, trusted certificates, 14 days: the defaults a user gets."""
        default = TlsSpec(host="example.com")
        assert (default.port, default.expect.trusted, default.expect.days_left) == (443, True, 14)

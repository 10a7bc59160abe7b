"""The ``dns`` probe: one query to a chosen resolver, judged on its rcode and answers.

The query goes to ``resolver`` (an IP address, optionally ``:port``), or to the first
name server of the system's configuration.  Over ``udp`` a truncated answer is asked
again over TCP; ``tcp`` asks over TCP only.  The module is ``dnsquery`` so it cannot
shadow dnspython's own ``dns`` package.

Verdicts: an answer with another rcode than ``expect.rcode`` fails with reason
``dns``; answers that differ from ``expect.answers`` (exactly, in any order) or lack
one of ``expect.contains`` fail with reason ``content``; no answer in time is
``timeout``.  Expected answers are parsed as records of ``record_type`` at load time,
so ``mail.example.com`` matches ``MAIL.example.com.`` and a typo fails fast.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from probes.assertions import ResponseTime, budget_outcomes, clip
from probes.base import AssertionOutcome, Probe, ProbeContext, ProbeResult, Status, origin_of
from probes.connection import connection_failure, elapsed_ms, netloc, probe_deadline
from probes.lazy import lazy_import
from probes.reasons import FailureReason

_DNS: Final = (
    "asyncquery",
    "exception",
    "flags",
    "message",
    "name",
    "rcode",
    "rdata",
    "rdataclass",
    "rdatatype",
    "resolver",
)
if TYPE_CHECKING:
    import dns.asyncquery
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT
    import dns.resolver

    Record = dns.rdata.Rdata  # for private attributes: pydantic must not resolve it
else:  # dnspython loads when a dns check is validated or runs
    for _module in (*_DNS, "rdtypes.ANY.TXT"):
        lazy_import(f"dns.{_module}")
    import dns

RecordType = Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "CAA", "PTR"]
Rcode = Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"]
_SHOWN_ANSWERS: Final = 5


def parse_resolver(value: str) -> tuple[str, int]:
    """``1.1.1.1``, ``1.1.1.1:5353``, ``::1`` or ``[::1]:5353`` as (address, port)."""
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        address = ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ValueError(
            f"resolver {clip(value)!r} must be an IP address with an optional port "
            "(1.1.1.1, 1.1.1.1:53, [::1]:5353)"
        ) from None
    if not 1 <= number <= 65535:
        raise ValueError(f"resolver port {number} is not between 1 and 65535")
    return str(address), number


def _record(record_type: str, text: str) -> dns.rdata.Rdata:
    """One expected answer as a record; an unquoted TXT value is one string, spaces and all."""
    if record_type == "TXT" and not text.startswith('"'):
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [text.encode()])
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(record_type), text, origin=dns.name.root
    )


class DnsExpect(BaseModel):
    """What the answer must be; ``answers`` and ``contains`` are records of ``record_type``."""

    model_config = ConfigDict(extra="forbid")

    rcode: Rcode = Field("NOERROR", description="the response code the answer must carry")
    answers: list[str] | None = Field(
        None, description="the answer records must be exactly these, in any order"
    )
    contains: list[str] = Field(
        default_factory=list, description="each of these must be among the answer records"
    )
    response_time: ResponseTime | None = Field(
        None, description="a budget for the whole query, in ms"
    )


class DnsSpec(BaseModel):
    """The kind-specific fields of a ``dns`` check."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["dns"] = Field("dns", description="dns")
    query_name: str = Field(min_length=1, description="the DNS name to query")
    record_type: RecordType = Field("A", description="the record type asked for (default A)")
    resolver: str | None = Field(
        None, description="IP[:port] to ask; default: the system's first name server"
    )
    transport: Literal["udp", "tcp"] = Field(
        "udp", description="udp (TCP again when truncated) or tcp"
    )
    expect: DnsExpect = Field(
        default_factory=DnsExpect, description="what the answer and the timings must be"
    )

    _wanted: list[Record] | None = PrivateAttr(default=None)
    _required: list[Record] = PrivateAttr(default_factory=list)

    @field_validator("resolver")
    @classmethod
    def _resolver_is_an_address(cls, value: str | None) -> str | None:
        if value is not None:
            parse_resolver(value)
        return value

    @field_validator("query_name")
    @classmethod
    def _name_parses(cls, value: str) -> str:
        try:
            dns.name.from_text(value)
        except dns.exception.DNSException as exc:
            raise ValueError(f"not a DNS name: {clip(value)!r} ({exc})") from None
        return value

    @model_validator(mode="after")
    def _answers_parse(self) -> DnsSpec:
        if self.expect.answers is not None:
            self._wanted = self._records("answers", self.expect.answers)
        self._required = self._records("contains", self.expect.contains)
        return self

    def _records(self, field: str, values: list[str]) -> list[dns.rdata.Rdata]:
        records = []
        for i, text in enumerate(values):
            try:
                records.append(_record(self.record_type, text))
            except (dns.exception.DNSException, ValueError) as exc:
                raise ValueError(
                    f"expect.{field}[{i}]: {clip(text)!r} is not a {self.record_type} "
                    f"record ({exc})"
                ) from None
        return records

    @property
    def wanted(self) -> list[dns.rdata.Rdata] | None:
        """``expect.answers`` as records (None: not asked)."""
        return self._wanted

    @property
    def required(self) -> list[dns.rdata.Rdata]:
        """``expect.contains`` as records."""
        return self._required


class DnsProbe:
    """One query, its answer judged, and a result."""

    __slots__ = ()
    kind = "dns"
    spec_model = DnsSpec

    async def run(self, spec: DnsSpec, ctx: ProbeContext) -> ProbeResult:
        target = parse_resolver(spec.resolver) if spec.resolver else _system_resolver()
        if target is None:
            return ProbeResult(
                Status.ERROR,
                "no name server in this host's configuration: set the check's resolver",
                reason=FailureReason.CONFIG,
            )
        address, port = target
        await ctx.gate.acquire(origin_of(f"dns://{netloc(address, port)}"))
        query = dns.message.make_query(spec.query_name, spec.record_type)
        timeout_s = probe_deadline(ctx.deadline_s)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                if spec.transport == "tcp":
                    answer = await dns.asyncquery.tcp(query, address, port=port)
                else:
                    answer, _ = await dns.asyncquery.udp_with_fallback(query, address, port=port)
        except (OSError, dns.exception.Timeout) as exc:
            timings["total"] = elapsed_ms(t0)
            failure = exc if isinstance(exc, OSError) else TimeoutError(str(exc))
            return connection_failure(failure, timings, doing="querying", timeout_s=timeout_s)
        except dns.exception.DNSException as exc:
            timings["total"] = elapsed_ms(t0)
            return ProbeResult(
                Status.FAIL,
                f"malformed DNS answer: {clip(str(exc) or type(exc).__name__)}",
                timings=timings,
                reason=FailureReason.DNS,
            )
        timings["total"] = elapsed_ms(t0)
        return _judge(spec, answer, timings, f"{netloc(address, port)}")


def _system_resolver() -> tuple[str, int] | None:
    """The first name server of /etc/resolv.conf (or the platform's equivalent)."""
    try:
        first = dns.resolver.Resolver().nameservers[0]
    except (dns.exception.DNSException, IndexError, OSError):
        return None
    return (first, 53) if isinstance(first, str) else None


def _judge(
    spec: DnsSpec, answer: dns.message.Message, timings: dict[str, float], resolver: str
) -> ProbeResult:
    expect = spec.expect
    rcode = dns.rcode.to_text(answer.rcode())
    wanted_type = dns.rdatatype.from_text(spec.record_type)
    records = [rd for rrset in answer.answer if rrset.rdtype == wanted_type for rd in rrset]
    shown = [rd.to_text() for rd in records]
    outcomes = [
        AssertionOutcome(
            "rcode", rcode == expect.rcode, expect.rcode, rcode, reason=FailureReason.DNS
        )
    ]
    if spec.wanted is not None:
        passed = sorted(map(_key, records)) == sorted(map(_key, spec.wanted))
        outcomes.append(
            AssertionOutcome(
                "answers",
                passed,
                _listed(expect.answers or []),
                _listed(shown),
                reason=FailureReason.CONTENT,
            )
        )
    have = set(map(_key, records))
    for text, record in zip(expect.contains, spec.required, strict=True):
        outcomes.append(
            AssertionOutcome(
                f"answers contain {clip(text)}",
                _key(record) in have,
                "present",
                _listed(shown),
                reason=FailureReason.CONTENT,
            )
        )
    outcomes.extend(budget_outcomes(expect.response_time, timings["total"]))
    details: dict[str, object] = {
        "resolver": resolver,
        "rcode": rcode,
        "answers": shown,
        "authoritative": bool(answer.flags & dns.flags.AA),
        "records": [line for rrset in answer.answer for line in rrset.to_text().splitlines()],
    }
    if records:
        details["ttl"] = min(rrset.ttl for rrset in answer.answer if rrset.rdtype == wanted_type)
    return ProbeResult.from_assertions(outcomes, timings=timings, details=details)


def _key(record: dns.rdata.Rdata) -> bytes:
    """A record's canonical wire form: names compare case-insensitively, as DNS does."""
    return record.to_digestable(dns.name.root)


def _listed(values: list[str]) -> str:
    if not values:
        return "no records"
    more = f" (+{len(values) - _SHOWN_ANSWERS} more)" if len(values) > _SHOWN_ANSWERS else ""
    return clip(", ".join(values[:_SHOWN_ANSWERS])) + more


PROBE: Final[Probe[DnsSpec]] = DnsProbe()

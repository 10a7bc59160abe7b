"""A TLS peer's certificate and session, as evidence: subject, issuer, SANs, notAfter.

Python's :mod:`ssl` decodes a certificate only when it was verified; an expired or
wrong-host certificate is exactly the one worth showing, so the DER bytes are
decoded here with ``cryptography`` whether or not verification passed.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Literal

from probes.lazy import lazy_import

if TYPE_CHECKING:
    from cryptography import x509
else:
    x509 = lazy_import("cryptography.x509")  # loads when a certificate is read

TlsVersionName = Literal["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
_RANK: Final = {name: i for i, name in enumerate(("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"))}
_SECONDS_PER_DAY: Final = 86400.0


def version_at_least(negotiated: str | None, minimum: str) -> bool:
    """Whether the session's protocol (``ssl`` spelling, ``TLSv1.2``) is ``minimum`` or newer."""
    return negotiated in _RANK and _RANK[negotiated] >= _RANK[minimum]


@dataclass(frozen=True, slots=True)
class Certificate:
    """The leaf certificate a server presented."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sans: tuple[str, ...]

    def days_left(self, now: datetime | None = None) -> float:
        """Days until ``not_after`` (negative once expired), to 0.01."""
        seconds = (self.not_after - (now or datetime.now(UTC))).total_seconds()
        return round(seconds / _SECONDS_PER_DAY, 2)

    def details(self, now: datetime | None = None) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "sans": list(self.sans),
            "days_left": self.days_left(now),
        }


def read_certificate(der: bytes) -> Certificate:
    """Decode a DER certificate; ``ValueError`` if it cannot be read."""
    cert = x509.load_der_x509_certificate(der)
    try:
        extension = cert.extensions.get_extension_for_oid(
            x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        )
    except x509.ExtensionNotFound:
        sans: tuple[str, ...] = ()
    else:
        names = extension.value
        assert isinstance(names, x509.SubjectAlternativeName)  # noqa: S101 -- the OID says so
        sans = tuple(
            [f"DNS:{n}" for n in names.get_values_for_type(x509.DNSName)]
            + [f"IP:{n}" for n in names.get_values_for_type(x509.IPAddress)]
        )
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sans=sans,
    )


@dataclass(frozen=True, slots=True)
class Session:
    """What a finished TLS handshake shows: protocol, cipher and the leaf certificate."""

    protocol: str | None
    cipher: str | None
    certificate: Certificate | None

    @classmethod
    def of(cls, tls: ssl.SSLObject) -> Session:
        der = tls.getpeercert(binary_form=True)
        try:
            certificate = read_certificate(der) if der else None
        except ValueError:
            certificate = None
        cipher = tls.cipher()
        return cls(tls.version(), cipher[0] if cipher else None, certificate)

    def details(self) -> dict[str, object]:
        """The ``details["tls"]`` of a result, plus ``tls_days_left`` as the http probe has."""
        out: dict[str, object] = {"protocol": self.protocol, "cipher": self.cipher}
        if self.certificate is not None:
            out["certificate"] = self.certificate.details()
        return out


def verifying_context(shared: ssl.SSLContext | None) -> ssl.SSLContext:
    """The shared verifying context, or the system default when none is handed in."""
    return shared if shared is not None else ssl.create_default_context()


def inspecting_context() -> ssl.SSLContext:
    """A context that completes any handshake it can, to read a certificate verification refused.

    Never used to decide trust: only to fetch evidence after a verifying handshake failed.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context

"""ACME Renewal Information (RFC 9773): the CertID of a certificate and its suggested renewal window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from certwright.acme.jws import b64url, b64url_decode
from certwright.acme.problems import AcmeProblem, malformed

# How long a client waits before asking again (the Retry-After of renewalInfo).
RETRY_AFTER = timedelta(hours=6)


def serial_bytes(serial: int) -> bytes:
    """The DER content octets of a positive INTEGER: big-endian, with a leading zero when the high bit is set."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big")


def cert_id(certificate: x509.Certificate) -> str:
    """base64url(authorityKeyIdentifier.keyIdentifier) "." base64url(serial DER content)."""
    try:
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound as err:
        raise AcmeProblem("malformed", "the certificate has no authority key identifier") from err
    if aki.key_identifier is None:
        raise AcmeProblem("malformed", "the certificate's authority key identifier has no key identifier")
    return f"{b64url(aki.key_identifier)}.{b64url(serial_bytes(certificate.serial_number))}"


@dataclass(frozen=True)
class CertId:
    key_identifier: bytes
    serial: int

    @classmethod
    def parse(cls, text: str) -> CertId:
        parts = text.split(".")
        if len(parts) != 2 or not all(parts):
            raise malformed("a renewalInfo CertID is base64url(AKI).base64url(serial)")
        aki = b64url_decode(parts[0], "the CertID's key identifier")
        serial = b64url_decode(parts[1], "the CertID's serial")
        if not aki or not serial or serial[0] & 0x80:
            raise malformed("the CertID's serial is not a positive DER integer")
        return cls(aki, int.from_bytes(serial, "big"))

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def suggested_window(not_before: datetime, not_after: datetime, now: datetime, *, renew_now: bool) -> Window:
    """The window a client should renew in: the second half of the last third of the lifetime, or — for a
    revoked or superseded certificate — a window already behind `now`, so the client renews at once."""
    if renew_now:
        return Window(now - timedelta(hours=2), now - timedelta(hours=1))
    lifetime = not_after - not_before
    return Window(not_before + lifetime * 2 / 3, not_before + lifetime * 5 / 6)

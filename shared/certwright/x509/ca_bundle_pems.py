"""CA certificates for trust bundles: strict PEM parsing, CA powers required, nothing expired."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certwright.domain.ca_bundle import MAX_CERTIFICATES, PEM_SOURCE, TrustedCertificate, fingerprint
from certwright.errors import InvalidInputError
from certwright.x509.pem import der_blocks

_PARSE_LIMIT = 1000


def trusted_certificates(
    text: str, *, field: str, now: datetime, source: str = PEM_SOURCE
) -> tuple[TrustedCertificate, ...]:
    """Every certificate in `text`, each a CA certificate (cA=true, keyCertSign) that has not expired at `now`."""
    try:
        # The request size already bounds the work; counting here gives "too many" its own code.
        blocks = der_blocks(text, {"CERTIFICATE"}, field=field, max_blocks=_PARSE_LIMIT)
    except InvalidInputError as err:
        raise InvalidInputError(err.message, code="InvalidCaBundlePem") from err
    if len(blocks) > MAX_CERTIFICATES:
        raise InvalidInputError(
            f"{field} holds {len(blocks)} certificates; at most {MAX_CERTIFICATES}", code="TooManyCertificates"
        )
    return tuple(_trusted(der, f"{field} certificate {i + 1}", now, source) for i, der in enumerate(blocks))


def trusted_certificate(pem: str, *, field: str, now: datetime, source: str) -> TrustedCertificate:
    """One certificate of a CA this service holds (its own or a chain member), checked like a given one."""
    (certificate,) = trusted_certificates(pem, field=field, now=now, source=source)
    return certificate


def _trusted(der: bytes, label: str, now: datetime, source: str) -> TrustedCertificate:
    try:
        certificate = x509.load_der_x509_certificate(der)
        subject = certificate.subject.rfc4514_string()
    except ValueError as err:
        raise InvalidInputError(f"{label} is not an X.509 certificate", code="InvalidCaBundlePem") from err
    if not _has_ca_powers(certificate):
        raise InvalidInputError(
            f"{label} ({subject}) is not a CA certificate (needs basicConstraints cA=true and keyCertSign)",
            code="NotACaCertificate",
        )
    if certificate.not_valid_after_utc < now:
        raise InvalidInputError(
            f"{label} ({subject}) expired {certificate.not_valid_after_utc.isoformat()}", code="CaCertificateExpired"
        )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return TrustedCertificate(pem, fingerprint(der), subject, certificate.not_valid_after_utc, source)


def _has_ca_powers(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    except ValueError:
        return False  # a malformed extension is no proof of CA powers
    return bool(constraints.ca and usage.key_cert_sign)

"""External roots: the checks an imported root certificate (a trust anchor with no key here) must pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from certwright.domain.authority import Validity
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject, check_text
from certwright.errors import InvalidInputError
from certwright.x509.imported import load_certificates
from certwright.x509.keys import key_algorithm_of

_MAX_TEXT = 1024


@dataclass(frozen=True)
class CheckedRoot:
    pem: str
    serial_number: str
    validity: Validity
    subject: Subject
    key_algorithm: KeyAlgorithm
    path_length: int | None


def check_external_root(certificate_pem: str, now: datetime, *, field: str = "certificatePem") -> CheckedRoot:
    """The root in `certificate_pem`, refused (InvalidInputError with a stable code) unless it is self-signed and
    its signature verifies, carries basicConstraints CA=TRUE marked critical and keyCertSign, holds an
    acceptable key (RSA 2048-4096 with e=65537, P-256, P-384) and is within its validity at `now`."""
    (root,) = load_certificates(certificate_pem, field=field, max_blocks=1)
    if root.issuer != root.subject:
        raise InvalidInputError(f"{field} is not self-signed (its issuer is not its subject)", code="NotSelfSigned")
    try:
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as err:
        raise InvalidInputError(f"{field}: its self-signature does not verify", code="NotSelfSigned") from err
    path_length = ensure_ca_certificate(root, field)
    algorithm = key_algorithm_of(public_key_of(root, field), field=field)
    if not root.not_valid_before_utc <= now <= root.not_valid_after_utc:
        raise InvalidInputError(f"{field} is expired or not yet valid", code="CertificateExpired")
    return CheckedRoot(
        pem=root.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        serial_number=f"{root.serial_number:x}",
        validity=Validity(root.not_valid_before_utc, root.not_valid_after_utc),
        subject=imported_subject(root, field),
        key_algorithm=algorithm,
        path_length=path_length,
    )


def public_key_of(certificate: x509.Certificate, field: str) -> PublicKeyTypes:
    try:
        return certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as err:
        raise InvalidInputError(
            f"{field}: its public key is not one Certwright can use", code="UnsupportedKey"
        ) from err


def ensure_ca_certificate(certificate: x509.Certificate, field: str) -> int | None:
    """Its path length; refuses (NotACertificateAuthority) a certificate without a critical basicConstraints
    CA=TRUE or without keyCertSign in a keyUsage extension."""
    try:
        certificate.extensions  # noqa: B018 - parsed here so a malformed extension is the caller's 400
    except ValueError as err:
        raise InvalidInputError(f"{field} has malformed extensions", code="InvalidCertificate") from err
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound as err:
        raise InvalidInputError(f"{field} has no basicConstraints: not a CA", code="NotACertificateAuthority") from err
    if not constraints.value.ca or not constraints.critical:
        raise InvalidInputError(
            f"{field}: basicConstraints must say CA=TRUE and be critical", code="NotACertificateAuthority"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as err:
        raise InvalidInputError(f"{field} has no keyUsage: not a CA", code="NotACertificateAuthority") from err
    if not usage.key_cert_sign:
        raise InvalidInputError(f"{field}: keyUsage lacks keyCertSign", code="NotACertificateAuthority")
    return constraints.value.path_length


def imported_subject(certificate: x509.Certificate, field: str) -> Subject:
    """The subject's attributes Certwright models, checked as printable text (shown in consoles and logs)."""

    def attribute(oid: x509.ObjectIdentifier) -> str | None:
        values = certificate.subject.get_attributes_for_oid(oid)
        if not values:
            return None
        text = str(values[0].value)
        check_text(text, f"{field} subject", _MAX_TEXT)
        return text

    common_name = attribute(NameOID.COMMON_NAME) or certificate.subject.rfc4514_string() or "(no subject)"
    check_text(common_name, f"{field} subject", _MAX_TEXT)
    return Subject(
        common_name=common_name,
        organization=attribute(NameOID.ORGANIZATION_NAME),
        organizational_unit=attribute(NameOID.ORGANIZATIONAL_UNIT_NAME),
        country=attribute(NameOID.COUNTRY_NAME),
        state_or_province=attribute(NameOID.STATE_OR_PROVINCE_NAME),
        locality=attribute(NameOID.LOCALITY_NAME),
    )

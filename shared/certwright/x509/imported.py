"""Imported certificates: the key must match, the chain must link, and nothing may be expired."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName, check_text, check_wildcard
from certwright.errors import InvalidInputError
from certwright.x509.keys import key_algorithm_of, public_key_der
from certwright.x509.pem import der_blocks

MAX_CHAIN = 8
_MAX_IMPORTED_TEXT = 1024
_PRIVATE_KEY_LABELS = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"}
# PKCS#8 "ENCRYPTED PRIVATE KEY" blocks, and OpenSSL's legacy "Proc-Type: 4,ENCRYPTED" header.
_ENCRYPTED_KEY = re.compile(r"-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,\s*ENCRYPTED", re.MULTILINE)


@dataclass(frozen=True)
class CheckedImport:
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    private_key_der: bytes
    key_algorithm: KeyAlgorithm
    subject: Subject
    sans: tuple[SubjectAlternativeName, ...]


def load_certificates(pem: str, *, field: str, max_blocks: int) -> list[x509.Certificate]:
    certificates = []
    for der in der_blocks(pem, {"CERTIFICATE"}, field=field, max_blocks=max_blocks):
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError as err:
            raise InvalidInputError(f"{field} holds something that is not an X.509 certificate") from err
    return certificates


def check_import(certificate_pem: str, chain_pem: str, private_key_pem: str, now: datetime) -> CheckedImport:
    (leaf,) = load_certificates(certificate_pem, field="certificatePem", max_blocks=1)
    chain = load_certificates(chain_pem, field="certChainPem", max_blocks=MAX_CHAIN)
    key = _load_private_key(private_key_pem)
    algorithm = key_algorithm_of(leaf.public_key(), field="certificatePem")
    if public_key_der(key.public_key()) != public_key_der(leaf.public_key()):
        raise InvalidInputError("privateKeyPem does not match the certificate's public key", code="KeyMismatch")
    if _is_ca(leaf):
        raise InvalidInputError("certificatePem is a CA certificate; import CAs as CA bundles", code="InvalidImport")
    for position, (child, parent) in enumerate(zip([leaf, *chain], chain, strict=False)):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature) as err:
            raise InvalidInputError(
                f"certChainPem does not link: certificate {position + 1} of the chain did not issue the one before it",
                code="ChainDoesNotLink",
            ) from err
        if not _is_ca(parent):
            raise InvalidInputError(f"certChainPem certificate {position + 1} is not a CA", code="ChainDoesNotLink")
    for label, cert in [("certificatePem", leaf)] + [(f"certChainPem[{i}]", c) for i, c in enumerate(chain)]:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise InvalidInputError(f"{label} is expired or not yet valid", code="CertificateExpired")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return CheckedImport(leaf, tuple(chain), der, algorithm, _subject(leaf), _sans(leaf))


def _load_private_key(pem: str) -> PrivateKeyTypes:
    if _ENCRYPTED_KEY.search(pem):
        raise InvalidInputError(
            "privateKeyPem is encrypted; send it unencrypted (Certwright seals it with KMS)", code="InvalidPrivateKey"
        )
    der_blocks(pem, _PRIVATE_KEY_LABELS, field="privateKeyPem")
    try:
        return serialization.load_pem_private_key(pem.strip().encode("ascii"), password=None)
    except (ValueError, TypeError) as err:
        raise InvalidInputError("privateKeyPem is not an unencrypted private key", code="InvalidPrivateKey") from err


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _subject(cert: x509.Certificate) -> Subject:
    # Imported names are stored, listed and logged like our own: no control or invisible characters.
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else cert.subject.rfc4514_string() or "(no subject)"
    check_text(common_name, "certificatePem subject commonName", _MAX_IMPORTED_TEXT)
    organizations = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organization = str(organizations[0].value) if organizations else None
    if organization is not None:
        check_text(organization, "certificatePem subject organization", _MAX_IMPORTED_TEXT)
    return Subject(common_name=common_name, organization=organization)


def _sans(cert: x509.Certificate) -> tuple[SubjectAlternativeName, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    for name in ext.get_values_for_type(x509.DNSName):
        check_text(name, "certificatePem DNS name", _MAX_IMPORTED_TEXT)
        # A wildcard nobody may request (`*`, `*.com`, `a.*.example`) is not imported either.
        check_wildcard(name.lower(), field="certificatePem DNS name")
    dns = [SubjectAlternativeName(SanType.DNS, n) for n in ext.get_values_for_type(x509.DNSName)]
    ips = [SubjectAlternativeName(SanType.IP, str(a)) for a in ext.get_values_for_type(x509.IPAddress)]
    uris = [SubjectAlternativeName(SanType.URI, u) for u in ext.get_values_for_type(x509.UniformResourceIdentifier)]
    emails = [SubjectAlternativeName(SanType.EMAIL, e) for e in ext.get_values_for_type(x509.RFC822Name)]
    for other in uris + emails:
        check_text(other.value, f"certificatePem {other.type.value} name", _MAX_IMPORTED_TEXT)
    return tuple(dns + ips + uris + emails)

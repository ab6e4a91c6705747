"""Subordinates issued by an outside CA: the CSR signed with the KMS key, and the checks of the certificate and
chain the outside CA sends back (key, CA-ness, subject, links to the trust anchor, path length, validity)."""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

from certwright.domain.authority import NameConstraint, Validity
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject
from certwright.errors import InvalidInputError, PolicyViolationError
from certwright.x509.builder import to_name
from certwright.x509.external_root import ensure_ca_certificate, public_key_of
from certwright.x509.imported import MAX_CHAIN, load_certificates
from certwright.x509.keys import hash_for, public_key_der


def build_csr(subject: Subject, key: CertificateIssuerPrivateKeyTypes, algorithm: KeyAlgorithm) -> str:
    """A PKCS#10 request for a CA certificate of `subject`, signed with `key` (KMS: the key never leaves it)."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(to_name(subject))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hash_for(algorithm))  # type: ignore[arg-type]
    )
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class CheckedSubordinate:
    pem: str
    serial_number: str
    validity: Validity
    # Issuer first, the trust anchor last (PEM).
    chain_pems: tuple[str, ...]
    # What this CA may still have below it: the tightest of its own and its chain's path lengths.
    path_length: int | None
    # Every name constraint of the path (the anchor's, the intermediates', its own), as leaves must satisfy them.
    constraints: tuple[NameConstraint, ...]


def check_issued_subordinate(
    *,
    certificate_pem: str,
    chain_pem: str,
    csr_pem: str,
    public_key: PublicKeyTypes,
    anchors: tuple[str, ...],
    now: datetime,
) -> CheckedSubordinate:
    """The certificate an outside CA issued for `csr_pem`, checked against the KMS `public_key` and the trust
    anchor (any certificate in `anchors`, the external root's versions); each failure has its own code."""
    (certificate,) = load_certificates(certificate_pem, field="certificatePem", max_blocks=1)
    chain = load_certificates(chain_pem, field="chainPem", max_blocks=MAX_CHAIN) if chain_pem.strip() else []
    if public_key_der(public_key_of(certificate, "certificatePem")) != public_key_der(public_key):
        raise InvalidInputError("certificatePem does not certify this CA's KMS key", code="KeyMismatch")
    ensure_ca_certificate(certificate, "certificatePem")
    requested = x509.load_pem_x509_csr(csr_pem.encode())
    if certificate.subject.public_bytes() != requested.subject.public_bytes():
        raise InvalidInputError(
            f"certificatePem names {certificate.subject.rfc4514_string()}, not the requested subject "
            f"{requested.subject.rfc4514_string()}",
            code="SubjectMismatch",
        )
    anchor_certs = [x509.load_pem_x509_certificate(p.encode()) for p in anchors]
    anchor_ders = {a.public_bytes(serialization.Encoding.DER) for a in anchor_certs}
    if chain and chain[-1].public_bytes(serialization.Encoding.DER) not in anchor_ders:
        # The anchor may be left out of chainPem; then the last certificate given must be issued by it.
        chain = [*chain, *_anchor_for(chain[-1], anchor_certs)]
    elif not chain:
        chain = _anchor_for(certificate, anchor_certs)
    path = [certificate, *chain]
    for position, (child, parent) in enumerate(itertools.pairwise(path)):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as err:
            raise InvalidInputError(
                f"chainPem does not link: certificate {position + 1} of the chain did not sign the one before it",
                code="ChainDoesNotLink",
            ) from err
        ensure_ca_certificate(parent, f"chainPem certificate {position + 1}")
    for label, cert in [("certificatePem", certificate)] + [(f"chainPem[{i}]", c) for i, c in enumerate(chain)]:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise InvalidInputError(f"{label} is expired or not yet valid", code="CertificateExpired")
    for child, parent in itertools.pairwise(path):
        if child.not_valid_after_utc > parent.not_valid_after_utc:
            raise PolicyViolationError(
                "certificatePem (or a chain certificate) outlives the CA that issued it", code="ValidityExceedsIssuer"
            )
    remaining = _path_length(path)
    constraints = tuple(c for c in (_constraint(cert) for cert in reversed(path)) if not c.is_empty)
    return CheckedSubordinate(
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        serial_number=f"{certificate.serial_number:x}",
        validity=Validity(certificate.not_valid_before_utc, certificate.not_valid_after_utc),
        chain_pems=tuple(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain),
        path_length=remaining,
        constraints=constraints,
    )


def _anchor_for(certificate: x509.Certificate, anchors: list[x509.Certificate]) -> list[x509.Certificate]:
    for anchor in anchors:
        if anchor.subject == certificate.issuer:
            return [anchor]
    raise InvalidInputError(
        "chainPem does not end at the external root given as parentCertificateAuthorityId", code="ChainDoesNotLink"
    )


def _path_length(path: list[x509.Certificate]) -> int | None:
    """RFC 5280 6.1.4 (l, m), walked from the anchor (path[-1]) down to this CA (path[0]): every CA certificate
    below the anchor uses up one of the path length left; what remains bounds the CAs this CA may sign."""
    remaining: int | None = None
    anchor = len(path) - 1
    for k in range(anchor, -1, -1):
        if k < anchor and remaining is not None:
            if remaining == 0:
                raise PolicyViolationError(
                    f"a pathLenConstraint above it allows no CA at depth {anchor - k} below the root",
                    code="PathLengthExceeded",
                )
            remaining -= 1
        limit = ensure_ca_certificate(path[k], "chainPem")
        if limit is not None:
            remaining = limit if remaining is None else min(remaining, limit)
    return remaining


def _constraint(certificate: x509.Certificate) -> NameConstraint:
    try:
        value = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return NameConstraint()

    def split(names: list[x509.GeneralName] | None) -> tuple[list[str], list[str]]:
        dns: list[str] = []
        ips: list[str] = []
        for name in names or []:
            if isinstance(name, x509.DNSName):
                dns.append(name.value.lstrip("."))
            elif isinstance(name, x509.IPAddress) and isinstance(
                name.value, ipaddress.IPv4Network | ipaddress.IPv6Network
            ):
                ips.append(str(name.value))
            else:
                raise InvalidInputError(
                    f"name constraints of type {type(name).__name__} are not supported",
                    code="UnsupportedNameConstraint",
                )
        return dns, ips

    permitted_dns, permitted_ip = split(value.permitted_subtrees)
    excluded_dns, excluded_ip = split(value.excluded_subtrees)
    return NameConstraint.parse(
        permitted_dns=permitted_dns, excluded_dns=excluded_dns, permitted_ip=permitted_ip, excluded_ip=excluded_ip
    )

"""Checks a bundle must pass before it is put in front of clients: full chain, matching key, valid now, names."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from certwright.domain.association import name_covers
from certwright.x509.keys import public_key_der


def deployment_problems(
    certificate_pem: str, chain_pem: str, private_key_pem: str, now: datetime, hostnames: tuple[str, ...]
) -> list[str]:
    """Everything wrong with serving this bundle; empty when it is safe to deploy."""
    problems: list[str] = []
    leaf = x509.load_pem_x509_certificate(certificate_pem.encode())
    chain = x509.load_pem_x509_certificates(chain_pem.encode()) if chain_pem.strip() else []
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if public_key_der(key.public_key()) != public_key_der(leaf.public_key()):
        problems.append("the private key does not match the certificate")
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        problems.append(f"the certificate is not valid now (notAfter {leaf.not_valid_after_utc.isoformat()})")
    for child, parent in zip([leaf, *chain], chain, strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            problems.append(f"the chain does not link at {child.subject.rfc4514_string()}")
            break
    if not chain or chain[-1].issuer != chain[-1].subject:
        problems.append("the chain does not end at a root (incomplete chain)")
    for cert in chain:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            problems.append(f"chain certificate {cert.subject.rfc4514_string()} is not valid now")
    names = _dns_names(leaf)
    for hostname in hostnames:
        if not any(name_covers(name, hostname) for name in names):
            problems.append(f"the certificate does not cover {hostname}")
    return problems


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        return list(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        )
    except x509.ExtensionNotFound:
        return []

"""Build and sign one CRL (of a CA, or of one partition of it) from the whole list of revoked entries; pure.

The builder receives every entry at once: cryptography's builder is immutable, so adding entries one by
one copies the list each time (quadratic); here the list is handed over in a single call. The issuer name
is the CA certificate's subject as parsed (cryptography re-encodes it with the same string types, so the
DER is byte-equal), the AKI is the CA's SKI, and one private-key call signs it (one KMS Sign in production).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from certwright.domain.certificate import RevocationReason
from certwright.domain.revocation import CrlPolicy, RevokedEntry
from certwright.x509.builder import Issuer
from certwright.x509.keys import signature_parameters

_REASON_FLAGS = {
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}


@dataclass(frozen=True)
class CrlRequest:
    """What one CRL says: its number, its time window, its entries, and (for a partition) its scope URL."""

    crl_number: int
    this_update: datetime
    entries: Sequence[RevokedEntry]
    policy: CrlPolicy
    # Set when the CA's entries are split into partitions: the partition's URL, the very string its
    # certificates carry as their CRL distribution point. The CRL then carries a critical IDP naming it.
    partition_url: str | None = None


def revoked_certificate(entry: RevokedEntry) -> x509.RevokedCertificate:
    builder = (
        x509.RevokedCertificateBuilder().serial_number(int(entry.serial_number, 16)).revocation_date(entry.revoked_at)
    )
    flag = _REASON_FLAGS.get(entry.reason)
    # RFC 5280 5.3.1: the reasonCode extension should be absent rather than say "unspecified".
    if flag is not None:
        builder = builder.add_extension(x509.CRLReason(flag), critical=False)
    return builder.build()


def build_crl(issuer: Issuer, request: CrlRequest) -> x509.CertificateRevocationList:
    """The signed CRL; `issuer.key` signs it exactly once."""
    if request.crl_number < 1:
        raise ValueError("CRL numbers start at 1")
    revoked = [revoked_certificate(entry) for entry in request.entries]
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=issuer.name,
        last_update=request.this_update,
        next_update=request.policy.next_update(request.this_update),
        revoked_certificates=revoked,
    )
    builder = builder.add_extension(x509.CRLNumber(request.crl_number), critical=False)
    if issuer.key_identifier is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer.key_identifier, None, None), critical=False)
    if request.partition_url is not None:
        builder = builder.add_extension(partition_scope(request.partition_url), critical=True)
    digest, rsa_padding = signature_parameters(issuer.key_algorithm, issuer.signing_algorithm)
    return builder.sign(issuer.key, digest, rsa_padding=rsa_padding)


def partition_scope(url: str) -> x509.IssuingDistributionPoint:
    return x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )

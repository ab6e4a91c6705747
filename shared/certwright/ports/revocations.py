"""The revocation-ledger port: revoked serials per issuer, compromised keys and the issuance counters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CertificateAuthority
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.revocation import RevokedEntry


class RevocationStore(Protocol):
    """The ledger the CRLs are built from. Every method raises TransientError when the store throttles and
    DependencyError when it fails otherwise."""

    def next_issuance_index(self, ca_id: str) -> int:
        """Count one more certificate issued by `ca_id` (atomic, never conflicts); returns the new count (1, 2, ...)."""
        ...

    def revoke_certificate_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        entry: RevokedEntry,
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> Certificate:
        """Revoke one version: the version, the certificate, the issuer's revoked entry, the compromised key
        (first report kept) and the audit, at once; returns the certificate one row version on.

        Raises ConflictError(AlreadyRevoked) if the version is already revoked, ConflictError
        (ConcurrentModification) if it vanished, the certificate changed or the serial is already listed."""
        ...

    def revoke_authority_version(
        self,
        ca: CertificateAuthority,
        entries: Sequence[RevokedEntry],
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> CertificateAuthority:
        """Revoke the CA versions named in `entries` with the CA row, the issuer's entries and the audit, at
        once; returns the CA one row version on.

        Raises ConflictError(ConcurrentModification) if a named version vanished, the CA changed or a serial
        is already listed."""
        ...

    def revoked_entries(self, ca_id: str) -> list[RevokedEntry]:
        """Every serial `ca_id` has revoked (the whole list, for a CRL built at once), by serial."""
        ...

    def key_compromised(self, fingerprint: str) -> bool:
        """Whether a key with this SPKI SHA-256 fingerprint was revoked for keyCompromise."""
        ...


class RevocationSource(Protocol):
    """The part of the ledger a CRL publisher reads."""

    def revoked_entries(self, ca_id: str) -> list[RevokedEntry]:
        """Every serial `ca_id` has revoked."""
        ...

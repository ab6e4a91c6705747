"""The certificates port: certificates, their versions, sealed private keys and idempotent reservations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from certwright.domain.audit import AuditRecord
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.inventory import InventoryQuery
from certwright.domain.stages import Stage
from certwright.ports.common import Page, Reservation, SerialClaim


class CertificateStore(Protocol):
    """Certificates and versions, version-guarded like AuthorityStore: a write of a certificate read at row
    version n succeeds only while it is still at n (new: while absent), else ConflictError(ConcurrentModification),
    and nothing of the write is kept. Every method raises TransientError when the store throttles and
    DependencyError when it fails otherwise.
    """

    def begin_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        claim: SerialClaim | None,
        *,
        is_new_certificate: bool,
        reservation: Reservation | None = None,
    ) -> Certificate:
        """Reserve `version` (in flight, no stages yet) with the certificate row, the serial claim and the
        idempotent reservation, at once; returns the certificate one row version on.

        Raises ConflictError(ConcurrentModification) if the certificate changed (or exists, when new), the
        version number is taken, the serial is claimed or the reservation changed; ConflictError(IssuerChanged)
        if the claim names an issuer row version and the issuer's row has moved on (nothing is written)."""
        ...

    def get_reservation(self, token: str) -> Reservation | None:
        """What the idempotent request `token` reserved (even if that reservation has expired), or None."""
        ...

    def complete_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        sealed_key: bytes | None,
        audit: AuditRecord,
    ) -> Certificate:
        """Publish a reserved version: its data and sealed key, the other versions' new stages, the certificate
        and the audit, at once; returns the certificate one row version on.

        Raises ConflictError(ConcurrentModification) if the certificate changed or a version named in
        `stage_changes` is missing."""
        ...

    def fail_version(
        self,
        certificate: Certificate,
        version_number: int,
        reason: str,
        *,
        audit: AuditRecord | None = None,
        failed_certificate: Certificate | None = None,
    ) -> None:
        """Mark a reserved version FAILED (with `failed_certificate` first, the audit after); an unknown version
        is no error.

        Raises ConflictError(ConcurrentModification) if the version was published meanwhile (it has stages)."""
        ...

    def change_stages(
        self, certificate: Certificate, stage_changes: Mapping[int, frozenset[Stage]], audit: AuditRecord
    ) -> Certificate:
        """Move stages between versions with the certificate and the audit, at once; returns it one row version
        on. Raises ConflictError(ConcurrentModification) if it changed or a named version is missing."""
        ...

    def save_certificate(
        self, certificate: Certificate, audit: AuditRecord, *, require_no_associations: bool = False
    ) -> Certificate:
        """Overwrite the certificate with its audit record; returns it one row version on.

        Raises ConflictError(CertificateInUse) if `require_no_associations` and it has associations,
        ConflictError(ConcurrentModification) if it changed since it was read."""
        ...

    def get_certificate(self, certificate_id: str) -> Certificate | None:
        """The certificate (strongly consistent read), or None."""
        ...

    def list_certificates(self, limit: int, token: str | None) -> Page[Certificate]:
        """At most `limit` certificates, oldest first, from `token` on.

        Raises InvalidInputError(InvalidPageToken) for a token this listing did not hand out."""
        ...

    def search_certificates(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[Certificate], bool]
    ) -> Page[Certificate]:
        """At most `limit` certificates that `certwright.domain.inventory.matches` the query and `accept` takes,
        in the query's order, from `token` on; never a DELETED one. serialNumber is not this method's filter.

        Served by indexes; a page may stop short of `limit` (with a token) after reading
        `inventory.read_budget(limit)` index entries. Raises InvalidInputError(InvalidPageToken) for a token
        this very query (listing, filters and order) did not hand out."""
        ...

    def list_versions(self, certificate_id: str) -> list[CertificateVersion]:
        """Every version of the certificate, by version number (empty for an unknown one)."""
        ...

    def get_version(self, certificate_id: str, version_number: int) -> CertificateVersion | None:
        """One version, or None."""
        ...

    def get_sealed_key(self, certificate_id: str, version_number: int) -> bytes | None:
        """The version's sealed private key, or None (no such version, imported without key, key destroyed)."""
        ...

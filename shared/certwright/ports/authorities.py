"""The authorities port: certificate authorities, their versions and the serial numbers they claim."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CaVersion, CertificateAuthority
from certwright.domain.certificate import Certificate
from certwright.domain.inventory import InventoryQuery
from certwright.ports.common import Page, SerialClaim


class AuthorityStore(Protocol):
    """Certificate authorities, version-guarded: a write of a CA read at row version n succeeds only while the
    stored CA is still at n (a new CA: only while there is none), else ConflictError(ConcurrentModification).
    Every method raises TransientError when the store throttles and DependencyError when it fails otherwise.
    """

    def begin_authority(self, ca: CertificateAuthority, claim: SerialClaim) -> CertificateAuthority:
        """Write a new (CREATING) CA and claim its serial, at once; returns `ca` at row version 1.

        Raises ConflictError(ConcurrentModification) if the CA exists or the serial is already claimed."""
        ...

    def complete_authority(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        """Activate `ca` with its current (first) version and the audit record; returns it one row version on.

        Raises DependencyError if `ca` has no current version, ConflictError(ConcurrentModification) if it
        changed since it was read."""
        ...

    def save_authority(self, ca: CertificateAuthority) -> CertificateAuthority:
        """Overwrite the CA row; returns `ca` one row version on. ConflictError if it changed meanwhile."""
        ...

    def get_authority(self, ca_id: str) -> CertificateAuthority | None:
        """The CA (strongly consistent read), or None."""
        ...

    def list_authorities(self, limit: int, token: str | None) -> Page[CertificateAuthority]:
        """At most `limit` CAs, oldest first, from `token` on.

        Raises InvalidInputError(InvalidPageToken) for a token this listing did not hand out."""
        ...

    def search_authorities(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[CertificateAuthority], bool]
    ) -> Page[CertificateAuthority]:
        """At most `limit` CAs that `inventory.matches_authority` the query and `accept` takes, in the query's
        order, from `token` on; never a DELETED one. As CertificateStore.search_certificates (index-served, a
        bounded read per page, InvalidInputError(InvalidPageToken) for another query's token)."""
        ...

    def list_authority_versions(self, ca_id: str) -> list[CaVersion]:
        """Every version of the CA, by version number (empty for an unknown CA)."""
        ...

    def claim_serial(self, claim: SerialClaim) -> None:
        """Claim a serial on its own before the CA signs with it.

        Raises ConflictError(ConcurrentModification) if the (issuer, serial) is already claimed."""
        ...

    def add_authority_version(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        """`ca` with a new current version: the CA row, the version, older versions' stages (PREVIOUS for the
        one before, DEPRECATED for the rest) and the audit, at once; returns `ca` one row version on.

        Raises DependencyError if `ca` has no current version, ConflictError if the CA changed or the version
        exists."""
        ...

    def save_authority_versions(
        self, ca: CertificateAuthority, versions: list[CaVersion], audit: AuditRecord
    ) -> CertificateAuthority:
        """The CA row, each of `versions` (written whole: new ones or new stages) and the audit, at once; returns
        `ca` one row version on. How PENDING versions are added and promoted (domain/stages.py decides).

        Raises ConflictError(ConcurrentModification) if the CA changed since it was read."""
        ...

    def children_of(self, ca_id: str) -> Iterator[Certificate | CertificateAuthority]:
        """Certificates and subordinate CAs `ca_id` issued, read lazily (eventually consistent)."""
        ...

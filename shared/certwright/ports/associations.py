"""The associations port: which resources a certificate is deployed to, and its ACM copies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from certwright.domain.association import Association
from certwright.domain.audit import AuditRecord
from certwright.domain.inventory import InventoryQuery
from certwright.ports.common import Page


class AssociationStore(Protocol):
    """Associations of certificates with resources. Writes are version-guarded (ConflictError,
    code ConcurrentModification, when the row changed since it was read); every method raises TransientError
    when the store throttles and DependencyError when it fails otherwise.
    """

    def add_association(self, association: Association, audit: AuditRecord) -> Association:
        """Write a new association, count it on its certificate and audit it, at once; returns it at row version 1.

        Raises ConflictError(ConcurrentModification) if the certificate vanished or changed, or the certificate
        is already associated with the same resource; ConflictError(CertificateNotActive) if it is not active."""
        ...

    def save_association(self, association: Association, *, retry_at: datetime | None = None) -> Association:
        """Overwrite the association (due for a deployment retry at `retry_at`, if given); returns it one row
        version on. ConflictError(ConcurrentModification) if it changed meanwhile."""
        ...

    def remove_association(self, association: Association, audit: AuditRecord) -> None:
        """Delete the association, uncount it on its certificate and audit it, at once.

        Raises ConflictError(ConcurrentModification) if it changed or is already gone."""
        ...

    def get_association(self, association_id: str) -> Association | None:
        """The association (strongly consistent read), or None."""
        ...

    def list_associations(self, certificate_id: str | None, limit: int, token: str | None) -> Page[Association]:
        """At most `limit` associations (of one certificate, or all), oldest first, from `token` on.

        Raises InvalidInputError(InvalidPageToken) for a token of another listing."""
        ...

    def search_associations(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[Association], bool]
    ) -> Page[Association]:
        """At most `limit` associations that `inventory.matches_association` the query and `accept` takes, by
        time created (the query's sortOrder), from `token` on; as CertificateStore.search_certificates."""
        ...

    def associations_of(self, certificate_id: str) -> list[Association]:
        """Every association of the certificate (eventually consistent)."""
        ...

    def probed_associations(self, limit: int, token: str | None, *, from_id: str = "") -> Page[str]:
        """A page of the ids (in id order, from `from_id` on) of the associations that name an endpoint to probe
        (no table scan).

        Raises InvalidInputError(InvalidPageToken) for a token of another listing."""
        ...

    def record_probe(self, association: Association) -> Association:
        """Save `association.probe` conditionally on its row version; ConflictError when it changed or went."""
        ...

    def acm_copy(self, certificate_id: str, version_number: int) -> str | None:
        """The ARN of the version's ACM copy, or None."""
        ...

    def record_acm_copy(self, certificate_id: str, version_number: int, arn: str) -> str:
        """Record the ACM copy of a version unless one exists; returns the copy that won."""
        ...

    def acm_copies(self, certificate_id: str) -> set[str]:
        """The ARNs of every recorded ACM copy of the certificate."""
        ...

    def forget_acm_copy(self, certificate_id: str, arn: str) -> None:
        """Drop the record of ACM copy `arn`; unknown ARNs, and copies re-recorded meanwhile, are kept silently."""
        ...

    def begin_acm_import(self, certificate_id: str, version_number: int) -> bool:
        """Mark an ACM import of the version as started; True if an earlier attempt's mark was still there."""
        ...

    def end_acm_import(self, certificate_id: str, version_number: int) -> None:
        """Clear the import mark (none is no error)."""
        ...

"""The CA-bundles port: trust bundles, their versions, which bundles include a CA, and bundle associations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from certwright.domain.association import Association
from certwright.domain.audit import AuditRecord
from certwright.domain.ca_bundle import CaBundle, CaBundleVersion
from certwright.domain.inventory import InventoryQuery
from certwright.domain.stages import Stage
from certwright.ports.common import Page


class CaBundleStore(Protocol):
    """CA bundles. Every write is one atomic change with its audit record, conditional on the bundle's row version
    (ConflictError, code ConcurrentModification, when it changed since it was read, or exists when new); every
    method raises TransientError when the store throttles and DependencyError when it fails otherwise."""

    def create_bundle(self, bundle: CaBundle, version: CaBundleVersion, audit: AuditRecord) -> CaBundle:
        """Write a new bundle with its first version and its CA references; returns it at row version 1."""
        ...

    def add_bundle_version(
        self,
        bundle: CaBundle,
        version: CaBundleVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        audit: AuditRecord,
        *,
        previous_authority_ids: Iterable[str] = (),
    ) -> CaBundle:
        """The new version, older versions' new stages and the references of changed sources; returns the bundle
        one row version on. ConflictError(ConcurrentModification) also if a version in `stage_changes` vanished."""
        ...

    def save_bundle(self, bundle: CaBundle, audit: AuditRecord) -> CaBundle:
        """Bookkeeping without a new version (withdrawn sources, the stale flag); returns it one row version on."""
        ...

    def delete_bundle(self, bundle: CaBundle, audit: AuditRecord) -> CaBundle:
        """Mark it DELETED and drop its references; returns it one row version on.

        Raises ConflictError(CaBundleInUse) while associations name it."""
        ...

    def add_bundle_association(self, bundle: CaBundle, association: Association, audit: AuditRecord) -> Association:
        """Write a new association naming the bundle and count it; returns it at row version 1.

        Raises ConflictError(CaBundleNotActive) if the bundle is not active."""
        ...

    def remove_bundle_association(self, association: Association, audit: AuditRecord) -> None:
        """Delete a bundle association and uncount it on its bundle."""
        ...

    def get_bundle(self, bundle_id: str) -> CaBundle | None:
        """The bundle (strongly consistent read), or None."""
        ...

    def list_bundles(self, limit: int, token: str | None) -> Page[CaBundle]:
        """At most `limit` bundles not deleted, oldest first. InvalidInputError(InvalidPageToken) for a foreign token."""
        ...

    def search_bundles(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[CaBundle], bool]
    ) -> Page[CaBundle]:
        """At most `limit` bundles that `inventory.matches_bundle` the query and `accept` takes, in the query's
        order, from `token` on; as CertificateStore.search_certificates."""
        ...

    def list_bundle_versions(self, bundle_id: str) -> list[CaBundleVersion]:
        """Every version of the bundle, by version number."""
        ...

    def get_bundle_version(self, bundle_id: str, number: int) -> CaBundleVersion | None:
        """One version, or None."""
        ...

    def bundles_including(self, authority_id: str) -> list[str]:
        """Ids of the bundles whose sources include the CA."""
        ...

    def associations_of_bundle(self, bundle_id: str) -> list[Association]:
        """Every association naming the bundle (eventually consistent)."""
        ...

"""CA bundles in the one table: bundle, versions, the CA -> bundle references and bundle associations.

Keys (beside those in dynamodb_models):
  BUNDLE#{id}       / B           CA bundle            (ByKind: BUNDLE)
  BUNDLE#{id}       / V#{n:08d}   CA bundle version    (its creation is the CaBundleVersionCreated event)
  BUNDLEREF#{ca}    / {bundle id} "bundle includes CA": which bundles a CA event must refresh, one query
  ASSOC#{id}        / A           an association naming the bundle (ByParent: BUNDLE#{id})

Every write is one transaction, conditional on the bundle's row version, with its audit record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_associations import association_row
from certwright.adapters.dynamodb_inventory import InventoryIndex, Loader
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import TableAdapter, version_sk, versioned
from certwright.domain.association import Association
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import LifecycleState
from certwright.domain.ca_bundle import CaBundle, CaBundleVersion, TrustedCertificate
from certwright.domain.inventory import InventoryQuery, bundle_facets, matches_bundle
from certwright.domain.stages import Stage
from certwright.errors import ConflictError
from certwright.ports import Page

BUNDLE_KIND = "CA_BUNDLE"
VERSION_KIND = "CA_BUNDLE_VERSION"
REF_KIND = "CA_BUNDLE_REF"


def bundle_pk(bundle_id: str) -> str:
    return f"BUNDLE#{bundle_id}"


class DynamoDbCaBundles(TableAdapter):
    """The CaBundleStore port: the CA-bundle part of the table, on the shared table helper."""

    # -- rows -----------------------------------------------------------------------------------------

    def _bundle_row(self, bundle: CaBundle) -> Row:
        row = self._row(
            bundle_pk(bundle.id),
            "B",
            kind=BUNDLE_KIND,
            data=bundle_to_data(bundle),
            list_pk="BUNDLE" if bundle.lifecycle_state is not LifecycleState.DELETED else None,
            list_sk=f"{codec.iso(bundle.created_at)}#{bundle.id}",
        )
        return versioned(row, bundle.row_version)

    def _bundle_version_row(self, version: CaBundleVersion, name: str) -> Row:
        return self._row(
            bundle_pk(version.bundle_id),
            version_sk(version.version_number),
            kind=VERSION_KIND,
            data=bundle_version_to_data(version) | {"name": name},
        )

    def _ref_row(self, authority_id: str, bundle_id: str, *, stored: bool) -> Row:
        row = self._row(
            f"BUNDLEREF#{authority_id}",
            bundle_id,
            kind=REF_KIND,
            data={"authorityId": authority_id, "bundleId": bundle_id},
        )
        # References are written once and never updated, so a stored one is at row version 1.
        return versioned(row, 1 if stored else 0)

    # -- writes ---------------------------------------------------------------------------------------

    def create_bundle(self, bundle: CaBundle, version: CaBundleVersion, audit: AuditRecord) -> CaBundle:
        with self._errors("create CA bundle"), self._transaction() as tx:
            tx.save(self._bundle_row(bundle))
            tx.save(self._bundle_version_row(version, bundle.name))
            for authority_id in bundle.authority_ids:
                tx.save(self._ref_row(authority_id, bundle.id, stored=False))
            tx.save(self._audit_row(audit))
        self._index_bundle(bundle)
        return replace(bundle, row_version=1)

    def _index_bundle(self, bundle: CaBundle) -> None:
        """Bring the bundle's inventory index rows in line with what was just written (dynamodb_inventory)."""
        InventoryIndex(self._row, self._connection, "BUNDLE").sync(
            bundle.id,
            bundle_facets(bundle),
            name=bundle.name,
            created=bundle.created_at,
            not_after=None,
            listed=bundle.lifecycle_state is not LifecycleState.DELETED,
        )

    def search_bundles(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[CaBundle], bool]
    ) -> Page[CaBundle]:
        def decode(row: Row) -> CaBundle:
            return bundle_from_data(row.data, row.row_version)

        items, next_token = InventoryIndex(self._row, self._connection, "BUNDLE").search(
            query, limit, token, Loader(self._row, "B", decode), lambda b, _: matches_bundle(query, b) and accept(b)
        )
        return Page(items, next_token)

    def add_bundle_version(
        self,
        bundle: CaBundle,
        version: CaBundleVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        audit: AuditRecord,
        *,
        previous_authority_ids: Iterable[str] = (),
    ) -> CaBundle:
        """The new version, the older versions' new stages and the references of changed sources, or nothing."""
        before, after = set(previous_authority_ids), set(bundle.authority_ids)
        rows = []
        for number, stages in sorted(stage_changes.items()):
            row = self._get(bundle_pk(bundle.id), version_sk(number))
            if row is None:
                raise ConflictError(f"CA bundle version {number} vanished", code="ConcurrentModification")
            rows.append((row, stages))
        with self._errors("add CA bundle version"), self._transaction() as tx:
            tx.save(self._bundle_row(bundle))
            tx.save(self._bundle_version_row(version, bundle.name))
            for row, stages in rows:
                tx.update(row, actions=[self._row.data.set({**row.data, "stages": sorted(stages)})])
            for authority_id in sorted(after - before):
                tx.save(self._ref_row(authority_id, bundle.id, stored=False))
            for authority_id in sorted(before - after):
                tx.delete(self._ref_row(authority_id, bundle.id, stored=True))
            tx.save(self._audit_row(audit))
        return replace(bundle, row_version=bundle.row_version + 1)

    def save_bundle(self, bundle: CaBundle, audit: AuditRecord) -> CaBundle:
        """Bookkeeping without a new version (withdrawn sources, the stale flag), conditional on the row version."""
        with self._errors("update CA bundle"), self._transaction() as tx:
            tx.save(self._bundle_row(bundle))
            tx.save(self._audit_row(audit))
        self._index_bundle(bundle)
        return replace(bundle, row_version=bundle.row_version + 1)

    def delete_bundle(self, bundle: CaBundle, audit: AuditRecord) -> CaBundle:
        """Mark it DELETED and drop its references; the row-version condition proves no association came meanwhile."""
        bundle.ensure_deletable()
        deleted = replace(bundle, lifecycle_state=LifecycleState.DELETED)
        with self._errors("delete CA bundle"), self._transaction() as tx:
            tx.save(self._bundle_row(deleted))
            for authority_id in bundle.authority_ids:
                tx.delete(self._ref_row(authority_id, bundle.id, stored=True))
            tx.save(self._audit_row(audit))
        self._index_bundle(deleted)
        return replace(deleted, row_version=bundle.row_version + 1)

    def add_bundle_association(self, bundle: CaBundle, association: Association, audit: AuditRecord) -> Association:
        bundle.ensure_active()
        counted = replace(bundle, association_count=bundle.association_count + 1)
        with self._errors("create association"), self._transaction() as tx:
            tx.save(association_row(self._row, association))
            tx.save(self._bundle_row(counted))
            tx.save(self._audit_row(audit))
        return replace(association, row_version=1)

    def remove_bundle_association(self, association: Association, audit: AuditRecord) -> None:
        bundle = self.get_bundle(association.ca_bundle_id or "")
        with self._errors("delete association"), self._transaction() as tx:
            tx.delete(association_row(self._row, association))
            if bundle is not None:
                count = max(0, bundle.association_count - 1)
                tx.save(self._bundle_row(replace(bundle, association_count=count)))
            tx.save(self._audit_row(audit))

    # -- reads ----------------------------------------------------------------------------------------

    def get_bundle(self, bundle_id: str) -> CaBundle | None:
        row = self._get(bundle_pk(bundle_id), "B")
        return None if row is None else bundle_from_data(row.data, row.row_version)

    def list_bundles(self, limit: int, token: str | None) -> Page[CaBundle]:
        with self._errors("list CA bundles"):
            start = self._start_key(token, {"list_pk": "BUNDLE"}, ("list_sk",))
            result = self._row.by_kind.query("BUNDLE", limit=limit, last_evaluated_key=start)
            items = [bundle_from_data(r.data, r.row_version) for r in result]
            return Page(items, self._page_token(result.last_evaluated_key))

    def list_bundle_versions(self, bundle_id: str) -> list[CaBundleVersion]:
        with self._errors("list CA bundle versions"):
            rows = self._row.query(bundle_pk(bundle_id), self._row.sk.startswith("V#"), consistent_read=True)
            return [bundle_version_from_data(r.data) for r in rows]

    def get_bundle_version(self, bundle_id: str, number: int) -> CaBundleVersion | None:
        row = self._get(bundle_pk(bundle_id), version_sk(number))
        return None if row is None else bundle_version_from_data(row.data)

    def bundles_including(self, authority_id: str) -> list[str]:
        with self._errors("list CA bundles of a CA"):
            return [str(r.sk) for r in self._row.query(f"BUNDLEREF#{authority_id}", consistent_read=True)]

    def associations_of_bundle(self, bundle_id: str) -> list[Association]:
        with self._errors("list associations"):
            rows = self._row.by_parent.query(bundle_pk(bundle_id))
            return [codec.association_from_data(r.data, r.row_version) for r in rows if r.kind == "ASSOC"]


# -- codec ------------------------------------------------------------------------------------------------


def _trusted_to_data(c: TrustedCertificate) -> dict[str, str]:
    return {
        "pem": c.pem,
        "fingerprint": c.fingerprint,
        "subject": c.subject,
        "notAfter": codec.iso(c.not_after),
        "source": c.source,
    }


def _trusted_from_data(raw: dict[str, str]) -> TrustedCertificate:
    return TrustedCertificate(
        raw["pem"], raw["fingerprint"], raw["subject"], codec.parse_time(raw["notAfter"]), raw["source"]
    )


def bundle_to_data(b: CaBundle) -> dict[str, Any]:
    return {
        "id": b.id,
        "name": b.name,
        "description": b.description,
        "given": [_trusted_to_data(c) for c in b.given],
        "authorityIds": list(b.authority_ids),
        "includeChain": b.include_chain,
        "lifecycleState": b.lifecycle_state.value,
        "createdBy": b.created_by,
        "createdAt": codec.iso(b.created_at),
        "currentVersionNumber": b.current_version_number,
        "latestVersionNumber": b.latest_version_number,
        "associationCount": b.association_count,
        "withdrawnAuthorityIds": list(b.withdrawn_authority_ids),
        "stale": b.stale,
        "owner": b.owner,
        "freeformTags": dict(b.freeform_tags),
    }


def bundle_from_data(raw: dict[str, Any], row_version: int) -> CaBundle:
    return CaBundle(
        id=raw["id"],
        name=raw["name"],
        description=raw.get("description", ""),
        given=tuple(_trusted_from_data(c) for c in raw.get("given", [])),
        authority_ids=tuple(raw.get("authorityIds", [])),
        include_chain=bool(raw.get("includeChain", True)),
        lifecycle_state=LifecycleState(raw["lifecycleState"]),
        created_by=raw["createdBy"],
        created_at=codec.parse_time(raw["createdAt"]),
        current_version_number=raw.get("currentVersionNumber", 0),
        latest_version_number=raw.get("latestVersionNumber", 0),
        association_count=raw.get("associationCount", 0),
        withdrawn_authority_ids=tuple(raw.get("withdrawnAuthorityIds", [])),
        stale=bool(raw.get("stale", False)),
        row_version=row_version,
        owner=raw.get("owner") or "",
        freeform_tags=codec.tags_from_data(raw.get("freeformTags")),
    )


def bundle_version_to_data(v: CaBundleVersion) -> dict[str, Any]:
    return {
        "bundleId": v.bundle_id,
        "versionNumber": v.version_number,
        "certificates": [_trusted_to_data(c) for c in v.certificates],
        "stages": sorted(v.stages),
        "createdAt": codec.iso(v.created_at),
        "createdBy": v.created_by,
        "reason": v.reason,
    }


def bundle_version_from_data(raw: dict[str, Any]) -> CaBundleVersion:
    return CaBundleVersion(
        bundle_id=raw["bundleId"],
        version_number=raw["versionNumber"],
        certificates=tuple(_trusted_from_data(c) for c in raw["certificates"]),
        stages=frozenset(Stage(s) for s in raw["stages"]),
        created_at=codec.parse_time(raw["createdAt"]),
        created_by=raw.get("createdBy", ""),
        reason=raw.get("reason", "Created"),
    )

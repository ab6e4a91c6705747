"""The AssociationStore port on DynamoDB: association rows, their one-per-target rows and the ACM copies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_certificates import certificate_row
from certwright.adapters.dynamodb_inventory import InventoryIndex, Loader
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_poll import host_key
from certwright.adapters.dynamodb_table import DEPLOY_RETRY_PARTITION, TableAdapter, versioned
from certwright.domain.association import Association, DeploymentState
from certwright.domain.audit import AuditRecord
from certwright.domain.certificate import Certificate
from certwright.domain.inventory import InventoryQuery, association_facet, matches_association
from certwright.errors import ConflictError
from certwright.ports import Page


def association_row(model: type[Row], a: Association, retry_at: datetime | None = None) -> Row:
    """The association row (ByKind: ASSOC, ByParent: its certificate or bundle, DEPLOY_RETRY when a retry is due,
    InventoryByCreated: ASSOC#DEPLOY#{deployment state}, so every write keeps that index current)."""
    row = model(
        f"ASSOC#{a.id}",
        "A",
        kind="ASSOC",
        data=codec.association_to_data(a),
        list_pk="ASSOC",
        list_sk=f"{codec.iso(a.created_at)}#{a.id}",
        parent_pk=f"BUNDLE#{a.ca_bundle_id}" if a.ca_bundle_id else f"CERT#{a.certificate_id}",
        renewal_pk=DEPLOY_RETRY_PARTITION if retry_at else None,
        renewal_at=codec.iso(retry_at) if retry_at else None,
        host_pk=host_key(a),  # a host's poll finds it by its principal (adapters/dynamodb_poll.py)
        ix_pk=f"ASSOC#{association_facet(a.deployment.state.value)}",
        ix_created=f"{codec.iso(a.created_at)}#{a.id}",
    )
    return versioned(row, a.row_version)


def target_row(model: type[Row], a: Association) -> Row:
    """The one row per (certificate, associated resource): the duplicate check lists associations from an index,
    which a parallel creation's write may not have reached yet; this row, written with the association, cannot be
    written twice."""
    digest = hashlib.sha256(a.associated_resource_id.encode()).hexdigest()[:32]
    data = {"associationId": a.id, "associatedResourceId": a.associated_resource_id}
    return model(f"CERT#{a.certificate_id}", f"TARGET#{digest}", kind="ASSOC_TARGET", data=data)


# One row per association with an endpoint, in one partition: the prober pages through it with a Query (no scan).
PROBED_PK = "PROBED"


def probed_row(model: type[Row], a: Association) -> Row:
    """The pointer row the prober finds an association with an endpoint by (written and deleted with it)."""
    return model(PROBED_PK, f"ASSOC#{a.id}", kind="PROBE_TARGET", data={"associationId": a.id})


class DynamoDbAssociations(TableAdapter):
    """Associations (ASSOC#{id} / A), counted on their certificate, and ACM copies (CERT#{id} / ACM#{n})."""

    def _certificate(self, certificate_id: str) -> Certificate | None:
        row = self._get(f"CERT#{certificate_id}", "C")
        return None if row is None else codec.certificate_from_data(row.data, row.row_version)

    def add_association(self, association: Association, audit: AuditRecord) -> Association:
        certificate = self._certificate(association.certificate_id)
        if certificate is None:
            raise ConflictError("certificate vanished", code="ConcurrentModification")
        certificate.ensure_active()
        counted = replace(certificate, association_count=certificate.association_count + 1)
        with self._errors("create association"), self._transaction() as tx:
            tx.save(association_row(self._row, association))
            tx.save(target_row(self._row, association))  # a new row: two parallel creations cannot both commit
            if association.endpoint is not None:
                tx.save(probed_row(self._row, association))
            tx.save(certificate_row(self._row, counted))
            tx.save(self._audit_row(audit))
        return replace(association, row_version=1)

    def save_association(self, association: Association, *, retry_at: datetime | None = None) -> Association:
        with self._errors("update association"):
            association_row(self._row, association, retry_at).save()
        return replace(association, row_version=association.row_version + 1)

    def remove_association(self, association: Association, audit: AuditRecord) -> None:
        certificate = self._certificate(association.certificate_id)
        with self._errors("delete association"), self._transaction() as tx:
            tx.delete(association_row(self._row, association))
            tx.delete(target_row(self._row, association), add_version_condition=False)  # older ones have none
            if association.endpoint is not None:
                tx.delete(probed_row(self._row, association), add_version_condition=False)
            if certificate is not None:
                count = max(0, certificate.association_count - 1)
                tx.save(certificate_row(self._row, replace(certificate, association_count=count)))
            tx.save(self._audit_row(audit))

    def get_association(self, association_id: str) -> Association | None:
        row = self._get(f"ASSOC#{association_id}", "A")
        return None if row is None else codec.association_from_data(row.data, row.row_version)

    def list_associations(self, certificate_id: str | None, limit: int, token: str | None) -> Page[Association]:
        with self._errors("list associations"):
            if certificate_id:
                parent = f"CERT#{certificate_id}"
                start = self._start_key(token, {"parent_pk": parent}, ("list_sk",))
                result = self._row.by_parent.query(parent, limit=limit, last_evaluated_key=start)
            else:
                start = self._start_key(token, {"list_pk": "ASSOC"}, ("list_sk",))
                result = self._row.by_kind.query("ASSOC", limit=limit, last_evaluated_key=start)
            items = [codec.association_from_data(r.data, r.row_version) for r in result if r.kind == "ASSOC"]
            return Page(items, self._page_token(result.last_evaluated_key))

    def search_associations(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[Association], bool]
    ) -> Page[Association]:
        def decode(row: Row) -> Association:
            return codec.association_from_data(row.data, row.row_version)

        states = [query.deployment_state] if query.deployment_state else [s.value for s in DeploymentState]
        items, next_token = InventoryIndex(self._row, self._connection, "ASSOC", entry_sk="A").search(
            query,
            limit,
            token,
            Loader(self._row, "A", decode),
            lambda a, _: matches_association(query, a) and accept(a),
            facets=[association_facet(s) for s in states],
        )
        return Page(items, next_token)

    def associations_of(self, certificate_id: str) -> list[Association]:
        with self._errors("list associations"):
            rows = self._row.by_parent.query(f"CERT#{certificate_id}")
            return [codec.association_from_data(r.data, r.row_version) for r in rows if r.kind == "ASSOC"]

    def probed_associations(self, limit: int, token: str | None, *, from_id: str = "") -> Page[str]:
        """A page of the ids of associations with an endpoint (the PROBED partition's pointer rows), in id order
        from `from_id` on."""
        with self._errors("list probed associations"):
            start = self._start_key(token, {"pk": PROBED_PK})
            after = self._row.sk >= f"ASSOC#{from_id}"
            result = self._row.query(PROBED_PK, after, limit=limit, last_evaluated_key=start)
            ids = [str(r.data["associationId"]) for r in result]
            return Page(ids, self._page_token(result.last_evaluated_key))

    def record_probe(self, association: Association) -> Association:
        """Write the association's `probe` only, conditional on its row version (other attributes stay as they are).

        ConflictError when the association changed (or went) since it was read: the next run probes it again.
        """
        row = versioned(self._row(f"ASSOC#{association.id}", "A"), association.row_version)
        with self._errors("record probe"):
            row.update(actions=[self._row.data.set(codec.association_to_data(association))])
        return replace(association, row_version=association.row_version + 1)

    def acm_copy(self, certificate_id: str, version_number: int) -> str | None:
        row = self._get(f"CERT#{certificate_id}", f"ACM#{version_number:08d}")
        return None if row is None else str(row.data["arn"])

    def record_acm_copy(self, certificate_id: str, version_number: int, arn: str) -> str:
        """Record the ACM copy of a version unless one exists; returns the copy that won."""
        row = self._row(f"CERT#{certificate_id}", f"ACM#{version_number:08d}", kind="ACM_COPY", data={"arn": arn})
        try:
            with self._errors("record ACM copy"):
                row.save()
        except ConflictError:
            existing = self.acm_copy(certificate_id, version_number)
            if existing is None:
                raise
            return existing
        return arn

    def begin_acm_import(self, certificate_id: str, version_number: int) -> bool:
        """Mark an ACM import of the version as started; True if an earlier attempt's mark was still there."""
        row = self._row(f"CERT#{certificate_id}", f"IMPORTING#{version_number:08d}", kind="ACM_IMPORT", data={})
        try:
            with self._errors("mark ACM import"):
                row.save()
        except ConflictError:
            return True
        return False

    def end_acm_import(self, certificate_id: str, version_number: int) -> None:
        with self._errors("clear ACM import mark"):
            self._row(f"CERT#{certificate_id}", f"IMPORTING#{version_number:08d}").delete(add_version_condition=False)

    def acm_copies(self, certificate_id: str) -> set[str]:
        with self._errors("list ACM copies"):
            rows = self._row.query(f"CERT#{certificate_id}", self._row.sk.startswith("ACM#"), consistent_read=True)
            return {str(r.data["arn"]) for r in rows}

    def forget_acm_copy(self, certificate_id: str, arn: str) -> None:
        """Drop the record of ACM copy `arn` (deleted, or handed over to a listener that keeps it)."""
        with self._errors("list ACM copies"):
            rows = list(
                self._row.query(f"CERT#{certificate_id}", self._row.sk.startswith("ACM#"), consistent_read=True)
            )
        for row in rows:
            if row.data.get("arn") != arn:
                continue
            try:
                with self._errors("forget ACM copy"):
                    row.delete()  # conditional on the row version read: a copy recorded meanwhile stays
            except ConflictError:
                continue

"""The CertificateStore port on DynamoDB: certificate rows, version rows (with sealed keys) and reservations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters import dynamodb_items as items
from certwright.adapters.dynamodb_authorities import serial_item
from certwright.adapters.dynamodb_inventory import KEEP, InventoryIndex, Keep, Loader, index_items
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import (
    IN_FLIGHT_PARTITION,
    SWEEP_PARTITION,
    TableAdapter,
    audit_item,
    version_sk,
    versioned,
    with_deletion_index,
)
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.inventory import InventoryQuery, certificate_facets, matches
from certwright.domain.repair import repair_due
from certwright.domain.stages import Stage
from certwright.errors import CertwrightError, ConflictError
from certwright.ports import Page, Reservation, SerialClaim


def certificate_attributes(c: Certificate) -> dict[str, Any]:
    """The certificate row's attributes (ByKind, ByParent, SWEEP when it has a next check, DELETION when pending
    deletion), its keys and row version aside."""
    attributes = {
        "kind": "CERT",
        "data": codec.certificate_to_data(c),
        "list_pk": "CERT",
        "list_sk": f"{codec.iso(c.created_at)}#{c.id}",
        "parent_pk": f"CA#{c.issuer_ca_id}" if c.issuer_ca_id else None,
        "renewal_pk": SWEEP_PARTITION if c.next_check_at and c.lifecycle_state is LifecycleState.ACTIVE else None,
        "renewal_at": codec.iso(c.next_check_at) if c.next_check_at else None,
    }
    return with_deletion_index(attributes, c.lifecycle_state, c.deletion_time)


def certificate_row(model: type[Row], c: Certificate) -> Row:
    """The certificate row, conditional on its row version."""
    return versioned(model(f"CERT#{c.id}", "C", **certificate_attributes(c)), c.row_version)


def certificate_put(table: str, c: Certificate) -> dict[str, Any]:
    """certificate_row as a low-level transaction Put (dynamodb_items)."""
    return items.put(table, items.item(f"CERT#{c.id}", "C", **certificate_attributes(c)), c.row_version)


def reserved_version_item(version: CertificateVersion) -> dict[str, Any]:
    """A reserved (unpublished) version row: in flight until published or failed, so the repair pass finds it
    there if its writer dies."""
    return items.item(
        f"CERT#{version.certificate_id}",
        version_sk(version.version_number),
        kind="CERT_VERSION",
        data=codec.version_to_data(version),
        renewal_pk=IN_FLIGHT_PARTITION,
        renewal_at=codec.iso(repair_due(version.created_at)),
    )


# A certificate with at most this many index rows has them written in its creating and completing transactions
# (TransactWriteItems takes 100 entries); one with more syncs them after each (InventoryIndex.sync).
INLINE_INDEX_ROWS = 40


def _inline_index(certificate: Certificate) -> bool:
    return (
        certificate.lifecycle_state is not LifecycleState.DELETED
        and len(certificate_facets(certificate)) <= INLINE_INDEX_ROWS
    )


def _index_items(certificate: Certificate, not_after: datetime | None) -> list[dict[str, Any]]:
    return index_items(
        "CERT", certificate.id, certificate_facets(certificate), certificate.name, certificate.created_at, not_after
    )


class DynamoDbCertificates(TableAdapter):
    """Certificates and their versions (CERT#{id} / C and / V#{n}) and reservations (REQ#{token})."""

    def begin_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        claim: SerialClaim | None,
        *,
        is_new_certificate: bool,
        reservation: Reservation | None = None,
    ) -> Certificate:
        action = "create certificate" if is_new_certificate else "reserve certificate version"
        table = self._table_name
        entries = [certificate_put(table, certificate), items.put(table, reserved_version_item(version))]
        checks: dict[int, CertwrightError] = {}
        if claim is not None:
            entries.append(items.put(table, serial_item(claim)))
            if claim.issuer_row_version:
                checks[len(entries)] = ConflictError(
                    f"certificate authority {claim.issuer_ca_id} changed since it was read; retry",
                    code="IssuerChanged",
                )
                entries.append(items.condition_check(table, f"CA#{claim.issuer_ca_id}", "A", claim.issuer_row_version))
        if reservation is not None:
            entries.append(items.put(table, reservation_item(reservation), reservation.row_version))
        created = is_new_certificate and not certificate.row_version  # (a resumed creation rewrites its row)
        inline = created and _inline_index(certificate)
        if inline:
            entries += [items.put_unversioned(table, row) for row in _index_items(certificate, None)]
        self._transact(action, entries, checks)
        if not inline:
            self._index_certificate(certificate, None if is_new_certificate else KEEP, fresh=created)
        return replace(certificate, row_version=certificate.row_version + 1)

    def _index_certificate(
        self, certificate: Certificate, not_after: datetime | Keep | None, *, fresh: bool = False
    ) -> None:
        """Bring the certificate's inventory index rows in line with what was just written (dynamodb_inventory);
        `fresh`: the certificate row was just created, so it has no index rows to read."""
        InventoryIndex(self._row, self._connection, "CERT").sync(
            certificate.id,
            certificate_facets(certificate),
            name=certificate.name,
            created=certificate.created_at,
            not_after=not_after,
            listed=certificate.lifecycle_state is not LifecycleState.DELETED,
            fresh=fresh,
        )

    def search_certificates(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[Certificate], bool]
    ) -> Page[Certificate]:
        def decode(row: Row) -> Certificate:
            return codec.certificate_from_data(row.data, row.row_version)

        def keep(c: Certificate, not_after: datetime | None) -> bool:
            return matches(query, c, not_after) and accept(c)

        found, next_token = InventoryIndex(self._row, self._connection, "CERT").search(
            query, limit, token, Loader(self._row, "C", decode), keep
        )
        return Page(found, next_token)

    def get_reservation(self, token: str) -> Reservation | None:
        """What the idempotent request `token` reserved (even if that reservation has expired), or None."""
        row = self._get(f"REQ#{token}", "R")
        if row is None:
            return None
        return Reservation(
            token,
            str(row.data["certificateId"]),
            int(row.data["versionNumber"]),
            codec.parse_time(row.data["expiresAt"]),
            row.row_version,
        )

    def complete_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        sealed_key: bytes | None,
        audit: AuditRecord,
    ) -> Certificate:
        others = {n: s for n, s in stage_changes.items() if n != version.version_number}
        rows = self._version_rows(certificate.id, others)
        table = self._table_name
        serial, fingerprint = codec.lookup_keys(version)
        published = {
            "data": codec.version_to_data(version),
            "secret": sealed_key or None,
            "serial_key": serial,
            "fingerprint_key": fingerprint,
        }
        entries = [
            certificate_put(table, certificate),
            # The reserved row was written once (row version 1) and only this writer publishes it.
            items.update(
                table,
                f"CERT#{certificate.id}",
                version_sk(version.version_number),
                1,
                set_values=published,
                remove=("renewal_pk", "renewal_at"),
            ),
        ]
        for row, stages in rows:
            entries.append(
                items.update(
                    table, row.pk, row.sk, row.row_version, set_values={"data": {**row.data, "stages": sorted(stages)}}
                )
            )
        entries.append(items.put(table, audit_item(audit)))
        current = certificate.current_version_number == version.version_number
        # Row version 1: the row's one write is the creation that wrote its index rows in the same transaction
        # (notAfter unknown then), so they need no read: the CURRENT version's notAfter goes into this one.
        inline = certificate.row_version == 1 and _inline_index(certificate)
        if inline and current:
            not_after = version.validity.not_after
            entries += [items.put_unversioned(table, row) for row in _index_items(certificate, not_after)]
        self._transact("complete certificate version", entries)
        if not inline:
            self._index_certificate(certificate, version.validity.not_after if current else KEEP)
        return replace(certificate, row_version=certificate.row_version + 1)

    def fail_version(
        self,
        certificate: Certificate,
        version_number: int,
        reason: str,
        *,
        audit: AuditRecord | None = None,
        failed_certificate: Certificate | None = None,
    ) -> None:
        """Mark a reserved version FAILED, `failed_certificate` first and the audit record after.

        Single-item writes in an order a crash cannot spoil: the version leaves the in-flight index last but one,
        so a certificate failed before a crash still has its version found (and failed) by the repair pass.
        """
        row = self._get(f"CERT#{certificate.id}", version_sk(version_number))
        if row is None:
            return
        if row.data.get("stages"):
            # Only a reserved version (no stages yet) may fail; a published one is never overwritten.
            raise ConflictError(f"version {version_number} is no longer reserved", code="ConcurrentModification")
        if failed_certificate is not None:
            with self._errors("mark certificate failed"):
                certificate_row(self._row, failed_certificate).save()
            self._index_certificate(failed_certificate, KEEP)
        data = {**row.data, "stages": [Stage.FAILED.value], "failureReason": reason[:500]}
        with self._errors("mark version failed"):
            row.update(actions=[self._row.data.set(data), self._row.renewal_pk.remove(), self._row.renewal_at.remove()])
        if audit is not None:
            with self._errors("write audit record"):
                self._audit_row(audit).save()

    def change_stages(
        self, certificate: Certificate, stage_changes: Mapping[int, frozenset[Stage]], audit: AuditRecord
    ) -> Certificate:
        rows = self._version_rows(certificate.id, stage_changes)
        with self._errors("change version stages"), self._transaction() as tx:
            tx.save(certificate_row(self._row, certificate))
            for row, stages in rows:
                tx.update(row, actions=[self._row.data.set({**row.data, "stages": sorted(stages)})])
            tx.save(self._audit_row(audit))
        current = self.get_version(certificate.id, certificate.current_version_number)
        self._index_certificate(certificate, current.validity.not_after if current else KEEP)
        return replace(certificate, row_version=certificate.row_version + 1)

    def _version_rows(
        self, certificate_id: str, changes: Mapping[int, frozenset[Stage]]
    ) -> list[tuple[Row, frozenset[Stage]]]:
        rows = []
        for number, stages in sorted(changes.items()):
            row = self._get(f"CERT#{certificate_id}", version_sk(number))
            if row is None:
                raise ConflictError(f"version {number} vanished", code="ConcurrentModification")
            rows.append((row, stages))
        return rows

    def save_certificate(
        self, certificate: Certificate, audit: AuditRecord, *, require_no_associations: bool = False
    ) -> Certificate:
        if require_no_associations and certificate.association_count:
            raise ConflictError(
                f"certificate {certificate.id} is in use by {certificate.association_count} association(s)",
                code="CertificateInUse",
            )
        # The row-version condition makes the association count we checked the one we overwrite.
        with self._errors("update certificate"), self._transaction() as tx:
            tx.save(certificate_row(self._row, certificate))
            tx.save(self._audit_row(audit))
        self._index_certificate(certificate, KEEP)
        return replace(certificate, row_version=certificate.row_version + 1)

    def get_certificate(self, certificate_id: str) -> Certificate | None:
        row = self._get(f"CERT#{certificate_id}", "C")
        return None if row is None else codec.certificate_from_data(row.data, row.row_version)

    def list_certificates(self, limit: int, token: str | None) -> Page[Certificate]:
        with self._errors("list certificates"):
            result = self._row.by_kind.query(
                "CERT", limit=limit, last_evaluated_key=self._start_key(token, {"list_pk": "CERT"}, ("list_sk",))
            )
            items = [codec.certificate_from_data(r.data, r.row_version) for r in result]
            return Page(items, self._page_token(result.last_evaluated_key))

    def list_versions(self, certificate_id: str) -> list[CertificateVersion]:
        with self._errors("list certificate versions"):
            rows = self._row.query(f"CERT#{certificate_id}", self._row.sk.startswith("V#"), consistent_read=True)
            return [codec.version_from_data(r.data) for r in rows]

    def get_version(self, certificate_id: str, version_number: int) -> CertificateVersion | None:
        row = self._get(f"CERT#{certificate_id}", version_sk(version_number))
        return None if row is None else codec.version_from_data(row.data)

    def get_sealed_key(self, certificate_id: str, version_number: int) -> bytes | None:
        row = self._get(f"CERT#{certificate_id}", version_sk(version_number))
        return None if row is None or row.secret is None else bytes(row.secret)


def _reservation_data(r: Reservation) -> dict[str, Any]:
    return {"certificateId": r.certificate_id, "versionNumber": r.version_number, "expiresAt": codec.iso(r.expires_at)}


def reservation_item(r: Reservation) -> dict[str, Any]:
    """The reservation row REQ#{token} / R as a low-level item (dynamodb_items)."""
    return items.item(f"REQ#{r.token}", "R", kind="REQUEST", data=_reservation_data(r))

"""Scheduled deletion on the table: what is due (the DELETION partition of the sparse RenewalDue index), version
deletion schedules, and destroying a version's sealed private key.

CA and certificate rows enter the partition when saved PENDING_DELETION (the row builders of dynamodb_authorities and dynamodb_certificates); version
rows enter it here. Every write is conditional on the row version read, so a concurrent change wins and the
sweep looks again next time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_store import DynamoDbStore
from certwright.adapters.dynamodb_table import DELETION_PARTITION, version_sk
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CertificateAuthority
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.deletion import DueCaVersion
from certwright.errors import ConflictError, NotFoundError

Due = Certificate | CertificateAuthority | CertificateVersion | DueCaVersion


class DynamoDbDeletionStore(DynamoDbStore):
    """The DeletionQueue port, on the store the deletion sweep also needs (certwright.ports.DeletionStore)."""

    def due_for_deletion(self, now: datetime, limit: int) -> list[Due]:
        """CAs, certificates and versions whose time of deletion has come, oldest first; a query, never a scan."""
        with self._errors("list deletions due"):
            rows = self._row.renewal_due.query(DELETION_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit)
            due: list[Due] = []
            for r in rows:
                if r.kind == "CA":
                    due.append(codec.authority_from_data(r.data, r.row_version))
                elif r.kind == "CERT":
                    due.append(codec.certificate_from_data(r.data, r.row_version))
                elif r.kind == "CERT_VERSION":
                    due.append(codec.version_from_data(r.data))
                elif r.kind == "CA_VERSION":
                    due.append(DueCaVersion(r.pk.removeprefix("CA#"), codec.authority_version_from_data(r.data)))
            return due

    def schedule_version_deletion(
        self, version: CertificateVersion, when: datetime, audit: AuditRecord
    ) -> CertificateVersion:
        row = self._version_row(version)
        data = {**row.data, "timeOfDeletion": codec.iso(when)}
        with self._errors("schedule version deletion"), self._transaction() as tx:
            tx.update(
                row,
                actions=[
                    self._row.data.set(data),
                    self._row.renewal_pk.set(DELETION_PARTITION),
                    self._row.renewal_at.set(codec.iso(when)),
                ],
            )
            tx.save(self._audit_row(audit))
        return replace(version, deletion_time=when)

    def cancel_version_deletion(self, version: CertificateVersion, audit: AuditRecord) -> CertificateVersion:
        row = self._version_row(version)
        data = {**row.data, "timeOfDeletion": None}
        with self._errors("cancel version deletion"), self._transaction() as tx:
            tx.update(
                row, actions=[self._row.data.set(data), self._row.renewal_pk.remove(), self._row.renewal_at.remove()]
            )
            tx.save(self._audit_row(audit))
        return replace(version, deletion_time=None)

    def destroy_version_key(self, certificate_id: str, version_number: int, now: datetime) -> bool:
        """Remove the version's sealed private key and mark it deleted (out of the index); False if it is gone."""
        row = self._get(f"CERT#{certificate_id}", version_sk(version_number))
        if row is None:
            return False
        data = {**row.data, "hasPrivateKey": False, "deletedAt": row.data.get("deletedAt") or codec.iso(now)}
        with self._errors("destroy version key"):
            row.update(
                actions=[
                    self._row.data.set(data),
                    self._row.secret.remove(),
                    self._row.renewal_pk.remove(),
                    self._row.renewal_at.remove(),
                ]
            )
        return True

    def _version_row(self, version: CertificateVersion) -> Row:
        row = self._get(f"CERT#{version.certificate_id}", version_sk(version.version_number))
        if row is None:
            raise NotFoundError(f"certificate {version.certificate_id} has no version {version.version_number}")
        if codec.version_from_data(row.data) != version:
            raise ConflictError(
                f"version {version.version_number} changed concurrently; retry", code="ConcurrentModification"
            )
        return row

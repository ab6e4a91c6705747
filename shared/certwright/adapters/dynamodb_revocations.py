"""The RevocationStore port on DynamoDB: revoked entries per issuer, compromised keys and issuance counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters import dynamodb_items as items
from certwright.adapters.aws_errors import translate
from certwright.adapters.dynamodb_authorities import authority_row
from certwright.adapters.dynamodb_certificates import certificate_row
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import TableAdapter, version_sk
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CertificateAuthority
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.revocation import RevokedEntry
from certwright.errors import ConflictError


class DynamoDbRevocations(TableAdapter):
    """The revocation ledger (REVOKED#{ca} / {serial}, COMPROMISED#{fingerprint} / K, CA#{id} / ISSUED)."""

    def next_issuance_index(self, ca_id: str) -> int:
        """Count one more certificate issued by `ca_id` (an atomic ADD, no contention); returns the new count."""
        try:
            answer = self._connection.client.update_item(
                TableName=self._table_name,
                Key=items.key(f"CA#{ca_id}", "ISSUED"),
                UpdateExpression="SET #k = :k ADD #n :one",
                ExpressionAttributeNames={"#k": "kind", "#n": "issued"},
                ExpressionAttributeValues={":k": {"S": "ISSUANCE_COUNTER"}, ":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "count issuance") from err
        return int(answer["Attributes"]["issued"]["N"])

    def _revoked_row(self, entry: RevokedEntry) -> Row:
        # A new row: PynamoDB makes the write conditional on its absence, so a serial is revoked once.
        return self._row(
            f"REVOKED#{entry.issuer_ca_id}",
            entry.serial_number,
            kind="REVOKED",
            data=codec.revoked_entry_to_data(entry),
        )

    def _compromised_row(self, fingerprint: str, entry: RevokedEntry) -> Row | None:
        if self._get(f"COMPROMISED#{fingerprint}", "K") is not None:
            return None  # already known: the first revocation for keyCompromise keeps the record
        return self._row(
            f"COMPROMISED#{fingerprint}",
            "K",
            kind="COMPROMISED_KEY",
            data={
                "resourceId": entry.resource_id,
                "versionNumber": entry.version_number,
                "at": codec.iso(entry.revoked_at),
            },
        )

    def revoke_certificate_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        entry: RevokedEntry,
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> Certificate:
        """Revoke one version: its row, the issuer's revoked list, the compromised-key record and the audit, at once."""
        row = self._get(f"CERT#{certificate.id}", version_sk(version.version_number))
        if row is None:
            raise ConflictError(f"version {version.version_number} vanished", code="ConcurrentModification")
        if row.data.get("revocation"):
            raise ConflictError(f"version {version.version_number} is already revoked", code="AlreadyRevoked")
        compromised = self._compromised_row(compromised_key, entry) if compromised_key else None
        with self._errors("revoke certificate version"), self._transaction() as tx:
            tx.save(certificate_row(self._row, certificate))
            tx.update(row, actions=[self._row.data.set(codec.version_to_data(version))])
            tx.save(self._revoked_row(entry))
            if compromised is not None:
                tx.save(compromised)
            tx.save(self._audit_row(audit))
        return replace(certificate, row_version=certificate.row_version + 1)

    def revoke_authority_version(
        self,
        ca: CertificateAuthority,
        entries: Sequence[RevokedEntry],
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> CertificateAuthority:
        """Revoke a subordinate CA: every version named in `entries` (they share its key), the CA row, the
        issuer's revoked list and the audit record, in one transaction."""
        numbers = {entry.version_number for entry in entries}
        with self._errors("list CA versions"):
            rows = [
                r
                for r in self._row.query(f"CA#{ca.id}", self._row.sk.startswith("V#"), consistent_read=True)
                if int(r.data["versionNumber"]) in numbers
            ]
        if len(rows) != len(numbers):
            raise ConflictError("a CA version vanished", code="ConcurrentModification")
        by_number = {entry.version_number: entry for entry in entries}
        compromised = self._compromised_row(compromised_key, entries[0]) if compromised_key and entries else None
        with self._errors("revoke certificate authority"), self._transaction() as tx:
            tx.save(authority_row(self._row, ca))
            for row in rows:
                entry = by_number[int(row.data["versionNumber"])]
                revocation = {"reason": entry.reason.value, "revokedAt": codec.iso(entry.revoked_at)}
                tx.update(row, actions=[self._row.data.set({**row.data, "revocation": revocation})])
            for entry in entries:
                tx.save(self._revoked_row(entry))
            if compromised is not None:
                tx.save(compromised)
            tx.save(self._audit_row(audit))
        return replace(ca, row_version=ca.row_version + 1)

    def revoked_entries(self, ca_id: str) -> list[RevokedEntry]:
        """Every serial `ca_id` has revoked (the whole list, for a CRL built at once)."""
        with self._errors("list revoked serials"):
            rows = self._row.query(f"REVOKED#{ca_id}", consistent_read=True)
            return [codec.revoked_entry_from_data(r.data) for r in rows]

    def key_compromised(self, fingerprint: str) -> bool:
        return self._get(f"COMPROMISED#{fingerprint}", "K") is not None

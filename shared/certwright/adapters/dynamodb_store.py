"""The Store port on DynamoDB: conditional, version-guarded transactions so concurrent writers never lose updates."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.aws_errors import translate
from certwright.adapters.dynamodb_models import Row
from certwright.domain.association import Association
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CaVersion, CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.repair import repair_due
from certwright.domain.revocation import RevokedEntry
from certwright.domain.stages import Stage
from certwright.errors import CertwrightError, ConflictError, DependencyError, InvalidInputError
from certwright.ports import Page, Reservation, SerialClaim

# Partitions of the sparse RenewalDue index: certificates the sweep must visit, deployments to retry.
SWEEP_PARTITION = "SWEEP"
DEPLOY_RETRY_PARTITION = "DEPLOY_RETRY"
# ... and CAs, certificates and versions pending deletion, by time of deletion (adapters/dynamodb_deletion.py).
DELETION_PARTITION = "DELETION"
# ... and reserved versions not yet published, by when the repair pass may act on them (adapters/dynamodb_repair.py).
IN_FLIGHT_PARTITION = "IN_FLIGHT"
# A page token is a base64 DynamoDB key of four short strings (about 300 characters); longer ones are refused.
MAX_PAGE_TOKEN = 2048


def _deletion_index(row: Row, state: LifecycleState, deletion_time: datetime | None) -> Row:
    """Put a row pending deletion into the DELETION partition, keyed by its time of deletion."""
    if state is LifecycleState.PENDING_DELETION and deletion_time is not None:
        row.renewal_pk, row.renewal_at = DELETION_PARTITION, codec.iso(deletion_time)
    return row


def _versioned(row: Row, row_version: int) -> Row:
    """Carry a stored row's version, so the write is conditional on it; a new row has none."""
    if row_version:
        row.row_version = row_version
    return row


def _version_sk(number: int) -> str:
    return f"V#{number:08d}"


def _target_row(model: type[Row], a: Association) -> Row:
    """The one row per (certificate, associated resource): the duplicate check lists associations from an index,
    which a parallel creation's write may not have reached yet; this row, written with the association, cannot be
    written twice."""
    digest = hashlib.sha256(a.associated_resource_id.encode()).hexdigest()[:32]
    data = {"associationId": a.id, "associatedResourceId": a.associated_resource_id}
    return model(f"CERT#{a.certificate_id}", f"TARGET#{digest}", kind="ASSOC_TARGET", data=data)


# One row per association with an endpoint, in one partition: the prober pages through it with a Query (no scan).
PROBED_PK = "PROBED"


def _probed_row(model: type[Row], a: Association) -> Row:
    """The pointer row the prober finds an association with an endpoint by (written and deleted with it)."""
    return model(PROBED_PK, f"ASSOC#{a.id}", kind="PROBE_TARGET", data={"associationId": a.id})


class DynamoDbStore:
    def __init__(self, model: type[Row], connection: Connection) -> None:
        self._row = model
        self._connection = connection

    # -- plumbing -------------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except TransactWriteError as err:
            reasons = [r.code for r in (err.cancellation_reasons or []) if r is not None and r.code]
            if "ConditionalCheckFailed" in reasons:
                raise ConflictError(
                    f"{action}: the resource changed concurrently or already exists; retry",
                    code="ConcurrentModification",
                ) from err
            raise translate_pynamo(err, action) from err
        except PynamoDBException as err:
            raise translate_pynamo(err, action) from err

    def _transaction(self) -> TransactWrite:
        return TransactWrite(connection=self._connection)

    def _audit_row(self, entry: AuditRecord) -> Row:
        return self._row(
            f"AUDIT#{entry.resource_id}",
            f"{codec.iso(entry.at)}#{uuid.uuid4().hex[:12]}",
            kind="AUDIT",
            data=codec.audit_to_data(entry),
        )

    def _get(self, pk: str, sk: str) -> Row | None:
        with self._errors("read"):
            try:
                return self._row.get(pk, sk, consistent_read=True)
            except DoesNotExist:
                return None

    @staticmethod
    def _page_token(last_key: dict[str, Any] | None) -> str | None:
        if not last_key:
            return None
        return base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode()

    @staticmethod
    def _start_key(token: str | None, fixed: dict[str, str], free: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The start key a page token carries: only a key of this very listing, else 400 InvalidPageToken.

        A key is `pk`, `sk` and the listing's index attributes, each a string; `fixed` names the attributes
        whose value the listing decides (its partition), `free` the others (its sort key). Anything else,
        or a key of another listing, would reach DynamoDB as a ValidationException (a 5xx) or page wrongly.
        """
        if not token:
            return None
        invalid = InvalidInputError("page token is not valid", code="InvalidPageToken")
        if len(token) > MAX_PAGE_TOKEN:
            raise invalid
        try:
            key = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        except (ValueError, UnicodeError, RecursionError) as err:
            raise invalid from err
        names = {"pk", "sk", *fixed, *free}
        if not isinstance(key, dict) or set(key) != names:
            raise invalid
        for value in key.values():
            if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str):
                raise invalid
        if any(key[name]["S"] != expected for name, expected in fixed.items()):
            raise InvalidInputError("page token does not belong to this listing", code="InvalidPageToken")
        return key

    # -- authorities ----------------------------------------------------------------------------------

    def _authority_row(self, ca: CertificateAuthority) -> Row:
        row = self._row(
            f"CA#{ca.id}",
            "A",
            kind="CA",
            data=codec.authority_to_data(ca),
            list_pk="CA",
            list_sk=f"{codec.iso(ca.created_at)}#{ca.id}",
            parent_pk=f"CA#{ca.issuer_id}" if ca.issuer_id else None,
        )
        return _versioned(_deletion_index(row, ca.lifecycle_state, ca.deletion_time), ca.row_version)

    def begin_authority(self, ca: CertificateAuthority, claim: SerialClaim) -> CertificateAuthority:
        with self._errors("create certificate authority"), self._transaction() as tx:
            tx.save(self._authority_row(ca))
            tx.save(self._serial_row(claim))
        return replace(ca, row_version=1)

    def complete_authority(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        version = ca.current_version
        if version is None:
            raise DependencyError("an authority is completed with its first version")
        with self._errors("activate certificate authority"), self._transaction() as tx:
            tx.save(self._authority_row(ca))
            tx.save(self._authority_version_row(ca.id, version))
            tx.save(self._audit_row(audit))
        return replace(ca, row_version=ca.row_version + 1)

    def _authority_version_row(self, ca_id: str, version: CaVersion) -> Row:
        return self._row(
            f"CA#{ca_id}",
            _version_sk(version.version_number),
            kind="CA_VERSION",
            data=codec.authority_version_to_data(version),
        )

    def claim_serial(self, claim: SerialClaim) -> None:
        """Claim a serial on its own (conditional on its absence) before the CA signs with it."""
        with self._errors("claim serial number"):
            self._serial_row(claim).save()

    def add_authority_version(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        """`ca` with a new current version: the CA row, the new version row, older versions' stages, the audit."""
        version = ca.current_version
        if version is None:
            raise DependencyError("a new CA version is the CA's current version")
        with self._errors("list CA versions"):
            older = list(self._row.query(f"CA#{ca.id}", self._row.sk.startswith("V#"), consistent_read=True))
        with self._errors("add certificate authority version"), self._transaction() as tx:
            tx.save(self._authority_row(ca))
            tx.save(self._authority_version_row(ca.id, version))
            for row in older:
                number = int(row.data["versionNumber"])
                stages = ["PREVIOUS"] if number == version.version_number - 1 else ["DEPRECATED"]
                if list(row.data.get("stages", [])) != stages:
                    tx.update(row, actions=[self._row.data.set({**row.data, "stages": stages})])
            tx.save(self._audit_row(audit))
        return replace(ca, row_version=ca.row_version + 1)

    def save_authority(self, ca: CertificateAuthority) -> CertificateAuthority:
        with self._errors("update certificate authority"):
            self._authority_row(ca).save()
        return replace(ca, row_version=ca.row_version + 1)

    def get_authority(self, ca_id: str) -> CertificateAuthority | None:
        row = self._get(f"CA#{ca_id}", "A")
        return None if row is None else codec.authority_from_data(row.data, row.row_version)

    def list_authorities(self, limit: int, token: str | None) -> Page[CertificateAuthority]:
        with self._errors("list certificate authorities"):
            result = self._row.by_kind.query(
                "CA", limit=limit, last_evaluated_key=self._start_key(token, {"list_pk": "CA"}, ("list_sk",))
            )
            items = [codec.authority_from_data(r.data, r.row_version) for r in result]
            return Page(items, self._page_token(result.last_evaluated_key))

    def children_of(self, ca_id: str) -> Iterator[Certificate | CertificateAuthority]:
        """Certificates and subordinate CAs `ca_id` issued (the ByParent index), read lazily page by page."""
        with self._errors("list children of certificate authority"):
            for r in self._row.by_parent.query(f"CA#{ca_id}"):
                if r.kind == "CERT":
                    yield codec.certificate_from_data(r.data, r.row_version)
                elif r.kind == "CA":
                    yield codec.authority_from_data(r.data, r.row_version)

    def list_authority_versions(self, ca_id: str) -> list[CaVersion]:
        with self._errors("list CA versions"):
            rows = self._row.query(f"CA#{ca_id}", self._row.sk.startswith("V#"), consistent_read=True)
            return [codec.authority_version_from_data(r.data) for r in rows]

    def _serial_row(self, claim: SerialClaim) -> Row:
        return self._row(
            f"SERIAL#{claim.issuer_ca_id}#{claim.serial_number}",
            "S",
            kind="SERIAL",
            data={"issuer": claim.issuer_ca_id, "serialNumber": claim.serial_number},
        )

    # -- certificates ---------------------------------------------------------------------------------

    def _certificate_row(self, c: Certificate) -> Row:
        row = self._row(
            f"CERT#{c.id}",
            "C",
            kind="CERT",
            data=codec.certificate_to_data(c),
            list_pk="CERT",
            list_sk=f"{codec.iso(c.created_at)}#{c.id}",
            parent_pk=f"CA#{c.issuer_ca_id}" if c.issuer_ca_id else None,
            renewal_pk=SWEEP_PARTITION if c.next_check_at and c.lifecycle_state is LifecycleState.ACTIVE else None,
            renewal_at=codec.iso(c.next_check_at) if c.next_check_at else None,
        )
        return _versioned(_deletion_index(row, c.lifecycle_state, c.deletion_time), c.row_version)

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
        with self._errors(action), self._transaction() as tx:
            tx.save(self._certificate_row(certificate))
            tx.save(
                self._row(
                    f"CERT#{certificate.id}",
                    _version_sk(version.version_number),
                    kind="CERT_VERSION",
                    data=codec.version_to_data(version),
                    # In flight until published or failed: the repair pass finds it here if its writer dies.
                    renewal_pk=IN_FLIGHT_PARTITION,
                    renewal_at=codec.iso(repair_due(version.created_at)),
                )
            )
            if claim is not None:
                tx.save(self._serial_row(claim))
            if reservation is not None:
                tx.save(self._reservation_row(reservation))
        return replace(certificate, row_version=certificate.row_version + 1)

    def _reservation_row(self, r: Reservation) -> Row:
        row = self._row(
            f"REQ#{r.token}",
            "R",
            kind="REQUEST",
            data={
                "certificateId": r.certificate_id,
                "versionNumber": r.version_number,
                "expiresAt": codec.iso(r.expires_at),
            },
        )
        return _versioned(row, r.row_version)

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
        with self._errors("complete certificate version"), self._transaction() as tx:
            tx.save(self._certificate_row(certificate))
            tx.update(
                self._row(f"CERT#{certificate.id}", _version_sk(version.version_number), row_version=1),
                actions=[
                    self._row.data.set(codec.version_to_data(version)),
                    self._row.secret.set(sealed_key) if sealed_key else self._row.secret.remove(),
                    self._row.renewal_pk.remove(),
                    self._row.renewal_at.remove(),
                    *_lookup_actions(self._row, version),
                ],
            )
            for row, stages in rows:
                tx.update(row, actions=[self._row.data.set({**row.data, "stages": sorted(stages)})])
            tx.save(self._audit_row(audit))
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
        row = self._get(f"CERT#{certificate.id}", _version_sk(version_number))
        if row is None:
            return
        if row.data.get("stages"):
            # Only a reserved version (no stages yet) may fail; a published one is never overwritten.
            raise ConflictError(f"version {version_number} is no longer reserved", code="ConcurrentModification")
        if failed_certificate is not None:
            with self._errors("mark certificate failed"):
                self._certificate_row(failed_certificate).save()
        data = {**row.data, "stages": [Stage.FAILED.value], "failureReason": reason[:500]}
        with self._errors("mark version failed"):
            row.update(actions=[self._row.data.set(data), self._row.renewal_pk.remove(), self._row.renewal_at.remove()])
        if audit is not None:
            self.record(audit)

    def change_stages(
        self, certificate: Certificate, stage_changes: Mapping[int, frozenset[Stage]], audit: AuditRecord
    ) -> Certificate:
        rows = self._version_rows(certificate.id, stage_changes)
        with self._errors("change version stages"), self._transaction() as tx:
            tx.save(self._certificate_row(certificate))
            for row, stages in rows:
                tx.update(row, actions=[self._row.data.set({**row.data, "stages": sorted(stages)})])
            tx.save(self._audit_row(audit))
        return replace(certificate, row_version=certificate.row_version + 1)

    def _version_rows(
        self, certificate_id: str, changes: Mapping[int, frozenset[Stage]]
    ) -> list[tuple[Row, frozenset[Stage]]]:
        rows = []
        for number, stages in sorted(changes.items()):
            row = self._get(f"CERT#{certificate_id}", _version_sk(number))
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
            tx.save(self._certificate_row(certificate))
            tx.save(self._audit_row(audit))
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
        row = self._get(f"CERT#{certificate_id}", _version_sk(version_number))
        return None if row is None else codec.version_from_data(row.data)

    def get_sealed_key(self, certificate_id: str, version_number: int) -> bytes | None:
        row = self._get(f"CERT#{certificate_id}", _version_sk(version_number))
        return None if row is None or row.secret is None else bytes(row.secret)

    # -- associations ---------------------------------------------------------------------------------

    def _association_row(self, a: Association, retry_at: datetime | None = None) -> Row:
        row = self._row(
            f"ASSOC#{a.id}",
            "A",
            kind="ASSOC",
            data=codec.association_to_data(a),
            list_pk="ASSOC",
            list_sk=f"{codec.iso(a.created_at)}#{a.id}",
            parent_pk=f"BUNDLE#{a.ca_bundle_id}" if a.ca_bundle_id else f"CERT#{a.certificate_id}",
            renewal_pk=DEPLOY_RETRY_PARTITION if retry_at else None,
            renewal_at=codec.iso(retry_at) if retry_at else None,
        )
        return _versioned(row, a.row_version)

    def save_association(self, association: Association, *, retry_at: datetime | None = None) -> Association:
        with self._errors("update association"):
            self._association_row(association, retry_at).save()
        return replace(association, row_version=association.row_version + 1)

    def deployments_to_retry(self, now: datetime, limit: int) -> list[Association]:
        with self._errors("list deployments to retry"):
            rows = self._row.renewal_due.query(
                DEPLOY_RETRY_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit
            )
            return [codec.association_from_data(r.data, r.row_version) for r in rows]

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

    # -- the sweep ------------------------------------------------------------------------------------

    def due_for_sweep(self, now: datetime, limit: int) -> list[Certificate]:
        """Certificates whose next check has come; reads only those (a query on the sparse index)."""
        with self._errors("list certificates due"):
            rows = self._row.renewal_due.query(SWEEP_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit)
            return [codec.certificate_from_data(r.data, r.row_version) for r in rows]

    def save_sweep(self, certificate: Certificate) -> Certificate:
        """The sweep's bookkeeping (lease, alerts, next check), conditional on the row version it read."""
        with self._errors("update certificate"):
            self._certificate_row(certificate).save()
        return replace(certificate, row_version=certificate.row_version + 1)

    def add_association(self, association: Association, audit: AuditRecord) -> Association:
        certificate = self.get_certificate(association.certificate_id)
        if certificate is None:
            raise ConflictError("certificate vanished", code="ConcurrentModification")
        certificate.ensure_active()
        counted = replace(certificate, association_count=certificate.association_count + 1)
        with self._errors("create association"), self._transaction() as tx:
            tx.save(self._association_row(association))
            tx.save(_target_row(self._row, association))  # a new row: two parallel creations cannot both commit
            if association.endpoint is not None:
                tx.save(_probed_row(self._row, association))
            tx.save(self._certificate_row(counted))
            tx.save(self._audit_row(audit))
        return replace(association, row_version=1)

    def remove_association(self, association: Association, audit: AuditRecord) -> None:
        certificate = self.get_certificate(association.certificate_id)
        with self._errors("delete association"), self._transaction() as tx:
            tx.delete(self._association_row(association))
            tx.delete(_target_row(self._row, association), add_version_condition=False)  # older ones have none
            if association.endpoint is not None:
                tx.delete(_probed_row(self._row, association), add_version_condition=False)
            if certificate is not None:
                count = max(0, certificate.association_count - 1)
                tx.save(self._certificate_row(replace(certificate, association_count=count)))
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

    def associations_of(self, certificate_id: str) -> list[Association]:
        with self._errors("list associations"):
            rows = self._row.by_parent.query(f"CERT#{certificate_id}")
            return [codec.association_from_data(r.data, r.row_version) for r in rows if r.kind == "ASSOC"]

    def probed_associations(self, limit: int, token: str | None) -> Page[str]:
        """A page of the ids of associations with an endpoint (the PROBED partition's pointer rows)."""
        with self._errors("list probed associations"):
            start = self._start_key(token, {"pk": PROBED_PK})
            result = self._row.query(PROBED_PK, limit=limit, last_evaluated_key=start)
            ids = [str(r.data["associationId"]) for r in result]
            return Page(ids, self._page_token(result.last_evaluated_key))

    def record_probe(self, association: Association) -> Association:
        """Write the association's `probe` only, conditional on its row version (other attributes stay as they are).

        ConflictError when the association changed (or went) since it was read: the next run probes it again.
        """
        row = _versioned(self._row(f"ASSOC#{association.id}", "A"), association.row_version)
        with self._errors("record probe"):
            row.update(actions=[self._row.data.set(codec.association_to_data(association))])
        return replace(association, row_version=association.row_version + 1)

    # -- revocation -----------------------------------------------------------------------------------

    def next_issuance_index(self, ca_id: str) -> int:
        """Count one more certificate issued by `ca_id` (an atomic ADD, no contention); returns the new count."""
        with self._errors("count issuance"):
            answer = self._connection.update_item(
                self._row.Meta.table_name,
                f"CA#{ca_id}",
                "ISSUED",
                actions=[self._row.issued.add(1), self._row.kind.set("ISSUANCE_COUNTER")],
                return_values="UPDATED_NEW",
            )
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
        row = self._get(f"CERT#{certificate.id}", _version_sk(version.version_number))
        if row is None:
            raise ConflictError(f"version {version.version_number} vanished", code="ConcurrentModification")
        if row.data.get("revocation"):
            raise ConflictError(f"version {version.version_number} is already revoked", code="AlreadyRevoked")
        compromised = self._compromised_row(compromised_key, entry) if compromised_key else None
        with self._errors("revoke certificate version"), self._transaction() as tx:
            tx.save(self._certificate_row(certificate))
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
            tx.save(self._authority_row(ca))
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

    # -- audit ----------------------------------------------------------------------------------------

    def record(self, entry: AuditRecord) -> None:
        with self._errors("write audit record"):
            self._audit_row(entry).save()

    def list_for(self, resource_id: str, limit: int) -> list[AuditRecord]:
        with self._errors("list audit records"):
            rows = self._row.query(f"AUDIT#{resource_id}", limit=limit, scan_index_forward=False)
            return [codec.audit_from_data(r.data) for r in rows]

    def audit_page(self, resource_id: str, limit: int, token: str | None) -> Page[AuditRecord]:
        """One page of `resource_id`'s audit records, newest first."""
        start = self._start_key(token, {"pk": f"AUDIT#{resource_id}"})
        with self._errors("list audit records"):
            result = self._row.query(
                f"AUDIT#{resource_id}", limit=limit, scan_index_forward=False, last_evaluated_key=start
            )
            items = [codec.audit_from_data(r.data) for r in result]
            return Page(items, self._page_token(result.last_evaluated_key))


def _lookup_actions(row: type[Row], version: CertificateVersion) -> list[Any]:
    """The published version's BySerial/ByFingerprint keys (adapters/dynamodb_lookup.py)."""
    serial, fingerprint = codec.lookup_keys(version)
    return [row.serial_key.set(serial), row.fingerprint_key.set(fingerprint)]


def translate_pynamo(err: PynamoDBException, action: str) -> CertwrightError:
    cause = err.cause
    if isinstance(cause, Exception):
        return translate(cause, action)
    return DependencyError(f"{action} failed")

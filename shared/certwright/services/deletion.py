"""Scheduled deletion: schedule and cancel it for certificate versions, and carry out every deletion that is due.

CAs and certificates are scheduled by their own services; this one deletes them when their time comes, with the
guards checked again: a certificate loses every sealed private key and its ACM copies, a CA has its KMS key
scheduled for deletion (KMS keeps its own 7-day window), and both stay as DELETED tombstones so their audit trail
survives and reads answer 404. Each deletion leaves an audit record by `certwright-sweep`. Work per run is bounded;
a deletion that fails stays due and is tried again on the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.deletion import (
    BLOCKED_RETRY,
    DueCaVersion,
    ca_version_deprecated,
    ca_version_state,
    ensure_authority_deletable,
    ensure_not_due,
    ensure_version_deletable,
    version_serves,
    version_state,
)
from certwright.errors import CertwrightError, ConflictError, NotFoundError
from certwright.ports import AcmPort, CaKeyProvider, DeletionStore
from certwright.services.authorities import deletion_time
from certwright.services.commands import ScheduleDeletion
from certwright.services.context import Runtime

SWEEP_CALLER = "certwright-sweep"
DEFAULT_BATCH = 25


@dataclass
class DeletionReport:
    examined: int = 0
    certificates_deleted: int = 0
    authorities_deleted: int = 0
    versions_deleted: int = 0
    blocked: int = 0
    failed: int = 0
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class DeletionService:
    def __init__(
        self,
        store: DeletionStore,
        keys: CaKeyProvider,
        acm: AcmPort,
        runtime: Runtime,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._store = store
        self._keys = keys
        self._acm = acm
        self._rt = runtime
        self._batch = batch

    # -- versions: schedule and cancel ----------------------------------------------------------------

    def _version(self, certificate_id: str, version_number: int) -> tuple[Certificate, CertificateVersion]:
        certificate = self._store.get_certificate(certificate_id)
        if certificate is None or certificate.lifecycle_state is LifecycleState.DELETED:
            raise NotFoundError(f"certificate {certificate_id} not found")
        version = self._store.get_version(certificate_id, version_number)
        if version is None:
            raise NotFoundError(f"certificate {certificate_id} has no version {version_number}")
        return certificate, version

    def schedule_version_deletion(
        self, certificate_id: str, version_number: int, command: ScheduleDeletion, caller: str
    ) -> CertificateVersion:
        certificate, version = self._version(certificate_id, version_number)
        certificate.ensure_active()
        ensure_version_deletable(version)
        when = deletion_time(command, self._rt.clock())
        audit = self._rt.audit(
            certificate_id,
            "ScheduleCertificateVersionDeletion",
            caller,
            versionNumber=str(version_number),
            timeOfDeletion=when.isoformat(),
        )
        return self._store.schedule_version_deletion(version, when, audit)

    def cancel_version_deletion(self, certificate_id: str, version_number: int, caller: str) -> CertificateVersion:
        _, version = self._version(certificate_id, version_number)
        if version_state(version) is not LifecycleState.PENDING_DELETION:
            raise ConflictError(f"version {version_number} is not pending deletion", code="InvalidState")
        ensure_not_due(version.deletion_time, self._rt.clock())
        audit = self._rt.audit(
            certificate_id, "CancelCertificateVersionDeletion", caller, versionNumber=str(version_number)
        )
        return self._store.cancel_version_deletion(version, audit)

    # -- the sweep ------------------------------------------------------------------------------------

    def run(self, has_time: Callable[[], bool] = lambda: True) -> dict[str, Any]:
        report = DeletionReport()
        due = self._store.due_for_deletion(self._rt.clock(), self._batch)
        for item in due:
            if not has_time():
                report.more = True
                break
            report.examined += 1
            try:
                if isinstance(item, DueCaVersion):
                    self._delete_ca_version(item.ca_id, item.version.version_number, report)
                elif isinstance(item, CertificateAuthority):
                    self._delete_authority(item.id, report)
                elif isinstance(item, Certificate):
                    self._delete_certificate(item.id, report)
                else:
                    self._delete_version(item.certificate_id, item.version_number, report)
            except CertwrightError:
                report.failed += 1  # still due: the next run tries again
        report.more = report.more or len(due) == self._batch
        return report.as_dict()

    def _due(self, state: LifecycleState, when: datetime | None) -> bool:
        return state is LifecycleState.PENDING_DELETION and when is not None and when <= self._rt.clock()

    def _delete_certificate(self, certificate_id: str, report: DeletionReport) -> None:
        certificate = self._store.get_certificate(certificate_id)
        if certificate is None or not self._due(certificate.lifecycle_state, certificate.deletion_time):
            return
        now = self._rt.clock()
        in_use = certificate.association_count or self._store.associations_of(certificate_id)
        if in_use:
            report.blocked += 1
            self._store.save_certificate(
                replace(certificate, deletion_time=now + BLOCKED_RETRY),
                self._sweep_audit(certificate_id, "DeleteCertificate", "FAILED", reason="CertificateInUse"),
            )
            return
        versions = self._store.list_versions(certificate_id)
        for version in versions:
            self._store.destroy_version_key(certificate_id, version.version_number, now)
        copies = sorted(self._store.acm_copies(certificate_id))
        kept = []
        for arn in copies:
            if not self._acm.delete(arn):
                kept.append(arn)  # something outside Certwright still uses it: it stays in ACM, and on the record
            self._store.forget_acm_copy(certificate_id, arn)
        self._store.save_certificate(
            replace(certificate, lifecycle_state=LifecycleState.DELETED, next_check_at=None),
            self._sweep_audit(
                certificate_id,
                "DeleteCertificate",
                "SUCCEEDED",
                versionsDestroyed=str(len(versions)),
                acmCopiesRemoved=str(len(copies) - len(kept)),
                acmCopiesLeftInUse=",".join(kept)[:1000],
            ),
        )
        report.certificates_deleted += 1

    def _delete_authority(self, ca_id: str, report: DeletionReport) -> None:
        ca = self._store.get_authority(ca_id)
        if ca is None or not self._due(ca.lifecycle_state, ca.deletion_time):
            return
        now = self._rt.clock()
        try:
            ensure_authority_deletable(self._store, ca_id, now)
        except ConflictError as err:
            report.blocked += 1
            self._store.save_authority(replace(ca, deletion_time=now + BLOCKED_RETRY))
            self._store.record(
                self._sweep_audit(ca_id, "DeleteCertificateAuthority", "FAILED", reason=err.code, detail=err.message)
            )
            return
        # A key brought by the customer (kmsKeyId at create) is theirs: Certwright never schedules its deletion;
        # an external root has no key here at all.
        scheduled = ca.holds_key and not ca.key_imported
        if scheduled:
            self._keys.schedule_key_deletion(ca.kms_key_id)
        kms_key = "scheduled" if scheduled else ("kept" if ca.key_imported else "none")
        # Audit first: a crash before the state change repeats the record, never loses it.
        self._store.record(self._sweep_audit(ca_id, "DeleteCertificateAuthority", "SUCCEEDED", kmsKey=kms_key))
        self._store.save_authority(ca.with_state(LifecycleState.DELETED))
        report.authorities_deleted += 1

    def _delete_version(self, certificate_id: str, version_number: int, report: DeletionReport) -> None:
        version = self._store.get_version(certificate_id, version_number)
        if version is None or version_state(version) is not LifecycleState.PENDING_DELETION:
            return
        if version.deletion_time is None or version.deletion_time > self._rt.clock():
            return
        details = {"versionNumber": str(version_number)}
        if version_serves(version):
            # Rolled back to since it was scheduled: it serves again, so the deletion is called off.
            report.blocked += 1
            self._store.cancel_version_deletion(
                version,
                self._sweep_audit(
                    certificate_id, "DeleteCertificateVersion", "FAILED", reason="VersionInUse", **details
                ),
            )
            return
        self._store.record(self._sweep_audit(certificate_id, "DeleteCertificateVersion", "SUCCEEDED", **details))
        self._store.destroy_version_key(certificate_id, version_number, self._rt.clock())
        report.versions_deleted += 1

    def _delete_ca_version(self, ca_id: str, version_number: int, report: DeletionReport) -> None:
        """Mark a due DEPRECATED CA version DELETED. Its key is the CA's (every version shares it), so nothing is
        destroyed: the version's certificate is retired and can no longer be promoted."""
        ca = self._store.get_authority(ca_id)
        versions = self._store.list_authority_versions(ca_id)
        version = next((v for v in versions if v.version_number == version_number), None)
        if ca is None or version is None or ca_version_state(version) is not LifecycleState.PENDING_DELETION:
            return
        now = self._rt.clock()
        if version.deletion_time is None or version.deletion_time > now:
            return
        details = {"versionNumber": str(version_number)}
        if not ca_version_deprecated(version):
            # No longer DEPRECATED alone since it was scheduled: the deletion is called off.
            report.blocked += 1
            self._store.save_authority_versions(
                ca,
                [replace(version, deletion_time=None)],
                self._sweep_audit(
                    ca_id, "DeleteCertificateAuthorityVersion", "FAILED", reason="VersionInUse", **details
                ),
            )
            return
        self._store.save_authority_versions(
            ca,
            [replace(version, deleted_at=now)],
            self._sweep_audit(ca_id, "DeleteCertificateAuthorityVersion", "SUCCEEDED", **details),
        )
        report.versions_deleted += 1

    def _sweep_audit(self, resource_id: str, action: str, result: str, **details: str) -> AuditRecord:
        return self._rt.audit(resource_id, action, SWEEP_CALLER, result, **details)

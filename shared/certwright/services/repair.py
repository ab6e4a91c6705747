"""The repair pass: half-done creates and renewals (a reserved version whose writer died) become FAILED, visibly.

Run by the renewal sweep on every invocation. It reads only reservations old enough to act on (the IN_FLIGHT
partition, adapters/dynamodb_repair.py), decides with certwright.domain.repair, and writes each outcome in one
transaction: the version FAILED with its reason (the outbox announces CertificateVersionFailed), a create's
certificate FAILED with it (so it can be deleted, or resumed by a retry with the same Idempotency-Key), and an
audit record by `certwright:repair`. A reservation changed meanwhile is left for the next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from certwright.domain.authority import LifecycleState
from certwright.domain.repair import RepairAction, decide
from certwright.errors import ConflictError
from certwright.ports import RepairStore
from certwright.services.context import Runtime

REPAIR_CALLER = "certwright:repair"
DEFAULT_BATCH = 25


@dataclass
class RepairReport:
    examined: int = 0
    failed_creates: int = 0
    failed_versions: int = 0
    skipped: int = 0
    more: bool = False

    @property
    def repaired(self) -> int:
        return self.failed_creates + self.failed_versions

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RepairPass:
    def __init__(self, store: RepairStore, runtime: Runtime, batch: int = DEFAULT_BATCH) -> None:
        self._store = store
        self._rt = runtime
        self._batch = batch

    def run(self, has_time: Callable[[], bool] = lambda: True) -> RepairReport:
        report = RepairReport()
        due = self._store.in_flight(self._rt.clock(), self._batch)
        for reserved in due:
            if not has_time():
                report.more = True
                break
            report.examined += 1
            try:
                self._repair(reserved.certificate_id, reserved.version_number, report)
            except ConflictError:
                report.skipped += 1  # a retry or a late writer got there first; the next pass looks again
        report.more = report.more or len(due) == self._batch
        return report

    def _repair(self, certificate_id: str, version_number: int, report: RepairReport) -> None:
        now = self._rt.clock()
        certificate = self._store.get_certificate(certificate_id)
        version = self._store.get_version(certificate_id, version_number)
        decision = decide(certificate, version, now)
        if decision.action is RepairAction.NOTHING:
            self._store.forget_in_flight(certificate_id, version_number)
            return
        if decision.action is RepairAction.WAIT or certificate is None:
            report.skipped += 1
            return
        creating = decision.action is RepairAction.FAIL_CREATE
        audit = self._rt.audit(
            certificate_id,
            "CreateCertificate" if creating else "CreateCertificateVersion",
            REPAIR_CALLER,
            "FAILED",
            versionNumber=str(version_number),
            reason=decision.reason,
        )
        failed = replace(certificate, lifecycle_state=LifecycleState.FAILED) if creating else None
        self._store.fail_version(certificate, version_number, decision.reason, audit=audit, failed_certificate=failed)
        if creating:
            report.failed_creates += 1
        else:
            report.failed_versions += 1

"""The renewal sweep: renew certificates that are due, raise expiry, expired and overdue alerts (deployments are
retried by the deployer's own schedule, which holds the permissions to deploy).

It reads only what is due (the sparse RenewalDue index), claims each certificate with a lease written
under the row version (so two sweeps never renew the same certificate), and writes its bookkeeping
back; the outbox turns that bookkeeping into CertificateExpiring, CertificateExpired, RenewalFailed and
RenewalOverdue.
Work per invocation is bounded; what is left stays due and is picked up by the next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from certwright.domain.certificate import Certificate
from certwright.domain.stages import Stage
from certwright.domain.sweep import Decision, SweepState, after_failure, after_success, decide
from certwright.errors import CertwrightError, ConflictError
from certwright.ports import Store
from certwright.services.context import Runtime
from certwright.services.issuance import IssuanceService
from certwright.services.reindex import ReindexPass
from certwright.services.repair import RepairPass

SWEEP_CALLER = "certwright:renewal-sweep"
LEASE = timedelta(minutes=5)
DEFAULT_BATCH = 25


@dataclass
class SweepReport:
    examined: int = 0
    renewed: int = 0
    failed: int = 0
    alerts: int = 0
    expired: int = 0
    overdue: int = 0
    skipped: int = 0
    more: bool = False
    repaired: int = 0  # half-done creates and renewals marked FAILED (services/repair.py)
    reindexed: int = 0  # inventory index rows written or deleted by this run's reindex page (services/reindex.py)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RenewalSweep:
    def __init__(
        self,
        store: Store,
        issuance: IssuanceService,
        runtime: Runtime,
        batch: int = DEFAULT_BATCH,
        owner: str | None = None,
        repair: RepairPass | None = None,
        reindex: ReindexPass | None = None,
    ) -> None:
        self._store = store
        self._issuance = issuance
        self._rt = runtime
        self._batch = batch
        self._owner = owner or f"sweep-{uuid.uuid4().hex[:12]}"
        self._repair = repair
        self._reindex = reindex

    def run(self, has_time: Callable[[], bool] = lambda: True) -> dict[str, Any]:
        report = SweepReport()
        report.repaired = self._repair.run(has_time).repaired if self._repair else 0
        due = self._store.due_for_sweep(self._rt.clock(), self._batch)
        for certificate in due:
            if not has_time():
                report.more = True
                break
            report.examined += 1
            self._visit(certificate, report)
        report.more = report.more or len(due) == self._batch
        if self._reindex is not None and has_time():
            report.reindexed = self._reindex.run().written
        return report.as_dict()

    def _visit(self, certificate: Certificate, report: SweepReport) -> None:
        """Claim, decide (domain/sweep.py's chain of checks), renew, record what was decided, release."""
        now = self._rt.clock()
        claimed = self._claim(certificate, now)
        if claimed is None:
            report.skipped += 1
            return
        certificate = claimed
        state = certificate.sweep
        decision = self._decide(certificate, now)
        if decision.renew:
            assert certificate.renewal_rule is not None
            pending = certificate.renewal_rule.stage == "PENDING"
            try:
                self._issuance.renew(certificate.id, SWEEP_CALLER, stage="PENDING" if pending else "CURRENT")
                state = after_success(state)
                report.renewed += 1
                decision = replace(decision, overdue_for=None)  # late, but done: nothing is overdue any more
            except CertwrightError as err:
                state = after_failure(state, now, f"{err.code}: {err.message}")
                report.failed += 1
            judged = certificate.current_version_number
            certificate = self._issuance.get(certificate.id)
            if certificate.current_version_number != judged:
                # The alerts were for the version renewed away; the new CURRENT one is judged on its own.
                decision = replace(decision, alerts=(), expired=None)
        state = _recorded(state, decision, report)
        self._release(certificate, state, now, report)

    def _claim(self, certificate: Certificate, now: datetime) -> Certificate | None:
        """The certificate under this sweep's lease (written under its row version); None: someone else has it."""
        lease = certificate.sweep
        if lease.lease_owner not in (None, self._owner) and lease.lease_until and lease.lease_until > now:
            return None
        try:
            return self._store.save_sweep(
                replace(certificate, sweep=replace(lease, lease_owner=self._owner, lease_until=now + LEASE))
            )
        except ConflictError:
            return None  # another sweep (or a writer) got there first; it will be looked at again

    def _decide(self, certificate: Certificate, now: datetime) -> Decision:
        """The facts the checks need, read from the store, and their decision."""
        return decide(
            now=now,
            renews_itself=certificate.renews_itself,
            next_renewal_at=certificate.next_renewal_at,
            current_version=certificate.current_version_number,
            not_after=self._not_after(certificate),
            state=certificate.sweep,
            awaiting_promotion=self._awaiting_promotion(certificate),
            thresholds=certificate.expiry_alert_thresholds,
        )

    def _release(self, certificate: Certificate, state: SweepState, now: datetime, report: SweepReport) -> None:
        """Write the bookkeeping back without the lease, with the next moment to look at the certificate."""
        state = replace(state, lease_owner=None, lease_until=None)
        finished = replace(certificate, sweep=state).scheduled(now, self._not_after(certificate))
        try:
            self._store.save_sweep(finished)
        except ConflictError:
            report.skipped += 1  # changed meanwhile (a promote, a new version); the next pass sees it fresh

    def _awaiting_promotion(self, certificate: Certificate) -> bool:
        rule = certificate.renewal_rule
        if (
            rule is None
            or rule.stage != "PENDING"
            or certificate.latest_version_number <= certificate.current_version_number
        ):
            return False
        latest = self._store.get_version(certificate.id, certificate.latest_version_number)
        return latest is not None and Stage.PENDING in latest.stages

    def _not_after(self, certificate: Certificate) -> datetime | None:
        if not certificate.current_version_number:
            return None
        version = self._store.get_version(certificate.id, certificate.current_version_number)
        return version.validity.not_after if version else None


def _recorded(state: SweepState, decision: Decision, report: SweepReport) -> SweepState:
    """The alerts decided, recorded in the sweep state (the outbox turns the change into events) and counted."""
    if decision.alerts:
        state = replace(state, expiry_alerts=(*state.expiry_alerts, *decision.alerts))
        report.alerts += sum(1 for a in decision.alerts if a.announced)
    if decision.expired:
        state = replace(state, expired_alert=decision.expired)
        report.expired += 1
    if decision.overdue_for:
        state = replace(state, overdue_alerted_for=decision.overdue_for)
        report.overdue += 1
    return state

"""What the repair pass does with a half-done create or renewal (a reserved version nobody published); pure.

Issuance reserves a version (and, for a create, the certificate in CREATING) before KMS signs, and publishes it
after. A process that dies in between leaves the reservation behind. Its private key and signed certificate lived
only in the dead process's memory, so nothing can be finished: once the reservation is older than any invocation
can run (REPAIR_AFTER), the repair pass marks the version FAILED, and a certificate that never got a first version
FAILED with it, so the certificate can be retried (same Idempotency-Key), deleted, or ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion

# Longer than any Certwright function may run (the template's longest timeout is 300 s): a reservation this old
# belongs to an invocation that is gone, never to one still working on it.
REPAIR_AFTER = timedelta(minutes=10)
ABANDONED = "the request stopped before this version was published (crash or timeout); nothing was issued from it"


class RepairAction(StrEnum):
    NOTHING = "NOTHING"  # published, failed or gone meanwhile: only the stale index entry is dropped
    WAIT = "WAIT"  # not old enough: its invocation may still be running
    FAIL_VERSION = "FAIL_VERSION"  # a renewal that died: the certificate keeps its CURRENT version
    FAIL_CREATE = "FAIL_CREATE"  # a create that died: the version and the certificate become FAILED


@dataclass(frozen=True)
class RepairDecision:
    action: RepairAction
    reason: str = ""


def repair_due(reserved_at: datetime) -> datetime:
    """When the repair pass may act on a reservation made at `reserved_at`."""
    return reserved_at + REPAIR_AFTER


def is_reserved(version: CertificateVersion) -> bool:
    """Reserved and never published nor failed: no stage yet."""
    return not version.stages


def decide(certificate: Certificate | None, version: CertificateVersion | None, now: datetime) -> RepairDecision:
    if certificate is None or version is None or not is_reserved(version):
        return RepairDecision(RepairAction.NOTHING)
    if now < repair_due(version.created_at):
        return RepairDecision(RepairAction.WAIT)
    if certificate.lifecycle_state is LifecycleState.CREATING:
        return RepairDecision(RepairAction.FAIL_CREATE, ABANDONED)
    return RepairDecision(RepairAction.FAIL_VERSION, ABANDONED)


def resume_state(certificate: Certificate) -> LifecycleState | None:
    """The state a retried create may resume from (CREATING or FAILED, i.e. never published), else None."""
    if certificate.lifecycle_state in (LifecycleState.CREATING, LifecycleState.FAILED):
        return certificate.lifecycle_state
    return None

"""What may be deleted: the guards on CAs, certificates and versions, checked when scheduled and again when due; pure.

A CA stays while anything it issued can still be trusted: a certificate not deleted whose CURRENT version is neither
revoked nor expired, or a subordinate CA not deleted and not revoked. A version may be deleted only once it no
longer serves (PREVIOUS or DEPRECATED, never CURRENT, PENDING or LATEST). A CA version may be deleted only when
DEPRECATED alone: every version of a CA holds the same key, so deleting one retires its certificate (it can no
longer be promoted) and never touches the key that signed, and still signs, what the CA issued.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from certwright.domain.authority import CaVersion, CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.stages import Stage
from certwright.errors import ConflictError

# When a deletion falls due but its guard refuses (a writer raced the schedule), it is tried again this much later.
BLOCKED_RETRY = timedelta(hours=1)
_SERVING = frozenset({Stage.CURRENT, Stage.PENDING, Stage.LATEST})
_RETIRED = frozenset({Stage.PREVIOUS, Stage.DEPRECATED})


class ChildLookup(Protocol):
    def children_of(self, ca_id: str) -> Iterator[Certificate | CertificateAuthority]: ...

    def get_version(self, certificate_id: str, version_number: int) -> CertificateVersion | None: ...


# A certificate may be scheduled for deletion while ACTIVE, or FAILED (a create that never published a version).
SCHEDULABLE_STATES = frozenset({LifecycleState.ACTIVE, LifecycleState.FAILED})


def state_after_cancelled_deletion(certificate: Certificate) -> LifecycleState:
    """A cancelled deletion returns a certificate to ACTIVE, or to FAILED if it never had a CURRENT version."""
    return LifecycleState.ACTIVE if certificate.current_version_number else LifecycleState.FAILED


def ensure_not_due(deletion_time: datetime | None, now: datetime) -> None:
    """Once a deletion is due the sweep may be carrying it out (keys destroyed first): it can no longer be undone."""
    if deletion_time is not None and deletion_time <= now:
        raise ConflictError(
            f"the deletion was due at {deletion_time.isoformat()} and is under way; it cannot be cancelled",
            code="DeletionInProgress",
        )


def certificate_is_live(certificate: Certificate, current: CertificateVersion | None, now: datetime) -> bool:
    if certificate.lifecycle_state in (LifecycleState.DELETED, LifecycleState.FAILED):
        return False
    if current is None:
        return certificate.lifecycle_state is LifecycleState.CREATING  # its first version is being signed
    return current.revocation is None and current.validity.not_after > now


def authority_is_live(ca: CertificateAuthority) -> bool:
    if ca.lifecycle_state in (LifecycleState.DELETED, LifecycleState.FAILED):
        return False
    return ca.current_version is None or ca.current_version.revocation is None


def live_child(lookup: ChildLookup, ca_id: str, now: datetime) -> Certificate | CertificateAuthority | None:
    """The first child that keeps `ca_id` from being deleted, or None; stops reading at the first one."""
    for child in lookup.children_of(ca_id):
        if isinstance(child, CertificateAuthority):
            if authority_is_live(child):
                return child
            continue
        current = lookup.get_version(child.id, child.current_version_number) if child.current_version_number else None
        if certificate_is_live(child, current, now):
            return child
    return None


def ensure_authority_deletable(lookup: ChildLookup, ca_id: str, now: datetime) -> None:
    child = live_child(lookup, ca_id, now)
    if child is None:
        return
    what = "subordinate CA" if isinstance(child, CertificateAuthority) else "certificate"
    raise ConflictError(
        f"certificate authority {ca_id} still has a {what} that is neither deleted nor revoked "
        f"({child.id}, '{child.name}'); revoke or delete it first",
        code="CertificateAuthorityInUse",
    )


def version_state(version: CertificateVersion) -> LifecycleState:
    if version.deleted_at is not None:
        return LifecycleState.DELETED
    if version.deletion_time is not None:
        return LifecycleState.PENDING_DELETION
    return LifecycleState.ACTIVE


def version_serves(version: CertificateVersion) -> bool:
    return bool(version.stages & _SERVING)


def ensure_version_deletable(version: CertificateVersion) -> None:
    """Only a PREVIOUS or DEPRECATED version, not already pending deletion or deleted, may be scheduled."""
    state = version_state(version)
    if state is not LifecycleState.ACTIVE:
        raise ConflictError(f"version {version.version_number} is {state.value}", code="InvalidState")
    if version_serves(version) or not version.stages & _RETIRED:
        stages = ", ".join(sorted(version.stages)) or "no stage"
        raise ConflictError(
            f"version {version.version_number} is {stages}; only PREVIOUS or DEPRECATED versions can be deleted",
            code="VersionInUse",
        )


@dataclass(frozen=True)
class DueCaVersion:
    """A CA version whose time of deletion has come (the deletion queue names its CA)."""

    ca_id: str
    version: CaVersion


def ca_version_state(version: CaVersion) -> LifecycleState:
    if version.deleted_at is not None:
        return LifecycleState.DELETED
    if version.deletion_time is not None:
        return LifecycleState.PENDING_DELETION
    return LifecycleState.ACTIVE


def ca_version_deprecated(version: CaVersion) -> bool:
    """DEPRECATED and nothing else: neither CURRENT, PENDING, LATEST nor PREVIOUS (the rollback target)."""
    return set(version.stages) == {Stage.DEPRECATED.value}


def ensure_ca_version_deletable(version: CaVersion) -> None:
    """Only a DEPRECATED CA version, not already pending deletion or deleted, may be scheduled."""
    state = ca_version_state(version)
    if state is not LifecycleState.ACTIVE:
        raise ConflictError(f"version {version.version_number} is {state.value}", code="InvalidState")
    if not ca_version_deprecated(version):
        stages = ", ".join(version.stages) or "no stage"
        raise ConflictError(
            f"version {version.version_number} is {stages}; only a DEPRECATED CA version can be deleted",
            code="VersionNotDeprecated",
        )

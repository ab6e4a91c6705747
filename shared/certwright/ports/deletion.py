"""The deletion-queue and in-flight ports: what is due for deletion, and reserved versions a crash left behind."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CertificateAuthority
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.deletion import DueCaVersion

Due = Certificate | CertificateAuthority | CertificateVersion | DueCaVersion


class DeletionQueue(Protocol):
    """Scheduled deletion. Writes are conditional on the row read (ConflictError, code ConcurrentModification,
    when it changed); every method raises TransientError when the store throttles and DependencyError when it
    fails otherwise."""

    def due_for_deletion(self, now: datetime, limit: int) -> list[Due]:
        """At most `limit` CAs, certificates, their versions and CA versions whose time of deletion has come,
        oldest first."""
        ...

    def schedule_version_deletion(
        self, version: CertificateVersion, when: datetime, audit: AuditRecord
    ) -> CertificateVersion:
        """Schedule the version's deletion at `when`; returns it with that time.

        Raises NotFoundError for an unknown version, ConflictError(ConcurrentModification) if the stored version
        differs from `version`."""
        ...

    def cancel_version_deletion(self, version: CertificateVersion, audit: AuditRecord) -> CertificateVersion:
        """Cancel a scheduled deletion; returns the version without one. Same errors as schedule_version_deletion."""
        ...

    def destroy_version_key(self, certificate_id: str, version_number: int, now: datetime) -> bool:
        """Remove the version's sealed private key and mark it deleted; False if the version is gone."""
        ...


class InFlightVersions(Protocol):
    """Reserved certificate versions not yet published or failed (the repair pass reads them)."""

    def in_flight(self, now: datetime, limit: int) -> list[CertificateVersion]:
        """At most `limit` reserved versions the repair pass may look at by `now`, oldest first."""
        ...

    def forget_in_flight(self, certificate_id: str, version_number: int) -> None:
        """Drop a stale entry (a version published or failed but still listed); anything else is left alone."""
        ...

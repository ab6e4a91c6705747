"""The sweep-queue port: certificates whose next check has come, and deployments waiting for a retry."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from certwright.domain.association import Association
from certwright.domain.certificate import Certificate


class SweepQueue(Protocol):
    """What the renewal sweep visits. Reads return only due items (never a scan); every method raises
    TransientError when the store throttles and DependencyError when it fails otherwise."""

    def due_for_sweep(self, now: datetime, limit: int) -> list[Certificate]:
        """At most `limit` active certificates whose next check is at or before `now`, earliest first."""
        ...

    def deployments_to_retry(self, now: datetime, limit: int) -> list[Association]:
        """At most `limit` associations saved with a retry time at or before `now`, earliest first."""
        ...

    def save_sweep(self, certificate: Certificate) -> Certificate:
        """The sweep's bookkeeping (lease, alerts, next check); returns the certificate one row version on.

        Raises ConflictError(ConcurrentModification) if it changed since it was read."""
        ...

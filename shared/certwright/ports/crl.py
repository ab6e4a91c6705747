"""The CRL-states port: one publishing state per (CA, partition), version-guarded, found when due."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from certwright.domain.crl import CrlState


class CrlStates(Protocol):
    """CRL publishing state. A save of a state read at row version n succeeds only while the stored one is still
    at n (new: while absent), else ConflictError(ConcurrentModification); the loser reads again. Every method
    raises TransientError when the store throttles and DependencyError when it fails otherwise."""

    def get(self, ca_id: str, partition: int) -> CrlState | None:
        """The state of one partition (strongly consistent read), or None."""
        ...

    def of_authority(self, ca_id: str) -> list[CrlState]:
        """Every partition's state of the CA, by partition."""
        ...

    def save(self, state: CrlState, now: datetime) -> CrlState:
        """Write `state`, due again when the policy says (from `now`); returns it one row version on."""
        ...

    def due(self, now: datetime, limit: int) -> list[CrlState]:
        """At most `limit` states due for a rebuild at `now`, earliest first."""
        ...

    def retire(self, ca_id: str, now: datetime) -> None:
        """Take a CA that publishes no more out of the due list; its states stay as history. A state written
        meanwhile is left for the next call (no error)."""
        ...

    def authorities_with_crl(self) -> set[str]:
        """The ids of every CA with at least one CRL state."""
        ...

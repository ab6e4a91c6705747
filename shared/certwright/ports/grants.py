"""The grants port: who may act on which resource, one grant row by id and one under its resource."""

from __future__ import annotations

from typing import Protocol

from certwright.authorization.grants import Grant
from certwright.domain.audit import AuditRecord


class GrantStore(Protocol):
    """Grants, written with their audit record. Every method raises TransientError when the store throttles and
    DependencyError when it fails otherwise."""

    def add_grant(self, grant: Grant, audit: AuditRecord) -> Grant:
        """Write a new grant; ConflictError(ConcurrentModification) if its id exists."""
        ...

    def remove_grant(self, grant: Grant, audit: AuditRecord) -> None:
        """Delete the grant; ConflictError(ConcurrentModification) if it is already gone."""
        ...

    def get_grant(self, grant_id: str) -> Grant | None:
        """The grant, or None."""
        ...

    def grants_of(self, resource_id: str) -> list[Grant]:
        """Every grant on the resource (strongly consistent)."""
        ...

    def record(self, entry: AuditRecord) -> None:
        """Append an audit record (a refused grant is audited too)."""
        ...

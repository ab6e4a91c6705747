"""The audit-log port: append-only records of who did what to which resource."""

from __future__ import annotations

from typing import Protocol

from certwright.domain.audit import AuditRecord
from certwright.ports.common import Page


class AuditLog(Protocol):
    """Append-only audit records. Every method raises TransientError when the store throttles and
    DependencyError when it fails otherwise; records are never rewritten, so nothing conflicts."""

    def record(self, entry: AuditRecord) -> None:
        """Append one record."""
        ...

    def list_for(self, resource_id: str, limit: int) -> list[AuditRecord]:
        """The newest `limit` records of `resource_id`, newest first."""
        ...


class AuditPages(Protocol):
    """The audit trail as callers page through it."""

    def audit_page(self, resource_id: str, limit: int, token: str | None) -> Page[AuditRecord]:
        """One page of `resource_id`'s records, newest first.

        Raises InvalidInputError(InvalidPageToken) for a token of another listing."""
        ...

"""The audit trail as callers read it: a resource's records, newest first, page by page."""

from __future__ import annotations

from typing import Protocol

from certwright.domain.audit import AuditRecord
from certwright.errors import NotFoundError
from certwright.ports import Page


class AuditReader(Protocol):
    def audit_page(self, resource_id: str, limit: int, token: str | None) -> Page[AuditRecord]: ...

    def get_authority(self, ca_id: str) -> object | None: ...

    def get_certificate(self, certificate_id: str) -> object | None: ...

    def get_association(self, association_id: str) -> object | None: ...


class AuditService:
    def __init__(self, store: AuditReader) -> None:
        self._store = store

    def list_for(self, resource_id: str, limit: int, token: str | None) -> Page[AuditRecord]:
        """Records of a resource that exists or existed (deleted ones keep theirs); unknown ids are NotFound."""
        page = self._store.audit_page(resource_id, limit, token)
        if not page.items and token is None and not self._exists(resource_id):
            raise NotFoundError(f"resource {resource_id} not found")
        return page

    def _exists(self, resource_id: str) -> bool:
        return any(
            lookup(resource_id) is not None
            for lookup in (self._store.get_certificate, self._store.get_authority, self._store.get_association)
        )

"""The AuditLog port on DynamoDB: append-only rows under AUDIT#{resource}, sorted by time."""

from __future__ import annotations

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_table import TableAdapter
from certwright.domain.audit import AuditRecord
from certwright.ports import Page


class DynamoDbAuditLog(TableAdapter):
    """Audit records, newest first when read."""

    def record(self, entry: AuditRecord) -> None:
        with self._errors("write audit record"):
            self._audit_row(entry).save()

    def list_for(self, resource_id: str, limit: int) -> list[AuditRecord]:
        with self._errors("list audit records"):
            rows = self._row.query(f"AUDIT#{resource_id}", limit=limit, scan_index_forward=False)
            return [codec.audit_from_data(r.data) for r in rows]

    def audit_page(self, resource_id: str, limit: int, token: str | None) -> Page[AuditRecord]:
        """One page of `resource_id`'s audit records, newest first."""
        start = self._start_key(token, {"pk": f"AUDIT#{resource_id}"})
        with self._errors("list audit records"):
            result = self._row.query(
                f"AUDIT#{resource_id}", limit=limit, scan_index_forward=False, last_evaluated_key=start
            )
            items = [codec.audit_from_data(r.data) for r in result]
            return Page(items, self._page_token(result.last_evaluated_key))

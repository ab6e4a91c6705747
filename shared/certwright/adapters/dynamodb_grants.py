"""Grants in the one table: one row by id and one under its resource, written with the audit record.

Keys (beside those in dynamodb_models):
  GRANT#{id}         / G          the grant, found by id (DELETE /grants/{id})
  GRANTS#{resource}  / {grant id} the grants of a resource, one strongly consistent query per decision
"""

from __future__ import annotations

from typing import Any

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_table import TableAdapter, versioned
from certwright.authorization.grants import Grant, ResourceKind, Role
from certwright.domain.audit import AuditRecord

GRANT_KIND = "GRANT"
GRANT_REF_KIND = "GRANT_REF"


def grant_to_data(g: Grant) -> dict[str, Any]:
    return {
        "id": g.id,
        "resourceId": g.resource_id,
        "resourceKind": g.resource_kind.value,
        "principalArn": g.principal_arn,
        "role": g.role.value,
        "createdBy": g.created_by,
        "createdAt": codec.iso(g.created_at),
    }


def grant_from_data(raw: dict[str, Any]) -> Grant:
    return Grant(
        id=raw["id"],
        resource_id=raw["resourceId"],
        resource_kind=ResourceKind(raw["resourceKind"]),
        principal_arn=raw["principalArn"],
        role=Role(raw["role"]),
        created_by=raw["createdBy"],
        created_at=codec.parse_time(raw["createdAt"]),
    )


class DynamoDbGrants(TableAdapter):
    """The GrantStore port on the shared table helper."""

    def add_grant(self, grant: Grant, audit: AuditRecord) -> Grant:
        data = grant_to_data(grant)
        with self._errors("create grant"), self._transaction() as tx:
            # New rows: the version attribute makes both saves conditional on the rows being absent.
            tx.save(self._row(f"GRANT#{grant.id}", "G", kind=GRANT_KIND, data=data))
            tx.save(self._row(f"GRANTS#{grant.resource_id}", grant.id, kind=GRANT_REF_KIND, data=data))
            tx.save(self._audit_row(audit))
        return grant

    def remove_grant(self, grant: Grant, audit: AuditRecord) -> None:
        with self._errors("delete grant"), self._transaction() as tx:
            # Both rows were written once (row version 1); a concurrent delete makes this one fail.
            tx.delete(versioned(self._row(f"GRANT#{grant.id}", "G", kind=GRANT_KIND, data={}), 1))
            tx.delete(versioned(self._row(f"GRANTS#{grant.resource_id}", grant.id, kind=GRANT_REF_KIND, data={}), 1))
            tx.save(self._audit_row(audit))

    def record(self, entry: AuditRecord) -> None:
        with self._errors("write audit record"):
            self._audit_row(entry).save()

    def get_grant(self, grant_id: str) -> Grant | None:
        row = self._get(f"GRANT#{grant_id}", "G")
        return None if row is None else grant_from_data(row.data)

    def grants_of(self, resource_id: str) -> list[Grant]:
        with self._errors("list grants"):
            rows = self._row.query(f"GRANTS#{resource_id}", consistent_read=True)
            return [grant_from_data(r.data) for r in rows]

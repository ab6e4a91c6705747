"""Grants as a use case: give a principal a role on a CA, certificate or CA bundle, list and take them back.

Who may grant is decided before these run (action Grant on the resource: its owner or an admin by default);
each grant and each removal is written with its audit record, under the resource and under the grant.
"""

from __future__ import annotations

from certwright.authorization.grants import Grant, Role, check_role, grantee, resource_kind
from certwright.errors import ConflictError, NotFoundError
from certwright.ports import GrantStore
from certwright.services.commands import CreateGrant
from certwright.services.context import Runtime


class GrantService:
    def __init__(self, store: GrantStore, runtime: Runtime) -> None:
        self._store = store
        self._rt = runtime

    def create(self, command: CreateGrant, caller: str) -> Grant:
        kind = resource_kind(command.resource_id)
        role = Role(command.role)
        check_role(role, kind)
        principal = grantee(command.principal_arn)
        for existing in self._store.grants_of(command.resource_id):
            if existing.principal_arn == principal and existing.role is role:
                raise ConflictError(f"{principal} already holds {role.value} ({existing.id})", code="GrantExists")
        grant = Grant(
            id=self._rt.ids("grant"),
            resource_id=command.resource_id,
            resource_kind=kind,
            principal_arn=principal,
            role=role,
            created_by=caller,
            created_at=self._rt.clock(),
        )
        audit = self._rt.audit(
            command.resource_id, "CreateGrant", caller, grantId=grant.id, role=role.value, principalArn=principal
        )
        return self._store.add_grant(grant, audit)

    def of(self, resource_id: str) -> list[Grant]:
        resource_kind(resource_id)
        return self._store.grants_of(resource_id)

    def get(self, grant_id: str) -> Grant:
        grant = self._store.get_grant(grant_id) if grant_id.startswith("grant-") and len(grant_id) <= 64 else None
        if grant is None:
            raise NotFoundError(f"grant {grant_id} not found")
        return grant

    def delete(self, grant_id: str, caller: str) -> None:
        grant = self.get(grant_id)
        audit = self._rt.audit(
            grant.resource_id,
            "DeleteGrant",
            caller,
            grantId=grant.id,
            role=grant.role.value,
            principalArn=grant.principal_arn,
        )
        self._store.remove_grant(grant, audit)

"""Applying decisions: read before anything (an unreadable resource is NotFound), then the action (403), and
the audit record of every denial; nothing else happens on a deny.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from certwright.authorization.decision import Decision, PolicyDecisionPoint
from certwright.authorization.entities import Entity, EntityBuilder
from certwright.authorization.identity import Principal
from certwright.domain.audit import AuditRecord
from certwright.errors import AccessDeniedError, NotFoundError
from certwright.services.context import Runtime

READ = "Read"
logger = Logger(child=True)


class AuditSink(Protocol):
    def record(self, entry: AuditRecord) -> None: ...


class Authorizer:
    """The decision point with the entities it needs and the audit trail its denials go to."""

    def __init__(self, pdp: PolicyDecisionPoint, entities: EntityBuilder, audit: AuditSink, runtime: Runtime) -> None:
        self.pdp = pdp
        self.entities = entities
        self._audit = audit
        self._rt = runtime

    def decide(
        self, principal: Principal, action: str, resource: Entity, context: Mapping[str, Any] | None = None
    ) -> Decision:
        decision = self.pdp.authorize(self.entities.principal(principal), action, resource, context)
        if decision.errors:
            # The engine could not evaluate a policy (an entity built wrongly, say): a deny, but never a silent one.
            logger.warning(
                "authorization evaluated with errors",
                extra={"action": action, "resource": resource["uid"], "errors": decision.errors},
            )
        return decision

    def may_read(self, principal: Principal, resource: Entity) -> bool:
        return self.decide(principal, READ, resource).allowed

    def require(
        self,
        principal: Principal,
        action: str,
        resource: Entity,
        *,
        operation: str,
        resource_id: str,
        hidden: str | None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Raise NotFound(`hidden`) if the caller may not read the resource, AccessDenied if not `action`.

        `hidden` is the message a missing resource answers with (None: the resource is not hidden, e.g. the
        stack itself). Each denial is audited under `resource_id`.
        """
        ctx = {"operation": operation, **(context or {})}
        if hidden is not None and action != READ and not self.decide(principal, READ, resource, ctx).allowed:
            self._deny(principal, operation, READ, resource_id)
            raise NotFoundError(hidden)
        decision = self.decide(principal, action, resource, ctx)
        if decision.allowed:
            return
        self._deny(principal, operation, action, resource_id)
        if hidden is not None and action == READ:
            raise NotFoundError(hidden)
        raise AccessDeniedError(f"{principal.arn} may not {action} {resource_id}")

    def _deny(self, principal: Principal, operation: str, action: str, resource_id: str) -> None:
        self._audit.record(
            self._rt.audit(
                resource_id,
                operation,
                principal.caller_arn or principal.arn,
                "DENIED",
                policyAction=action,
                principal=principal.arn,
            )
        )

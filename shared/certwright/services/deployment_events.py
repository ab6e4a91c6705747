"""Which domain events mean "look at these targets again", and what to do when an association goes away."""

from __future__ import annotations

from typing import Any

from certwright.domain.association import AssociationType, ListenerRole
from certwright.errors import NotFoundError
from certwright.events import (
    AssociationCreated,
    AssociationDeleted,
    CertificateVersionCreated,
    CertificateVersionStageChanged,
    DomainEvent,
)
from certwright.services.deployment import DeploymentService

CURRENT = "CURRENT"


class DeploymentEvents:
    def __init__(self, deployment: DeploymentService) -> None:
        self._deployment = deployment

    def on_association_event(self, event: DomainEvent) -> dict[str, Any]:
        if isinstance(event, AssociationCreated):
            try:
                association = self._deployment.reconcile(event.resource_id)
            except NotFoundError as err:
                return {"skipped": err.message}  # deleted again before we got here
            return {"association": association.id, "state": association.deployment.state.value}
        if isinstance(event, AssociationDeleted):
            self._deployment.undeploy(
                event.certificate_id,
                AssociationType(event.association_type),
                event.associated_resource_id,
                ListenerRole(event.listener_role or ListenerRole.DEFAULT.value),
                event.deployed_acm_arn,
            )
            return {"undeployed": event.resource_id}
        return {"skipped": event.detail_type}

    def on_version_event(self, event: DomainEvent) -> dict[str, Any]:
        touches_current = (isinstance(event, CertificateVersionCreated) and CURRENT in event.stages) or (
            isinstance(event, CertificateVersionStageChanged)
            and CURRENT in event.new_stages
            and CURRENT not in event.old_stages
        )
        if not touches_current:
            return {"skipped": f"{event.detail_type} does not change what is CURRENT"}
        try:
            associations = self._deployment.reconcile_certificate(event.resource_id)
        except NotFoundError as err:
            return {"skipped": err.message}
        return {"associations": {a.id: a.deployment.state.value for a in associations}}

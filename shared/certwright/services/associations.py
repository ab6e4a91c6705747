"""Associations: record which resource uses which certificate; they guard deletion and scope key reads."""

from __future__ import annotations

from certwright.authorization.visibility import filter_page
from certwright.domain.association import (
    Association,
    Deployment,
    ListenerRole,
    classify_resource,
    name_covers,
    validate_hostnames,
)
from certwright.domain.names import SanType
from certwright.errors import ConflictError, NotFoundError, PolicyViolationError
from certwright.ports import Page, Store
from certwright.services.ca_bundles import CaBundleService
from certwright.services.certificates import CertificateService
from certwright.services.commands import CreateAssociation
from certwright.services.context import Runtime


class AssociationService:
    def __init__(
        self, store: Store, certificates: CertificateService, runtime: Runtime, ca_bundles: CaBundleService
    ) -> None:
        self._store = store
        self._certificates = certificates
        self._rt = runtime
        self._ca_bundles = ca_bundles

    def create(self, command: CreateAssociation, caller: str) -> Association:
        if command.caBundleId is not None:
            return self._ca_bundles.associate(command, caller)
        association_type = classify_resource(command.associatedResourceId)
        hostnames = validate_hostnames(command.hostnames)
        certificate = self._certificates.get(command.certificateId or "")
        certificate.ensure_active()
        dns_names = [san.value for san in certificate.sans if san.type is SanType.DNS]
        uncovered = [h for h in hostnames if not any(name_covers(n, h) for n in dns_names)]
        if uncovered:
            raise PolicyViolationError(
                f"certificate {certificate.id} does not cover {', '.join(uncovered)}",
                code="HostnameNotCovered",
            )
        for existing in self._store.associations_of(certificate.id):
            if existing.associated_resource_id == command.associatedResourceId:
                raise ConflictError(
                    f"certificate {certificate.id} is already associated with "
                    f"{command.associatedResourceId} ({existing.id})",
                    code="AssociationExists",
                )
        association = Association(
            id=self._rt.ids("assoc"),
            certificate_id=certificate.id,
            associated_resource_id=command.associatedResourceId,
            association_type=association_type,
            created_by=caller,
            created_at=self._rt.clock(),
            hostnames=hostnames,
            deployment=Deployment(desired_version=certificate.current_version_number),
            listener_role=ListenerRole(command.listenerCertificateRole),
            certificate_name=certificate.name,
        )
        return self._store.add_association(
            association,
            self._rt.audit(
                certificate.id,
                "CreateAssociation",
                caller,
                associationId=association.id,
                associatedResourceId=association.associated_resource_id,
            ),
        )

    def get(self, association_id: str) -> Association:
        association = self._store.get_association(association_id)
        if association is None:
            raise NotFoundError(f"association {association_id} not found")
        return association

    def list_page(self, certificate_id: str | None, limit: int, token: str | None) -> Page[Association]:
        return filter_page(self._store.list_associations(certificate_id, limit, token))

    def delete(self, association_id: str, caller: str) -> None:
        association = self.get(association_id)
        if association.ca_bundle_id is not None:
            self._ca_bundles.dissociate(association, caller)
            return
        self._store.remove_association(
            association,
            self._rt.audit(association.certificate_id, "DeleteAssociation", caller, associationId=association.id),
        )

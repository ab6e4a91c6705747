"""Associations: record which resource uses which certificate; they guard deletion and scope key reads."""

from __future__ import annotations

from dataclasses import replace

from certwright.authorization.visibility import filter_page, visible
from certwright.domain.association import (
    Association,
    AssociationState,
    AssociationType,
    Deployment,
    ListenerRole,
    classify_resource,
    name_covers,
    parse_endpoint,
    principal_arn,
    validate_hostnames,
)
from certwright.domain.inventory import InventoryQuery
from certwright.domain.names import SanType
from certwright.errors import AccessDeniedError, ConflictError, InvalidInputError, NotFoundError, PolicyViolationError
from certwright.ports import Page, Store
from certwright.services.ca_bundles import CaBundleService
from certwright.services.certificates import CertificateService
from certwright.services.commands import CreateAssociation
from certwright.services.consent import ConsentRequiredError, ConsentService
from certwright.services.context import Runtime


class AssociationService:
    def __init__(
        self,
        store: Store,
        certificates: CertificateService,
        runtime: Runtime,
        ca_bundles: CaBundleService,
        consent: ConsentService,
    ) -> None:
        self._store = store
        self._certificates = certificates
        self._rt = runtime
        self._ca_bundles = ca_bundles
        self._consent = consent

    def create(self, command: CreateAssociation, caller: str) -> Association:
        endpoint = None
        if command.endpoint is not None:
            if command.ca_bundle_id is not None:
                raise InvalidInputError(
                    "endpoint: only a certificate association is probed (a CA bundle is not served)",
                    code="InvalidEndpoint",
                )
            endpoint = parse_endpoint(command.endpoint.address, command.endpoint.server_name)
        if command.ca_bundle_id is not None:
            return self._ca_bundles.associate(command, caller)
        association_type = classify_resource(command.associated_resource_id)
        hostnames = validate_hostnames(list(command.hostnames))
        certificate = self._certificates.get(command.certificate_id or "")
        certificate.ensure_active()
        dns_names = [san.value for san in certificate.sans if san.type is SanType.DNS]
        uncovered = [h for h in hostnames if not any(name_covers(n, h) for n in dns_names)]
        if uncovered:
            raise PolicyViolationError(
                f"certificate {certificate.id} does not cover {', '.join(uncovered)}",
                code="HostnameNotCovered",
            )
        for existing in self._store.associations_of(certificate.id):
            if existing.associated_resource_id == command.associated_resource_id:
                raise ConflictError(
                    f"certificate {certificate.id} is already associated with "
                    f"{command.associated_resource_id} ({existing.id})",
                    code="AssociationExists",
                )
        if association_type is AssociationType.HOST_PRINCIPAL:
            target = principal_arn(command.associated_resource_id)
            if target in (principal_arn(caller), certificate.owner):
                # Whoever manages a certificate must not become its key reader by naming itself (or the owner) as
                # the host: key access is granted on behalf of a host, never taken by the certificate's side.
                self._store.record(
                    self._rt.audit(
                        certificate.id,
                        "CreateAssociation",
                        caller,
                        "DENIED",
                        associatedResourceId=command.associated_resource_id,
                        reason="SELF_ASSOCIATION",
                    )
                )
                raise AccessDeniedError(
                    f"{command.associated_resource_id} manages or owns certificate {certificate.id}: it cannot also be "
                    "the host that reads its key; associate the host's own role, which then confirms",
                    code="SelfAssociation",
                )
        # The target's owner must consent (services/consent.py); a host may confirm afterwards instead.
        consent = self._consent.of_target(association_type, command.associated_resource_id, certificate.id)
        if not consent.granted and association_type is not AssociationType.HOST_PRINCIPAL:
            raise ConsentRequiredError(consent.message)
        if consent.basis == "CROSS_ACCOUNT":
            raise ConsentRequiredError(consent.message)
        association_id = self._rt.ids("assoc")
        association = Association(
            id=association_id,
            certificate_id=certificate.id,
            associated_resource_id=command.associated_resource_id,
            association_type=association_type,
            created_by=caller,
            created_at=self._rt.clock(),
            hostnames=hostnames,
            deployment=Deployment(desired_version=certificate.current_version_number),
            listener_role=ListenerRole(command.listener_role),
            certificate_name=certificate.name,
            state=AssociationState.ACTIVE if consent.granted else AssociationState.PENDING_CONFIRMATION,
            state_reason=None if consent.granted else consent.message.replace("{id}", association_id)[:500],
            endpoint=endpoint,
        )
        return self._store.add_association(
            association,
            self._rt.audit(
                certificate.id,
                "CreateAssociation",
                caller,
                associationId=association.id,
                associatedResourceId=association.associated_resource_id,
                state=association.state.value,
                consent=consent.basis,
            ),
        )

    def confirm(self, association_id: str, caller: str) -> Association:
        """A host confirms an association to itself by calling with its own identity (its consent)."""
        association = self.get(association_id)
        if association.association_type is not AssociationType.HOST_PRINCIPAL or association.ca_bundle_id:
            raise InvalidInputError(
                f"association {association_id} targets {association.associated_resource_id}; only associations to "
                "an IAM role or user are confirmed by their host (listeners and ACM certificates consent by tag)",
                code="NotConfirmable",
            )
        principal = principal_arn(caller)
        if principal != association.host_principal:
            self._store.record(
                self._rt.audit(
                    association.certificate_id,
                    "ConfirmAssociation",
                    caller,
                    "DENIED",
                    associationId=association.id,
                    reason="NOT_THE_ASSOCIATED_PRINCIPAL",
                )
            )
            raise AccessDeniedError(
                f"only {association.associated_resource_id} itself may confirm association {association_id}"
            )
        if self._consent.confirmed(association) and association.state is AssociationState.ACTIVE:
            return association
        confirmed = replace(
            association,
            confirmed_by=caller,
            confirmed_at=self._rt.clock(),
            state=AssociationState.ACTIVE,
            state_reason=None,
        )
        try:
            saved = self._store.save_association(confirmed)
        except ConflictError as err:
            raise ConflictError(
                f"association {association_id} changed concurrently; retry", code="ConcurrentModification"
            ) from err
        self._store.record(
            self._rt.audit(association.certificate_id, "ConfirmAssociation", caller, associationId=association.id)
        )
        return saved

    def get(self, association_id: str) -> Association:
        association = self._store.get_association(association_id)
        if association is None:
            raise NotFoundError(f"association {association_id} not found")
        return association

    def search(self, query: InventoryQuery, limit: int, token: str | None) -> Page[Association]:
        """A page of the associations that meet every filter of `query` and that the caller may read."""
        return self._store.search_associations(query, limit, token, visible)

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

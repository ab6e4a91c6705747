"""Certificate lifecycle outside issuance: read, update, promote or roll back versions, schedule deletion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from certwright.authorization.visibility import filter_page, visible
from certwright.domain import inventory
from certwright.domain.association import AssociationState
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.deletion import SCHEDULABLE_STATES, ensure_not_due, state_after_cancelled_deletion
from certwright.domain.stages import changed, promote
from certwright.domain.sweep import parse_thresholds
from certwright.errors import ConflictError, InvalidInputError, NotFoundError
from certwright.ports import Page, Store
from certwright.services.authorities import deletion_time
from certwright.services.commands import ScheduleDeletion, UpdateCertificate
from certwright.services.context import Runtime
from certwright.services.issuance import IssuanceService, renewal_rule
from certwright.services.version_writer import issued_at


class CertificateService:
    def __init__(self, store: Store, issuance: IssuanceService, runtime: Runtime) -> None:
        self._store = store
        self._issuance = issuance
        self._rt = runtime

    def get(self, certificate_id: str) -> Certificate:
        return self._issuance.get(certificate_id)

    def now(self) -> datetime:
        """The service's clock (what the API judges expiry by)."""
        return self._rt.clock()

    def list_page(self, limit: int, token: str | None) -> Page[Certificate]:
        """A page of certificates; deleted ones (tombstones kept for the audit trail) are left out."""
        page = self._store.list_certificates(limit, token)
        return filter_page(
            Page([c for c in page.items if c.lifecycle_state is not LifecycleState.DELETED], page.next_token)
        )

    def search(self, query: inventory.InventoryQuery, limit: int, token: str | None) -> Page[Certificate]:
        """A page of the certificates that meet every filter of `query` and that the caller may read."""
        return self._store.search_certificates(query, limit, token, self._acceptor(query))

    def narrow(self, found: list[Certificate], query: inventory.InventoryQuery) -> list[Certificate]:
        """Certificates found another way (by serial) that meet the query's other filters, in its order."""
        accept = self._acceptor(query)
        kept: list[tuple[str, Certificate]] = []
        for c in found:
            current = self.current(c)
            not_after = current.validity.not_after if current else None
            if inventory.matches(query, c, not_after) and accept(c):
                kept.append((inventory.sort_values(c.name, c.created_at, not_after, c.id)[query.order], c))
        return [c for _, c in sorted(kept, key=lambda kc: kc[0], reverse=query.descending)]

    def _acceptor(self, query: inventory.InventoryQuery) -> Callable[[Certificate], bool]:
        """What the store cannot see on a certificate row: its associations, and the caller's Read permission."""

        def accept(c: Certificate) -> bool:
            if query.needs_associations:
                associations = self._store.associations_of(c.id) if c.association_count else []
                if query.in_use is not None:
                    active = any(a.state is AssociationState.ACTIVE for a in associations)
                    if active is not query.in_use:
                        return False
                if query.deployment_state is not None and not any(
                    a.deployment.state.value == query.deployment_state for a in associations
                ):
                    return False
            return visible(c)

        return accept

    def versions(self, certificate_id: str) -> list[CertificateVersion]:
        self.get(certificate_id)
        return self._store.list_versions(certificate_id)

    def version(self, certificate_id: str, version_number: int) -> CertificateVersion:
        self.get(certificate_id)
        version = self._store.get_version(certificate_id, version_number)
        if version is None:
            raise NotFoundError(f"certificate {certificate_id} has no version {version_number}")
        return version

    def current(self, certificate: Certificate) -> CertificateVersion | None:
        if not certificate.current_version_number:
            return None
        return self._store.get_version(certificate.id, certificate.current_version_number)

    def update(self, certificate_id: str, command: UpdateCertificate, caller: str) -> Certificate:
        certificate = self.get(certificate_id)
        certificate.ensure_active()
        changes: dict[str, object] = {}
        if command.name is not None:
            changes["name"] = command.name
        if command.description is not None:
            changes["description"] = command.description
        if command.renewal_rule is not None:
            if certificate.validity_duration is None:
                raise InvalidInputError("imported certificates have no renewal rule; import a new version instead")
            rule = renewal_rule(command.renewal_rule, certificate.validity_duration)
            changes["renewal_rule"] = rule
            current_version = self.current(certificate)
            if current_version is not None:
                changes["next_renewal_at"] = rule.next_renewal(
                    issued_at(current_version), current_version.validity.not_after
                )
        if command.expiry_alert_thresholds is not None:
            changes["expiry_alert_thresholds"] = parse_thresholds(list(command.expiry_alert_thresholds))
        if command.freeform_tags is not None:
            changes["freeform_tags"] = command.freeform_tags
        if not changes:
            raise InvalidInputError("nothing to update")
        updated = replace(certificate, **changes)  # type: ignore[arg-type]
        current = self.current(updated)
        updated = updated.scheduled(self._rt.clock(), current.validity.not_after if current else None)
        return self._store.save_certificate(
            updated,
            self._rt.audit(certificate_id, "UpdateCertificate", caller, fields=",".join(sorted(changes))),
        )

    def promote(self, certificate_id: str, version_number: int, caller: str) -> Certificate:
        """Make a PENDING version CURRENT, or roll back to a PREVIOUS (or DEPRECATED) one."""
        certificate = self.get(certificate_id)
        certificate.ensure_active()
        versions = {v.version_number: v for v in self._store.list_versions(certificate_id)}
        target = versions.get(version_number)
        if target is None:
            raise NotFoundError(f"certificate {certificate_id} has no version {version_number}")
        if target.revocation is not None:
            raise ConflictError(f"version {version_number} is revoked", code="VersionRevoked")
        if target.deletion_time is not None:
            ensure_not_due(target.deletion_time, self._rt.clock())
        if target.deleted_at is not None:
            # Its private key is destroyed: it can never be served again.
            raise ConflictError(f"version {version_number} is deleted", code="VersionDeleted")
        if self._rt.clock() > target.validity.not_after:
            raise ConflictError(f"version {version_number} has expired", code="VersionExpired")
        before = {n: v.stages for n, v in versions.items()}
        stage_changes = changed(before, promote(before, version_number))
        rule = certificate.renewal_rule
        updated = replace(
            certificate,
            current_version_number=version_number,
            next_renewal_at=rule.next_renewal(issued_at(target), target.validity.not_after) if rule else None,
        ).scheduled(self._rt.clock(), target.validity.not_after)
        return self._store.change_stages(
            updated,
            stage_changes,
            self._rt.audit(certificate_id, "PromoteCertificateVersion", caller, versionNumber=str(version_number)),
        )

    def schedule_deletion(self, certificate_id: str, command: ScheduleDeletion, caller: str) -> Certificate:
        certificate = self.get(certificate_id)
        if certificate.lifecycle_state not in SCHEDULABLE_STATES:
            raise ConflictError(
                f"certificate {certificate_id} is {certificate.lifecycle_state.value}", code="InvalidState"
            )
        when = deletion_time(command, self._rt.clock())
        updated = replace(certificate, lifecycle_state=LifecycleState.PENDING_DELETION, deletion_time=when)
        return self._store.save_certificate(
            updated,
            self._rt.audit(certificate_id, "ScheduleCertificateDeletion", caller, timeOfDeletion=when.isoformat()),
            require_no_associations=True,
        )

    def cancel_deletion(self, certificate_id: str, caller: str) -> Certificate:
        certificate = self.get(certificate_id)
        if certificate.lifecycle_state is not LifecycleState.PENDING_DELETION:
            raise ConflictError(f"certificate {certificate_id} is not pending deletion", code="InvalidState")
        ensure_not_due(certificate.deletion_time, self._rt.clock())
        updated = replace(certificate, lifecycle_state=state_after_cancelled_deletion(certificate), deletion_time=None)
        return self._store.save_certificate(
            updated, self._rt.audit(certificate_id, "CancelCertificateDeletion", caller)
        )

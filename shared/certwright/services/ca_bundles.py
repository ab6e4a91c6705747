"""CA bundles: create them from PEMs and CA ids, version them, keep them current when their CAs change.

A bundle's content is always recomputed from its sources (given PEMs, then each CA's current certificate
and, with includeCertificateAuthorityChain, its chain to the root). A CA event only says "look again":
every bundle that includes the CA gets a new version if and only if its content changed, so a duplicate
or late event changes nothing. A CA that is revoked, deleted or without a valid certificate is withdrawn
(listed, contributing nothing); if that leaves no certificate at all, the bundle keeps its last version and
is flagged `stale` — an empty trust store would refuse every client — until someone gives new sources.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from certwright.authorization.identity import normalize_arn
from certwright.authorization.visibility import filter_page, visible
from certwright.domain.association import (
    Association,
    AssociationState,
    AssociationType,
    Deployment,
    classify_resource,
)
from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.ca_bundle import (
    AuthorityContribution,
    CaBundle,
    CaBundleVersion,
    TrustedCertificate,
    check_sources,
    content,
    new_bundle,
    next_version,
)
from certwright.domain.inventory import InventoryQuery
from certwright.domain.stages import Stage
from certwright.domain.tags import Tags
from certwright.errors import ConflictError, InvalidInputError, NotFoundError, TransientError
from certwright.events import (
    CertificateAuthorityDeleted,
    CertificateAuthorityVersionCreated,
    CertificateAuthorityVersionRevoked,
    DomainEvent,
)
from certwright.ports import CaBundleStore, Page
from certwright.services.authorities import AuthorityService
from certwright.services.commands import CreateAssociation, CreateCaBundle, CreateCaBundleVersion
from certwright.services.context import Runtime
from certwright.x509.ca_bundle_pems import trusted_certificate, trusted_certificates

REFRESH_CALLER = "certwright:ca-bundle-refresh"
AUTHORITY_EVENTS = (CertificateAuthorityVersionCreated, CertificateAuthorityVersionRevoked, CertificateAuthorityDeleted)
_ATTEMPTS = 3


@dataclass(frozen=True)
class _Sources:
    given: tuple[TrustedCertificate, ...]
    authority_ids: tuple[str, ...]
    certificates: tuple[TrustedCertificate, ...]
    withdrawn: tuple[str, ...]


class CaBundleService:
    def __init__(self, store: CaBundleStore, authorities: AuthorityService, runtime: Runtime) -> None:
        self._store = store
        self._authorities = authorities
        self._rt = runtime

    # -- create and read ------------------------------------------------------------------------------

    def create(self, command: CreateCaBundle, caller: str) -> tuple[CaBundle, CaBundleVersion]:
        now = self._rt.clock()
        include_chain = command.include_chain
        sources = self._sources(command.bundle_pem, command.authority_ids, include_chain, now)
        bundle = CaBundle(
            id=self._rt.ids("cabundle"),
            name=command.name,
            description=command.description,
            given=sources.given,
            authority_ids=sources.authority_ids,
            include_chain=include_chain,
            lifecycle_state=LifecycleState.ACTIVE,
            created_by=caller,
            created_at=now,
            owner=normalize_arn(caller),
            freeform_tags=command.freeform_tags,
            current_version_number=1,
            latest_version_number=1,
        )
        version = new_bundle(bundle, sources.certificates, now)
        audit = self._rt.audit(bundle.id, "CreateCaBundle", caller, certificates=str(len(version.certificates)))
        return self._store.create_bundle(bundle, version, audit), version

    def get(self, bundle_id: str) -> CaBundle:
        bundle = self._store.get_bundle(bundle_id)
        if bundle is None or bundle.lifecycle_state is LifecycleState.DELETED:
            raise NotFoundError(f"CA bundle {bundle_id} not found")
        return bundle

    def search(self, query: InventoryQuery, limit: int, token: str | None) -> Page[CaBundle]:
        """A page of the CA bundles that meet every filter of `query` (inUse: an ACTIVE association) and that
        the caller may read."""

        def accept(b: CaBundle) -> bool:
            if query.in_use is not None:
                associations = self._store.associations_of_bundle(b.id) if b.association_count else []
                if any(a.state is AssociationState.ACTIVE for a in associations) is not query.in_use:
                    return False
            return visible(b)

        return self._store.search_bundles(query, limit, token, accept)

    def list_page(self, limit: int, token: str | None) -> Page[CaBundle]:
        return filter_page(self._store.list_bundles(limit, token))

    def replace_tags(self, bundle_id: str, tags: Tags, caller: str) -> CaBundle:
        """Give the bundle exactly `tags` (validated by the caller's command); a deleted bundle is not found."""
        bundle = self.get(bundle_id)
        audit = self._rt.audit(bundle.id, "ReplaceCaBundleTags", caller, tags=",".join(k for k, _ in tags))
        return self._store.save_bundle(replace(bundle, freeform_tags=tags), audit)

    def versions(self, bundle_id: str) -> list[CaBundleVersion]:
        self.get(bundle_id)
        return self._store.list_bundle_versions(bundle_id)

    def current(self, bundle: CaBundle) -> CaBundleVersion:
        return self.version(bundle.id, bundle.current_version_number)

    def version(self, bundle_id: str, number: int) -> CaBundleVersion:
        version = self._store.get_bundle_version(self.get(bundle_id).id, number)
        if version is None:
            raise NotFoundError(f"CA bundle {bundle_id} has no version {number}")
        return version

    def select(self, bundle_id: str, *, stage: str | None, version_number: int | None) -> CaBundleVersion:
        """The version asked for by number or stage (CURRENT when neither is given)."""
        if version_number is not None and stage is not None:
            raise InvalidInputError("give versionNumber or stage, not both")
        if version_number is not None:
            return self.version(bundle_id, version_number)
        try:
            wanted = Stage(stage or Stage.CURRENT.value)
        except ValueError as err:
            raise InvalidInputError("stage must be CURRENT, PREVIOUS, DEPRECATED or LATEST") from err
        for version in self.versions(bundle_id):
            if wanted in version.stages:
                return version
        raise NotFoundError(f"CA bundle {bundle_id} has no {wanted.value} version")

    # -- change ---------------------------------------------------------------------------------------

    def create_version(
        self, bundle_id: str, command: CreateCaBundleVersion, caller: str
    ) -> tuple[CaBundle, CaBundleVersion]:
        bundle = self.get(bundle_id)
        bundle.ensure_active()
        now = self._rt.clock()
        pem = command.bundle_pem
        ids = bundle.authority_ids if command.authority_ids is None else command.authority_ids
        if pem is None:
            sources = self._sources(None, ids, bundle.include_chain, now, given=bundle.given)
        else:
            sources = self._sources(pem, ids, bundle.include_chain, now)
        changed = replace(bundle, given=sources.given, authority_ids=sources.authority_ids, withdrawn_authority_ids=())
        step = next_version(
            changed,
            self._stages(bundle.id),
            self.current(bundle),
            sources.certificates,
            now=now,
            actor=caller,
            reason="NewSources",
        )
        if step is None:
            raise ConflictError(
                f"CA bundle {bundle_id} already holds exactly these certificates", code="CaBundleUnchanged"
            )
        audit = self._rt.audit(
            bundle.id, "CreateCaBundleVersion", caller, versionNumber=str(step.version.version_number)
        )
        saved = self._store.add_bundle_version(
            step.bundle, step.version, dict(step.stage_changes), audit, previous_authority_ids=bundle.authority_ids
        )
        return saved, step.version

    def delete(self, bundle_id: str, caller: str) -> None:
        bundle = self.get(bundle_id)
        bundle.ensure_deletable()
        self._store.delete_bundle(bundle, self._rt.audit(bundle.id, "DeleteCaBundle", caller))

    # -- CA events ------------------------------------------------------------------------------------

    def on_authority_event(self, event: DomainEvent) -> dict[str, Any]:
        if not isinstance(event, AUTHORITY_EVENTS):
            return {"skipped": event.detail_type}
        return {"authority": event.resource_id, "bundles": self.refresh_for_authority(event.resource_id)}

    def refresh_for_authority(self, authority_id: str) -> dict[str, str]:
        """Every bundle including the CA, recomputed: bundle id -> what happened to it."""
        return {bundle_id: self._refresh(bundle_id) for bundle_id in self._store.bundles_including(authority_id)}

    def _refresh(self, bundle_id: str) -> str:
        for _ in range(_ATTEMPTS):
            try:
                return self._refresh_once(bundle_id)
            except ConflictError as err:
                if err.code != "ConcurrentModification":
                    raise
        raise TransientError(f"CA bundle {bundle_id} kept changing while it was refreshed; retry")

    def _refresh_once(self, bundle_id: str) -> str:
        bundle = self._store.get_bundle(bundle_id)
        if bundle is None or bundle.lifecycle_state is not LifecycleState.ACTIVE:
            return "skipped: not active"
        now = self._rt.clock()
        parts = [self._contribution(ca_id, bundle.include_chain, now, strict=False) for ca_id in bundle.authority_ids]
        withdrawn = tuple(p.authority_id for p in parts if p.withdrawn_because)
        try:
            certificates = content(bundle.given, parts)
        except InvalidInputError as err:
            return f"unchanged: {err.message}"  # CA chains grew past the limit; the current version stays
        flagged = replace(bundle, withdrawn_authority_ids=withdrawn)
        step = next_version(
            flagged,
            self._stages(bundle.id),
            self.current(bundle),
            certificates,
            now=now,
            actor=REFRESH_CALLER,
            reason="AuthorityChanged",
        )
        if step is not None:
            audit = self._rt.audit(
                bundle.id, "RefreshCaBundle", REFRESH_CALLER, versionNumber=str(step.version.version_number)
            )
            self._store.add_bundle_version(
                step.bundle, step.version, dict(step.stage_changes), audit, previous_authority_ids=bundle.authority_ids
            )
            return f"version {step.version.version_number}"
        flagged = replace(flagged, stale=not certificates)
        if (flagged.withdrawn_authority_ids, flagged.stale) == (bundle.withdrawn_authority_ids, bundle.stale):
            return "unchanged"
        details = {"withdrawn": ",".join(withdrawn), "stale": str(flagged.stale).lower()}
        self._store.save_bundle(flagged, self._rt.audit(bundle.id, "FlagCaBundle", REFRESH_CALLER, **details))
        return "stale" if flagged.stale else "flagged"

    # -- associations (records: a listener or host that trusts the bundle) -----------------------------

    def associate(self, command: CreateAssociation, caller: str) -> Association:
        association_type = classify_resource(command.associated_resource_id)
        if association_type is AssociationType.ACM_CERTIFICATE:
            raise InvalidInputError(
                "a CA bundle is trusted by a load-balancer listener or a host principal, not an ACM certificate",
                code="UnsupportedAssociationTarget",
            )
        if command.hostnames or command.listener_role != "DEFAULT":
            raise InvalidInputError(
                "hostnames and listenerCertificateRole apply to certificates, not to CA bundles",
                code="UnsupportedAssociationTarget",
            )
        bundle = self.get(command.ca_bundle_id or "")
        bundle.ensure_active()
        for existing in self._store.associations_of_bundle(bundle.id):
            if existing.associated_resource_id == command.associated_resource_id:
                raise ConflictError(
                    f"CA bundle {bundle.id} is already associated with {command.associated_resource_id} ({existing.id})",
                    code="AssociationExists",
                )
        association = Association(
            id=self._rt.ids("assoc"),
            certificate_id="",
            associated_resource_id=command.associated_resource_id,
            association_type=association_type,
            created_by=caller,
            created_at=self._rt.clock(),
            deployment=Deployment(desired_version=bundle.current_version_number),
            certificate_name=bundle.name,
            ca_bundle_id=bundle.id,
        )
        audit = self._rt.audit(
            bundle.id,
            "CreateAssociation",
            caller,
            associationId=association.id,
            associatedResourceId=association.associated_resource_id,
        )
        return self._store.add_bundle_association(bundle, association, audit)

    def dissociate(self, association: Association, caller: str) -> None:
        bundle_id = association.ca_bundle_id or ""
        audit = self._rt.audit(bundle_id, "DeleteAssociation", caller, associationId=association.id)
        self._store.remove_bundle_association(association, audit)

    def associations(self, bundle_id: str) -> list[Association]:
        return self._store.associations_of_bundle(self.get(bundle_id).id)

    # -- sources --------------------------------------------------------------------------------------

    def _stages(self, bundle_id: str) -> dict[int, frozenset[Stage]]:
        return {v.version_number: v.stages for v in self._store.list_bundle_versions(bundle_id)}

    def _sources(
        self,
        pem: str | None,
        authority_ids: tuple[str, ...] | list[str],
        include_chain: bool,
        now: datetime,
        *,
        given: tuple[TrustedCertificate, ...] = (),
    ) -> _Sources:
        """Checks every source before anything is written: strict PEMs, and CAs that are ACTIVE and valid."""
        if pem is not None:
            given = trusted_certificates(pem, field="caBundlePem", now=now)
        ids = check_sources(given, authority_ids)
        parts = [self._contribution(ca_id, include_chain, now, strict=True) for ca_id in ids]
        return _Sources(given, ids, content(given, parts), ())

    def _contribution(self, ca_id: str, include_chain: bool, now: datetime, *, strict: bool) -> AuthorityContribution:
        """What CA `ca_id` gives now; at creation (strict) a CA that gives nothing is refused, later it is withdrawn."""
        try:
            ca = self._authorities.get(ca_id)
        except NotFoundError:
            if strict:
                raise
            return AuthorityContribution(ca_id, withdrawn_because="DELETED")
        problem = _withdrawal(ca, now, strict=strict)
        if problem is None:
            assert ca.current_version is not None
            pems = (ca.current_version.certificate_pem, *(ca.chain_pems if include_chain else ()))
            field = f"certificate authority {ca_id}"
            try:
                certificates = tuple(trusted_certificate(p, field=field, now=now, source=ca_id) for p in pems)
                return AuthorityContribution(ca_id, certificates)
            except InvalidInputError as err:
                # A certificate of its chain expired: trusted no longer, whatever the CA row says.
                problem = (err.code, err.message)
        if strict:
            raise ConflictError(problem[1], code=problem[0])
        return AuthorityContribution(ca_id, withdrawn_because=problem[0])


def _withdrawal(ca: CertificateAuthority, now: datetime, *, strict: bool) -> tuple[str, str] | None:
    """Why the CA's certificate may not be trusted now (code, message), or None."""
    # A CA pending deletion is still a CA until it is deleted (its leaves keep working); a new bundle needs ACTIVE.
    usable = (LifecycleState.ACTIVE,) if strict else (LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION)
    if ca.lifecycle_state not in usable:
        return "CertificateAuthorityNotActive", f"certificate authority {ca.id} is {ca.lifecycle_state.value}"
    version = ca.current_version
    if version is None:
        return "CertificateAuthorityNotActive", f"certificate authority {ca.id} has no certificate yet"
    if version.revocation is not None:
        return "CertificateAuthorityRevoked", f"certificate authority {ca.id} is revoked"
    if version.validity.not_after < now:
        return "CertificateAuthorityExpired", f"certificate authority {ca.id} has expired"
    return None

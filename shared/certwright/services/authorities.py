"""Certificate authorities: create roots and subordinates whose keys live in KMS, import external roots and the
certificates outside CAs sign for ours, control (update, disable, stage versions), read them, schedule deletion."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certwright.authorization.identity import normalize_arn
from certwright.authorization.visibility import filter_page, visible
from certwright.domain import stages
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import (
    CaConfigType,
    CaRules,
    CaVersion,
    CertificateAuthority,
    LifecycleState,
    NameConstraint,
    Validity,
    check_subordinate_validity,
    ensure_can_issue,
    subordinate_path_length,
    updated_rules,
)
from certwright.domain.crl_settings import KEEP, CrlSettings
from certwright.domain.deletion import (
    ca_version_state,
    ensure_authority_deletable,
    ensure_ca_version_deletable,
    ensure_not_due,
)
from certwright.domain.durations import Duration
from certwright.domain.inventory import InventoryQuery
from certwright.domain.names import validate_subject
from certwright.domain.publication import PublicationUrls
from certwright.domain.revocation import partition_of
from certwright.domain.signing import check_signing_algorithm
from certwright.domain.stages import Stage
from certwright.domain.tags import Tags
from certwright.errors import ConflictError, InvalidInputError, NotFoundError
from certwright.ports import CaKeyProvider, Page, SerialClaim, Store
from certwright.services.commands import (
    CaRulesSpec,
    CreateAuthority,
    CreateExternallyIssuedSubordinate,
    CrlSettingsPatch,
    CrlSettingsSpec,
    ImportExternalRoot,
    ScheduleDeletion,
    UpdateAuthority,
)
from certwright.services.context import Runtime
from certwright.x509.builder import Issuer, Publication, backdated, sign_ca_certificate
from certwright.x509.external_root import check_external_root
from certwright.x509.external_subordinate import build_csr, check_issued_subordinate

MIN_DELETION_GRACE = timedelta(days=1)
DEFAULT_DELETION_GRACE = timedelta(days=30)
DEFAULT_CA_VALIDITY = "P10Y"
# A CA signed by an outside CA takes an imported certificate only while waiting for it or in service.
_IMPORTABLE = frozenset({LifecycleState.PENDING_ACTIVATION, LifecycleState.ACTIVE})


class AuthorityService:
    def __init__(
        self,
        store: Store,
        keys: CaKeyProvider,
        runtime: Runtime,
        publication: PublicationUrls | None = None,
        *,
        backdate: timedelta = timedelta(0),
    ) -> None:
        self._store = store
        self._keys = keys
        self._rt = runtime
        self._publication = publication or PublicationUrls()
        # notBefore lies this far before the issue time (Settings.not_before_backdate).
        self._backdate = backdate

    def get(self, ca_id: str) -> CertificateAuthority:
        ca = self._store.get_authority(ca_id)
        if ca is None or ca.lifecycle_state is LifecycleState.DELETED:
            raise NotFoundError(f"certificate authority {ca_id} not found")
        return ca

    def search(self, query: InventoryQuery, limit: int, token: str | None) -> Page[CertificateAuthority]:
        """A page of the CAs that meet every filter of `query` and that the caller may read."""
        return self._store.search_authorities(query, limit, token, visible)

    def list_page(self, limit: int, token: str | None) -> Page[CertificateAuthority]:
        """A page of CAs; deleted ones (kept as tombstones for the audit trail) are left out, so pages may be short."""
        page = self._store.list_authorities(limit, token)
        return filter_page(
            Page([ca for ca in page.items if ca.lifecycle_state is not LifecycleState.DELETED], page.next_token)
        )

    def chain_pems(self, ca_id: str) -> tuple[str, tuple[str, ...]]:
        """The CA certificate and its chain up to the root (issuer first)."""
        ca = self.get(ca_id)
        if ca.current_version is None:
            raise ConflictError(
                f"certificate authority {ca_id} has no certificate yet", code="CertificateAuthorityNotActive"
            )
        return ca.current_version.certificate_pem, ca.chain_pems

    def signer_for(self, ca: CertificateAuthority) -> Issuer:
        """The issuing identity of `ca`, its key held in KMS."""
        assert ca.current_version is not None
        certificate = x509.load_pem_x509_certificate(ca.current_version.certificate_pem.encode())
        return Issuer.from_certificate(
            certificate,
            self._keys.signing_key(ca.kms_key_id, ca.key_algorithm),
            ca.key_algorithm,
            ca.effective_signing_algorithm,
        )

    def publication_for(self, issuer: CertificateAuthority, partition: int) -> Publication:
        """Where what `issuer` signs says its CRL and certificate are: no CRL URL at all when its CRLs are
        disabled, else the partition's object-storage URL and the CA's custom URLs (its current version filled in)."""
        settings = issuer.crl_settings
        version = issuer.current_version.version_number if issuer.current_version else 1
        return Publication(
            self._publication.crl_url(issuer.id, partition) if settings.enabled else None,
            self._publication.ca_issuers_url(issuer.id),
            settings.distribution_urls(issuer.id, version),
        )

    def create_any(
        self, command: CreateAuthority | ImportExternalRoot | CreateExternallyIssuedSubordinate, caller: str
    ) -> CertificateAuthority:
        """POST /certificate-authorities: a CA Certwright signs, an imported external root, or a CA whose
        certificate an outside CA signs."""
        if isinstance(command, ImportExternalRoot):
            return self.import_root(command, caller)
        if isinstance(command, CreateExternallyIssuedSubordinate):
            return self.create_external_subordinate(command, caller)
        return self.create(command, caller)

    def create_external_subordinate(
        self, command: CreateExternallyIssuedSubordinate, caller: str
    ) -> CertificateAuthority:
        """A KMS key and a CSR signed with it; the CA waits in PENDING_ACTIVATION for import_certificate."""
        now = self._rt.clock()
        subject = validate_subject(command.subject.as_dict())
        rules = CaRules.parse(leaf_max_validity=command.leaf_max_validity)
        parent = self.get(command.parent_id)
        if parent.config_type is not CaConfigType.ROOT_CA_MANAGED_EXTERNALLY:
            raise InvalidInputError(
                "parentCertificateAuthorityId must be a ROOT_CA_MANAGED_EXTERNALLY (the outside CA's root)",
                code="ParentNotExternalRoot",
            )
        if parent.lifecycle_state is not LifecycleState.ACTIVE:
            raise ConflictError(
                f"certificate authority {parent.id} is {parent.lifecycle_state.value}",
                code="CertificateAuthorityNotActive",
            )
        ca_id = self._rt.ids("ca")
        key_id = self._keys.create_key(command.key_algorithm, f"Certwright CA {ca_id} ({command.name})")
        try:
            csr = build_csr(subject, self._keys.signing_key(key_id, command.key_algorithm), command.key_algorithm)
            ca = self._store.save_authority(
                CertificateAuthority(
                    id=ca_id,
                    name=command.name,
                    config_type=CaConfigType.SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA,
                    subject=subject,
                    key_algorithm=command.key_algorithm,
                    kms_key_id=key_id,
                    rules=rules,
                    lifecycle_state=LifecycleState.PENDING_ACTIVATION,
                    created_by=caller,
                    created_at=now,
                    owner=normalize_arn(caller),
                    description=command.description,
                    issuer_id=parent.id,
                    depth=parent.depth + 1,
                    csr_pem=csr,
                )
            )
        except Exception:
            self._keys.schedule_key_deletion(key_id)
            raise
        self._store.record(self._rt.audit(ca.id, "CreateCertificateAuthority", caller, signedBy="external"))
        return ca

    def csr(self, ca_id: str) -> tuple[CertificateAuthority, str]:
        """The outstanding CSR of a CA signed outside (first certificate or a renewal)."""
        ca = self.get(ca_id)
        if not ca.csr_pem:
            raise ConflictError(f"certificate authority {ca_id} has no outstanding CSR", code="NoPendingCsr")
        return ca, ca.csr_pem

    def import_certificate(self, ca_id: str, certificate_pem: str, chain_pem: str, caller: str) -> CertificateAuthority:
        """The outside CA's answer to the CSR, checked (x509/external_subordinate), as the CA's new CURRENT
        version: the first one activates the CA; later ones renew it (same key, same subject)."""
        now = self._rt.clock()
        ca = self.get(ca_id)
        if ca.config_type is not CaConfigType.SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA:
            raise ConflictError(
                f"certificate authority {ca_id} is not signed by an external CA", code="NotExternallyIssued"
            )
        if not ca.csr_pem:
            raise ConflictError(f"certificate authority {ca_id} has no outstanding CSR", code="NoPendingCsr")
        assert ca.issuer_id is not None
        parent = self.get(ca.issuer_id)
        # The CA, and the outside root it chains to, must still be in service when the answer comes back.
        for retired in (c for c in (ca, parent) if c.lifecycle_state not in _IMPORTABLE):
            raise ConflictError(
                f"certificate authority {retired.id} is {retired.lifecycle_state.value}",
                code="CertificateAuthorityNotActive",
            )
        anchors = tuple(v.certificate_pem for v in self._store.list_authority_versions(parent.id))
        checked = check_issued_subordinate(
            certificate_pem=certificate_pem,
            chain_pem=chain_pem,
            csr_pem=ca.csr_pem,
            public_key=self._keys.public_key(ca.kms_key_id),
            anchors=anchors,
            now=now,
        )
        self._store.claim_serial(SerialClaim(parent.id, checked.serial_number))
        number = self._next_version_number(ca.id)
        version = CaVersion(number, checked.serial_number, checked.validity, checked.pem)
        activated = replace(
            ca,
            lifecycle_state=LifecycleState.ACTIVE
            if ca.lifecycle_state is LifecycleState.PENDING_ACTIVATION
            else ca.lifecycle_state,
            current_version=version,
            chain_pems=checked.chain_pems,
            rules=replace(ca.rules, path_length=checked.path_length),
            inherited_constraints=checked.constraints,
            csr_pem="",
        )
        audit = self._rt.audit(
            ca.id,
            "ImportCertificateAuthorityCertificate",
            caller,
            versionNumber=str(number),
            serialNumber=checked.serial_number,
        )
        if number == 1:
            return self._store.complete_authority(activated, audit)
        return self._add_version(activated, audit, pending=False)

    def _request_external_renewal(self, ca: CertificateAuthority, caller: str) -> CertificateAuthority:
        csr = build_csr(ca.subject, self._keys.signing_key(ca.kms_key_id, ca.key_algorithm), ca.key_algorithm)
        ca = self._store.save_authority(replace(ca, csr_pem=csr))
        self._store.record(self._rt.audit(ca.id, "CreateCertificateAuthorityVersion", caller, signedBy="external"))
        return ca

    def import_root(self, command: ImportExternalRoot, caller: str) -> CertificateAuthority:
        """An ACTIVE trust anchor from a root certificate whose key lives elsewhere (checked: x509/external_root).

        It has no KMS key: it signs nothing here (ExternallyManagedCertificateAuthority), and Certwright
        publishes no CRL for it; it can be in CA bundles, and its new versions are imported (create_version)."""
        now = self._rt.clock()
        root = check_external_root(command.certificate_pem, now)
        ca_id = self._rt.ids("ca")
        ca = CertificateAuthority(
            id=ca_id,
            name=command.name,
            config_type=CaConfigType.ROOT_CA_MANAGED_EXTERNALLY,
            subject=root.subject,
            key_algorithm=root.key_algorithm,
            kms_key_id="",
            rules=CaRules(path_length=root.path_length),
            lifecycle_state=LifecycleState.CREATING,
            created_by=caller,
            created_at=now,
            owner=normalize_arn(caller),
            description=command.description,
        )
        ca = self._store.begin_authority(ca, SerialClaim(ca_id, root.serial_number))
        ca = replace(
            ca,
            lifecycle_state=LifecycleState.ACTIVE,
            current_version=CaVersion(1, root.serial_number, root.validity, root.pem),
        )
        return self._store.complete_authority(
            ca, self._rt.audit(ca.id, "CreateCertificateAuthority", caller, imported="true")
        )

    def _import_root_version(self, ca: CertificateAuthority, certificate_pem: str, caller: str) -> CertificateAuthority:
        """A re-issued external root as the new CURRENT version: same subject and key as the current one."""
        root = check_external_root(certificate_pem, self._rt.clock())
        current = ca.current_version
        assert current is not None
        before = x509.load_pem_x509_certificate(current.certificate_pem.encode())
        after = x509.load_pem_x509_certificate(root.pem.encode())
        if after.subject.public_bytes() != before.subject.public_bytes():
            raise InvalidInputError("certificatePem: a new version keeps the root's subject", code="SubjectMismatch")
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if after.public_key().public_bytes(serialization.Encoding.DER, spki) != before.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ):
            raise InvalidInputError("certificatePem: a new version keeps the root's key", code="KeyMismatch")
        if root.serial_number == current.serial_number:
            raise ConflictError("certificatePem is the current version already", code="AlreadyCurrent")
        self._store.claim_serial(SerialClaim(ca.id, root.serial_number))
        version = CaVersion(self._next_version_number(ca.id), root.serial_number, root.validity, root.pem)
        return self._add_version(
            replace(ca, current_version=version, rules=replace(ca.rules, path_length=root.path_length)),
            self._rt.audit(
                ca.id,
                "CreateCertificateAuthorityVersion",
                caller,
                versionNumber=str(version.version_number),
                serialNumber=version.serial_number,
                imported="true",
            ),
            pending=False,
        )

    def create(self, command: CreateAuthority, caller: str) -> CertificateAuthority:
        now = self._rt.clock()
        subject = validate_subject(command.subject.as_dict())
        # An omitted validity is P10Y, for a subordinate cut to what fits inside its issuer.
        omitted = command.validity_duration is None
        text = DEFAULT_CA_VALIDITY if command.validity_duration is None else command.validity_duration
        duration = Duration.parse(text, field="validityDuration")
        rules = ca_rules(command.rules)
        crls = crl_settings(command.crl_settings)
        signing_algorithm = (
            None
            if command.signing_algorithm is None
            else check_signing_algorithm(command.key_algorithm, command.signing_algorithm, field="signingAlgorithm")
        )
        validity = Validity.starting(now, duration)
        issuer: CertificateAuthority | None = None
        if command.config_type is CaConfigType.ROOT_CA_GENERATED_INTERNALLY:
            if command.issuer_id:
                raise InvalidInputError("a root CA has no issuerCertificateAuthorityId")
            # certificateAuthorityMaxValidityDuration governs the CAs this root issues, not the root itself.
            path_length = rules.path_length
        else:
            if not command.issuer_id:
                raise InvalidInputError("a subordinate CA needs issuerCertificateAuthorityId")
            issuer = self.get(command.issuer_id)
            ensure_can_issue(issuer, now)
            if omitted:
                validity = fitted_subordinate_validity(issuer, now, duration)
            check_subordinate_validity(issuer, validity, duration)
            path_length = subordinate_path_length(issuer, rules.path_length)
            rules = replace(rules, path_length=path_length)
        validity = self._signed_validity(validity, issuer)

        # Everything is checked; only now do we create anything.
        ca_id = self._rt.ids("ca")
        if command.kms_key_id is not None:
            key_id = self._keys.adopt_key(command.kms_key_id, command.key_algorithm)
            self._ensure_key_unused(key_id)
        else:
            key_id = self._keys.create_key(command.key_algorithm, f"Certwright CA {ca_id} ({command.name})")
        serial = self._rt.serials()
        ca = CertificateAuthority(
            id=ca_id,
            name=command.name,
            config_type=command.config_type,
            subject=subject,
            key_algorithm=command.key_algorithm,
            kms_key_id=key_id,
            rules=rules,
            lifecycle_state=LifecycleState.CREATING,
            created_by=caller,
            created_at=now,
            owner=normalize_arn(caller),
            freeform_tags=command.freeform_tags,
            description=command.description,
            signing_algorithm=signing_algorithm,
            key_imported=command.kms_key_id is not None,
            crl_settings=crls,
            issuer_id=issuer.id if issuer else None,
            depth=issuer.depth + 1 if issuer else 0,
            chain_pems=_chain_below(issuer),
            inherited_constraints=(
                *(issuer.inherited_constraints if issuer else ()),
                *(() if rules.name_constraint.is_empty else (rules.name_constraint,)),
            ),
        )
        partition, publication = 0, None
        try:
            if issuer is not None:
                partition = partition_of(self._store.next_issuance_index(issuer.id), self._publication.partition_size)
                publication = self.publication_for(issuer, partition)
            ca = self._store.begin_authority(ca, SerialClaim(issuer.id if issuer else ca_id, f"{serial:x}"))
        except Exception:
            if not ca.key_imported:
                self._keys.schedule_key_deletion(key_id)
            raise
        try:
            certificate = sign_ca_certificate(
                subject=subject,
                public_key=self._keys.public_key(key_id),
                serial_number=serial,
                validity=validity,
                issuer=self.signer_for(issuer) if issuer else None,
                self_key=self._keys.signing_key(key_id, command.key_algorithm),
                self_algorithm=command.key_algorithm,
                self_signing_algorithm=ca.effective_signing_algorithm,
                path_length=path_length,
                name_constraint=rules.name_constraint,
                publication=publication,
            )
        except Exception:
            self._store.save_authority(ca.with_state(LifecycleState.FAILED))
            raise
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        ca = replace(
            ca,
            lifecycle_state=LifecycleState.ACTIVE,
            current_version=CaVersion(1, f"{serial:x}", validity, pem, crl_partition=partition),
        )
        return self._store.complete_authority(ca, self._rt.audit(ca.id, "CreateCertificateAuthority", caller))

    def versions(self, ca_id: str) -> list[CaVersion]:
        self.get(ca_id)
        return sorted(self._store.list_authority_versions(ca_id), key=lambda v: v.version_number)

    def create_version(
        self,
        ca_id: str,
        validity_duration: str | None,
        caller: str,
        *,
        certificate_pem: str | None = None,
        stage: str = "CURRENT",
    ) -> CertificateAuthority:
        """Renew the CA's certificate: same subject, same KMS key, same rules; a new serial and validity.

        Certificates it issued stay valid (the key and the name are unchanged); the new version becomes
        CURRENT, the old one PREVIOUS, and trust bundles built from this CA follow (CertificateAuthorityVersionCreated).
        With stage PENDING it is only LATEST and PENDING: nothing changes until it is promoted.
        """
        now = self._rt.clock()
        ca = self.get(ca_id)
        if ca.lifecycle_state is not LifecycleState.ACTIVE:
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        current = ca.current_version
        if current is None:
            raise ConflictError(f"certificate authority {ca_id} has no certificate yet", code="InvalidState")
        if current.revocation is not None:
            raise ConflictError(f"certificate authority {ca_id} is revoked", code="CertificateAuthorityRevoked")
        if stage == "PENDING" and ca.config_type not in (
            CaConfigType.ROOT_CA_GENERATED_INTERNALLY,
            CaConfigType.SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA,
        ):
            raise InvalidInputError("stage PENDING applies to CAs Certwright signs (roots and internal subordinates)")
        if ca.config_type is CaConfigType.ROOT_CA_MANAGED_EXTERNALLY:
            if certificate_pem is None or validity_duration is not None:
                raise InvalidInputError(
                    "a new version of an external root is imported: send certificatePem (and no validityDuration)"
                )
            return self._import_root_version(ca, certificate_pem, caller)
        if certificate_pem is not None:
            raise InvalidInputError("certificatePem applies only to a ROOT_CA_MANAGED_EXTERNALLY")
        if ca.config_type is CaConfigType.SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA:
            if validity_duration is not None:
                raise InvalidInputError("the outside CA chooses the validity of a CA it signs: no validityDuration")
            return self._request_external_renewal(ca, caller)
        text = validity_duration or f"P{current.validity.length.days or 1}D"
        duration = Duration.parse(text, field="validityDuration")
        validity = Validity.starting(now, duration)
        issuer: CertificateAuthority | None = None
        if ca.issuer_id is not None:
            issuer = self.get(ca.issuer_id)
            ensure_can_issue(issuer, now)
            if not validity_duration:
                validity = fitted_subordinate_validity(issuer, now, duration)
            check_subordinate_validity(issuer, validity, duration)
        validity = self._signed_validity(validity, issuer)
        serial = self._rt.serials()
        partition, publication = 0, None
        if issuer is not None:
            partition = partition_of(self._store.next_issuance_index(issuer.id), self._publication.partition_size)
            publication = self.publication_for(issuer, partition)
        # Recorded before the CA signs (I2): the serial is claimed whatever happens next.
        self._store.claim_serial(SerialClaim(issuer.id if issuer else ca.id, f"{serial:x}"))
        certificate = sign_ca_certificate(
            subject=ca.subject,
            public_key=self._keys.public_key(ca.kms_key_id),
            serial_number=serial,
            validity=validity,
            issuer=self.signer_for(issuer) if issuer else None,
            self_key=self._keys.signing_key(ca.kms_key_id, ca.key_algorithm),
            self_algorithm=ca.key_algorithm,
            self_signing_algorithm=ca.effective_signing_algorithm,
            path_length=ca.rules.path_length,
            name_constraint=ca.rules.name_constraint,
            publication=publication,
        )
        version = CaVersion(
            self._next_version_number(ca.id),
            f"{serial:x}",
            validity,
            certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            crl_partition=partition,
        )
        audit = self._rt.audit(
            ca.id,
            "CreateCertificateAuthorityVersion",
            caller,
            versionNumber=str(version.version_number),
            serialNumber=version.serial_number,
            stage=stage,
        )
        if stage == "PENDING":
            return self._add_version(replace(ca, current_version=version), audit, pending=True, keep=ca)
        return self._add_version(replace(ca, current_version=version, chain_pems=_chain_below(issuer)), audit)

    def _next_version_number(self, ca_id: str) -> int:
        return max((v.version_number for v in self._store.list_authority_versions(ca_id)), default=0) + 1

    def _add_version(
        self,
        ca: CertificateAuthority,
        audit: AuditRecord,
        *,
        pending: bool = False,
        keep: CertificateAuthority | None = None,
    ) -> CertificateAuthority:
        """`ca.current_version` as a new version: CURRENT (the CA row takes it), or PENDING (the CA row stays
        `keep`). The stages follow domain/stages.py; the plain renewal keeps the store's own transition."""
        version = ca.current_version
        assert version is not None
        stored = self._store.list_authority_versions(ca.id)
        latest = max((v.version_number for v in stored), default=0)
        current = next((v.version_number for v in stored if Stage.CURRENT in v.stages), None)
        if not pending and current == latest:
            return self._store.add_authority_version(ca, audit)
        after = stages.add_version(_stage_map(stored), version.version_number, pending=pending)
        new = replace(version, stages=_ordered(after[version.version_number]))
        changed = [
            replace(v, stages=_ordered(after[v.version_number]))
            for v in stored
            if after[v.version_number] != frozenset(v.stages)
        ]
        row = keep if keep is not None else replace(ca, current_version=new)
        if keep is not None and keep.current_version is not None:
            moved = after[keep.current_version.version_number]
            row = replace(keep, current_version=replace(keep.current_version, stages=_ordered(moved)))
        return self._store.save_authority_versions(row, [*changed, new], audit)

    def promote_version(self, ca_id: str, number: int, caller: str) -> CertificateAuthority:
        """Make version `number` CURRENT: promote a PENDING one, or roll back to a PREVIOUS/DEPRECATED one. The
        key and subject are the same in every version, so what the CA issued keeps verifying either way."""
        now = self._rt.clock()
        ca = self.get(ca_id)
        if ca.lifecycle_state is not LifecycleState.ACTIVE:
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        stored = self._store.list_authority_versions(ca_id)
        target = next((v for v in stored if v.version_number == number), None)
        if target is None:
            raise NotFoundError(f"certificate authority {ca_id} has no version {number}")
        if ca_version_state(target) is not LifecycleState.ACTIVE:
            raise ConflictError(
                f"version {number} is {ca_version_state(target).value}; cancel its deletion first", code="InvalidState"
            )
        if target.revocation is not None:
            raise ConflictError(f"version {number} is revoked", code="CertificateAuthorityRevoked")
        if not target.validity.contains(now):
            raise ConflictError(f"version {number} is not within its validity", code="CertificateAuthorityExpired")
        after = stages.promote(_stage_map(stored), number)
        changed = [
            replace(v, stages=_ordered(after[v.version_number]))
            for v in stored
            if after[v.version_number] != frozenset(v.stages)
        ]
        promoted = next(v for v in changed if v.version_number == number)
        chain = ca.chain_pems
        if ca.issuer_id is not None and ca.config_type is CaConfigType.SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA:
            chain = _chain_below(self.get(ca.issuer_id))
        return self._store.save_authority_versions(
            replace(ca, current_version=promoted, chain_pems=chain),
            changed,
            self._rt.audit(ca.id, "PromoteCertificateAuthorityVersion", caller, versionNumber=str(number)),
        )

    def _signed_validity(self, validity: Validity, issuer: CertificateAuthority | None) -> Validity:
        """The checked validity with notBefore backdated, never before the issuer's (a root has no bound)."""
        floor = issuer.current_version.validity.not_before if issuer and issuer.current_version else None
        return backdated(validity, self._backdate, floor)

    def _version_of(self, ca_id: str, number: int) -> tuple[CertificateAuthority, CaVersion]:
        ca = self.get(ca_id)
        version = next((v for v in self._store.list_authority_versions(ca_id) if v.version_number == number), None)
        if version is None:
            raise NotFoundError(f"certificate authority {ca_id} has no version {number}")
        return ca, version

    def schedule_version_deletion(self, ca_id: str, number: int, command: ScheduleDeletion, caller: str) -> CaVersion:
        """Schedule the deletion of a DEPRECATED version (domain/deletion.py); the sweep marks it DELETED."""
        ca, version = self._version_of(ca_id, number)
        if ca.lifecycle_state is not LifecycleState.ACTIVE:
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        ensure_ca_version_deletable(version)
        when = deletion_time(command, self._rt.clock())
        scheduled = replace(version, deletion_time=when)
        audit = self._rt.audit(
            ca_id,
            "ScheduleCertificateAuthorityVersionDeletion",
            caller,
            versionNumber=str(number),
            timeOfDeletion=when.isoformat(),
        )
        self._store.save_authority_versions(ca, [scheduled], audit)
        return scheduled

    def cancel_version_deletion(self, ca_id: str, number: int, caller: str) -> CaVersion:
        ca, version = self._version_of(ca_id, number)
        if ca_version_state(version) is not LifecycleState.PENDING_DELETION:
            raise ConflictError(f"version {number} is not pending deletion", code="InvalidState")
        ensure_not_due(version.deletion_time, self._rt.clock())
        kept = replace(version, deletion_time=None)
        audit = self._rt.audit(ca_id, "CancelCertificateAuthorityVersionDeletion", caller, versionNumber=str(number))
        self._store.save_authority_versions(ca, [kept], audit)
        return kept

    def schedule_deletion(self, ca_id: str, command: ScheduleDeletion, caller: str) -> CertificateAuthority:
        ca = self.get(ca_id)
        # A CA still waiting for its outside certificate may be abandoned (its KMS key goes with it).
        if ca.lifecycle_state not in (LifecycleState.ACTIVE, LifecycleState.PENDING_ACTIVATION):
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        ensure_authority_deletable(self._store, ca_id, self._rt.clock())
        when = deletion_time(command, self._rt.clock())
        ca = self._store.save_authority(
            replace(ca, lifecycle_state=LifecycleState.PENDING_DELETION, deletion_time=when)
        )
        self._store.record(
            self._rt.audit(ca.id, "ScheduleCertificateAuthorityDeletion", caller, timeOfDeletion=when.isoformat())
        )
        return ca

    def cancel_deletion(self, ca_id: str, caller: str) -> CertificateAuthority:
        ca = self.get(ca_id)
        if ca.lifecycle_state is not LifecycleState.PENDING_DELETION:
            raise ConflictError(f"certificate authority {ca_id} is not pending deletion", code="InvalidState")
        ensure_not_due(ca.deletion_time, self._rt.clock())
        back = LifecycleState.ACTIVE if ca.current_version is not None else LifecycleState.PENDING_ACTIVATION
        ca = self._store.save_authority(replace(ca, lifecycle_state=back, deletion_time=None))
        self._store.record(self._rt.audit(ca.id, "CancelCertificateAuthorityDeletion", caller))
        return ca

    def replace_tags(self, ca_id: str, tags: Tags, caller: str) -> CertificateAuthority:
        """Give the CA exactly `tags` (validated by the caller's command); a deleted CA is not found."""
        ca = self.get(ca_id)
        ca = self._store.save_authority(replace(ca, freeform_tags=tags))
        self._store.record(
            self._rt.audit(ca.id, "ReplaceCertificateAuthorityTags", caller, tags=",".join(k for k, _ in tags))
        )
        return ca

    def _ensure_key_unused(self, key_arn: str) -> None:
        """A brought key must be no CA's yet (deleted ones included: their key may still sign what they issued).

        Without this, a caller who may read CA X (and so sees its kmsKeyId) could create a root on X's key: its
        leaves would verify as X's, outside X's policies, name constraints and CRL. CAs are few and created
        rarely, so every one is read; two creations racing for one brought key are left to the key's owner.
        """
        token: str | None = None
        while True:
            found = self._store.list_authorities(100, token)
            if any(ca.kms_key_id == key_arn for ca in found.items):
                raise ConflictError(
                    f"kmsKeyId: key {key_arn} already belongs to a certificate authority", code="KmsKeyInUse"
                )
            token = found.next_token
            if not token:
                return

    def get_version(self, ca_id: str, number: int) -> CaVersion:
        for version in self.versions(ca_id):
            if version.version_number == number:
                return version
        raise NotFoundError(f"certificate authority {ca_id} has no version {number}")

    def update(self, ca_id: str, command: UpdateAuthority, caller: str) -> CertificateAuthority:
        """Rename, describe, or change the rules that only bound future issuance (domain UPDATABLE_RULES)."""
        ca = self.get(ca_id)
        if ca.lifecycle_state not in (LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION):
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        rules = ca.rules if command.rules is None else updated_rules(ca, command.rules)
        crls = ca.crl_settings if command.crl_settings is None else updated_crl_settings(ca, command.crl_settings)
        updated = replace(
            ca,
            name=ca.name if command.name is None else command.name,
            description=ca.description if command.description is None else command.description,
            rules=rules,
            crl_settings=crls,
        )
        if updated == ca:
            return ca
        ca = self._store.save_authority(updated)
        changed = sorted(
            [k for k in ("name", "description") if getattr(command, k) is not None]
            + list(command.rules or {})
            + (["crlSettings"] if command.crl_settings is not None else [])
        )
        self._store.record(self._rt.audit(ca.id, "UpdateCertificateAuthority", caller, changed=",".join(changed)))
        return ca

    def set_issuance(self, ca_id: str, *, enabled: bool, caller: str) -> CertificateAuthority:
        """Disable (or enable again) issuance: a disabled CA signs no certificate and no subordinate, and the
        sweep's renewals of what it issued fail (RenewalFailed); its CRLs keep being published. Idempotent."""
        ca = self.get(ca_id)
        if ca.lifecycle_state not in (LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION):
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        if ca.issuance_disabled is not enabled:
            return ca
        ca = self._store.save_authority(replace(ca, issuance_disabled=not enabled))
        action = "EnableCertificateAuthority" if enabled else "DisableCertificateAuthority"
        self._store.record(self._rt.audit(ca.id, action, caller))
        return ca


def _stage_map(versions: list[CaVersion]) -> dict[int, frozenset[Stage]]:
    return {v.version_number: frozenset(Stage(s) for s in v.stages) for v in versions}


_STAGE_ORDER = (Stage.CURRENT, Stage.PENDING, Stage.PREVIOUS, Stage.DEPRECATED, Stage.FAILED, Stage.LATEST)


def _ordered(held: frozenset[Stage]) -> tuple[str, ...]:
    return tuple(s.value for s in _STAGE_ORDER if s in held)


def fitted_subordinate_validity(issuer: CertificateAuthority, now: datetime, default: Duration) -> Validity:
    """The validity of a subordinate that asked for none: `default`, cut to the issuer's rule and its expiry.

    The shortest of: `default` from now, the issuer's certificateAuthorityMaxValidityDuration from now, and
    up to the issuer's own notAfter. So a hierarchy typed without durations works (a P10Y root, then a
    subordinate a minute later, ends with its root instead of a minute after it).
    """
    candidates = [Validity.starting(now, default), Validity(now.replace(microsecond=0), issuer.not_after)]
    if issuer.rules.ca_max_validity is not None:
        candidates.append(Validity.starting(now, issuer.rules.ca_max_validity))
    return min(candidates, key=lambda v: v.not_after)


def ca_rules(spec: CaRulesSpec | None) -> CaRules:
    """The checked rules of `spec` (none given: no rules)."""
    if spec is None:
        return CaRules()
    constraint = spec.name_constraint
    return CaRules.parse(
        leaf_max_validity=spec.leaf_max_validity,
        ca_max_validity=spec.ca_max_validity,
        path_length=spec.path_length,
        name_constraint=None
        if constraint is None
        else NameConstraint.parse(
            permitted_dns=constraint.permitted_dns,
            excluded_dns=constraint.excluded_dns,
            permitted_ip=constraint.permitted_ip,
            excluded_ip=constraint.excluded_ip,
            permitted_uri=constraint.permitted_uri,
            excluded_uri=constraint.excluded_uri,
            permitted_email=constraint.permitted_email,
            excluded_email=constraint.excluded_email,
        ),
    )


def updated_crl_settings(ca: CertificateAuthority, patch: CrlSettingsPatch) -> CrlSettings:
    """`ca`'s CRL settings with what a PATCH named changed, checked as at create. They bound what the CA signs
    from now on and its next CRL; what it already signed keeps the distribution points it was signed with."""
    if not ca.holds_key:
        raise ConflictError(
            f"certificate authority {ca.id} publishes no CRL here (its key is held outside)", code="CrlNotPublished"
        )
    return ca.crl_settings.updated(
        enabled=patch.enabled,
        validity_duration=patch.validity_duration if patch.validity_named else KEEP,
        custom_urls=patch.custom_formatted_urls,
    )


def crl_settings(spec: CrlSettingsSpec | None) -> CrlSettings:
    """The checked CRL settings of `spec` (none given: enabled, the service's validity, no custom URLs)."""
    if spec is None:
        return CrlSettings()
    return CrlSettings.parse(
        enabled=spec.enabled, validity_duration=spec.validity_duration, custom_urls=spec.custom_formatted_urls
    )


def _chain_below(issuer: CertificateAuthority | None) -> tuple[str, ...]:
    if issuer is None or issuer.current_version is None:
        return ()
    return (issuer.current_version.certificate_pem, *issuer.chain_pems)


def deletion_time(command: ScheduleDeletion, now: datetime) -> datetime:
    if not command.time_of_deletion:
        return now + DEFAULT_DELETION_GRACE
    try:
        when = datetime.fromisoformat(command.time_of_deletion.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidInputError("timeOfDeletion must be an ISO-8601 timestamp") from err
    if when.tzinfo is None:
        raise InvalidInputError("timeOfDeletion must carry a time zone (e.g. Z)")
    if when < now + MIN_DELETION_GRACE:
        raise InvalidInputError(f"timeOfDeletion must be at least {MIN_DELETION_GRACE.days} day(s) from now")
    return when

"""Certificate authorities: create roots and subordinates whose keys live in KMS, read them, schedule deletion."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certwright.authorization.identity import normalize_arn
from certwright.authorization.visibility import filter_page
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
)
from certwright.domain.crl_settings import CrlSettings
from certwright.domain.deletion import ensure_authority_deletable, ensure_not_due
from certwright.domain.durations import Duration
from certwright.domain.names import validate_subject
from certwright.domain.publication import PublicationUrls
from certwright.domain.revocation import partition_of
from certwright.domain.signing import check_signing_algorithm
from certwright.errors import ConflictError, InvalidInputError, NotFoundError
from certwright.ports import CaKeyProvider, Page, SerialClaim, Store
from certwright.services.commands import CaRulesSpec, CreateAuthority, CrlSettingsSpec, ScheduleDeletion
from certwright.services.context import Runtime
from certwright.x509.builder import Issuer, Publication, backdated, sign_ca_certificate

MIN_DELETION_GRACE = timedelta(days=1)
DEFAULT_DELETION_GRACE = timedelta(days=30)
DEFAULT_CA_VALIDITY = "P10Y"


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

    def create_version(self, ca_id: str, validity_duration: str | None, caller: str) -> CertificateAuthority:
        """Renew the CA's certificate: same subject, same KMS key, same rules; a new serial and validity.

        Certificates it issued stay valid (the key and the name are unchanged); the new version becomes
        CURRENT, the old one PREVIOUS, and trust bundles built from this CA follow (CertificateAuthorityVersionCreated).
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
            current.version_number + 1,
            f"{serial:x}",
            validity,
            certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            crl_partition=partition,
        )
        return self._store.add_authority_version(
            replace(ca, current_version=version, chain_pems=_chain_below(issuer)),
            self._rt.audit(
                ca.id,
                "CreateCertificateAuthorityVersion",
                caller,
                versionNumber=str(version.version_number),
                serialNumber=version.serial_number,
            ),
        )

    def _signed_validity(self, validity: Validity, issuer: CertificateAuthority | None) -> Validity:
        """The checked validity with notBefore backdated, never before the issuer's (a root has no bound)."""
        floor = issuer.current_version.validity.not_before if issuer and issuer.current_version else None
        return backdated(validity, self._backdate, floor)

    def schedule_deletion(self, ca_id: str, command: ScheduleDeletion, caller: str) -> CertificateAuthority:
        ca = self.get(ca_id)
        if ca.lifecycle_state is not LifecycleState.ACTIVE:
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
        ca = self._store.save_authority(replace(ca, lifecycle_state=LifecycleState.ACTIVE, deletion_time=None))
        self._store.record(self._rt.audit(ca.id, "CancelCertificateAuthorityDeletion", caller))
        return ca


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

"""Certificate issuance: validate everything, record what will be signed, sign through KMS, then publish the version.

Order (invariants I1/I2, tests/crash/invariants.py): nothing is written until every check has passed; the version row and the
serial claim are written in one transaction before KMS signs; the signed version and the stage
changes are written in one transaction after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certwright.authorization.identity import normalize_arn
from certwright.domain.authority import (
    CertificateAuthority,
    LifecycleState,
    Validity,
    check_leaf_validity,
    check_name_constraints,
    ensure_can_issue,
)
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion, Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import (
    SanType,
    Subject,
    SubjectAlternativeName,
    looks_like_dns_name,
    normalize_dns_name,
    validate_sans,
    validate_subject,
)
from certwright.domain.publication import PublicationUrls
from certwright.domain.renewal import RenewalRule
from certwright.domain.repair import is_reserved, resume_state
from certwright.domain.revocation import partition_of
from certwright.domain.stages import Stage, add_version, changed, first_version
from certwright.domain.sweep import DEFAULT_THRESHOLDS, parse_thresholds
from certwright.errors import ConflictError, InvalidInputError, NotFoundError, PolicyViolationError
from certwright.ports import KeyVault, Reservation, SerialClaim, Store
from certwright.services.authorities import AuthorityService
from certwright.services.commands import CreateCertificate, CreateVersion
from certwright.services.context import Runtime
from certwright.services.reservation import RESERVATION_TTL, current_token
from certwright.x509.builder import Publication, backdated, sign_leaf_certificate
from certwright.x509.csr import check_csr
from certwright.x509.imported import check_import
from certwright.x509.keys import generate_private_key, private_key_der, spki_fingerprint

DEFAULT_VALIDITY = "P90D"
COMPLETION_ATTEMPTS = 3
RESUME_ATTEMPTS = 3
SUPERSEDED = "a retry of the same request (same Idempotency-Key) took over; nothing was issued from this version"


@dataclass(frozen=True)
class Plan:
    """Everything needed to produce one version, decided before any side effect."""

    subject: Subject
    sans: tuple[SubjectAlternativeName, ...]
    key_algorithm: KeyAlgorithm
    validity: Validity
    public_key: PublicKeyTypes | None = None
    private_key_der: bytes | None = None
    issuer: CertificateAuthority | None = None
    certificate_pem: str | None = None
    chain_pems: tuple[str, ...] = ()


class IssuanceService:
    def __init__(
        self,
        store: Store,
        authorities: AuthorityService,
        vault: KeyVault,
        runtime: Runtime,
        publication: PublicationUrls | None = None,
        *,
        backdate: timedelta = timedelta(0),
    ) -> None:
        self._store = store
        self._authorities = authorities
        self._vault = vault
        self._rt = runtime
        self._publication = publication or PublicationUrls()
        # notBefore lies this far before the issue time (Settings.not_before_backdate).
        self._backdate = backdate

    # -- planning (pure checks, no side effects) -------------------------------------------------------

    def _plan_internal(
        self,
        *,
        issuer_id: str | None,
        profile: Profile | None,
        subject_raw: dict[str, str] | None,
        sans_raw: list[dict[str, str]],
        key_algorithm: KeyAlgorithm | None,
        validity_text: str | None,
        csr_pem: str | None,
        now: datetime,
    ) -> tuple[Plan, Duration]:
        if not issuer_id:
            raise InvalidInputError("issuerCertificateAuthorityId is required")
        if profile is None:
            raise InvalidInputError("profile is required")
        duration = Duration.parse(validity_text or DEFAULT_VALIDITY, field="validityDuration")
        public_key: PublicKeyTypes | None = None
        if csr_pem is not None:
            checked = check_csr(csr_pem, profile)
            if key_algorithm is not None and key_algorithm is not checked.key_algorithm:
                raise InvalidInputError(
                    f"keyAlgorithm {key_algorithm} does not match the CSR's key ({checked.key_algorithm})"
                )
            key_algorithm, public_key = checked.key_algorithm, checked.public_key
            self._refuse_compromised(public_key, "csrPem")
            if subject_raw is None and checked.subject is not None:
                subject_raw = checked.subject.as_dict()
            if not sans_raw:
                sans_raw = list(checked.sans)
        if subject_raw is None:
            raise InvalidInputError("subject is required")
        subject = validate_subject(subject_raw)
        sans = _with_common_name(validate_sans(sans_raw), subject, profile)
        issuer = self._authorities.get(issuer_id)
        ensure_can_issue(issuer, now)
        validity = Validity.starting(now, duration)
        check_leaf_validity(issuer, validity, duration)
        check_name_constraints(issuer, sans)
        # Rules count from the issue time; only then is notBefore backdated (never before the issuer's).
        assert issuer.current_version is not None  # ensure_can_issue
        validity = backdated(validity, self._backdate, issuer.current_version.validity.not_before)
        plan = Plan(subject, sans, key_algorithm or KeyAlgorithm.ECDSA_P256, validity, public_key, issuer=issuer)
        return plan, duration

    def _plan_import(
        self, certificate_pem: str | None, chain_pem: str | None, key_pem: str | None, now: datetime
    ) -> Plan:
        if not (certificate_pem and chain_pem and key_pem):
            raise InvalidInputError("an import needs certificatePem, certChainPem and privateKeyPem")
        checked = check_import(certificate_pem, chain_pem, key_pem, now)
        self._refuse_compromised(checked.certificate.public_key(), "certificatePem")
        pem = checked.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        chain = tuple(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in checked.chain)
        validity = Validity(checked.certificate.not_valid_before_utc, checked.certificate.not_valid_after_utc)
        return Plan(
            checked.subject,
            checked.sans,
            checked.key_algorithm,
            validity,
            private_key_der=checked.private_key_der,
            certificate_pem=pem,
            chain_pems=chain,
        )

    def _refuse_compromised(self, public_key: PublicKeyTypes, field: str) -> None:
        if self._store.key_compromised(spki_fingerprint(public_key)):
            raise PolicyViolationError(
                f"{field}: this key was revoked for keyCompromise and cannot be certified again",
                code="KeyCompromised",
            )

    # -- use cases ------------------------------------------------------------------------------------

    def create(self, command: CreateCertificate, caller: str) -> tuple[Certificate, CertificateVersion]:
        now = self._rt.clock()
        reservation = self._reservation(current_token(), now)
        resumed: Certificate | None = None
        if reservation is not None and reservation.live:
            found = self._resume(reservation.found, caller, is_new=True)
            if isinstance(found, tuple):
                return found
            resumed = found
        kind = command.configType
        duration: Duration | None = None
        if kind is CertificateConfigType.IMPORTED:
            for name in ("issuerCertificateAuthorityId", "csrPem", "renewalRule"):
                if getattr(command, name) is not None:
                    raise InvalidInputError(f"{name} does not apply to an imported certificate")
            plan = self._plan_import(command.certificatePem, command.certChainPem, command.privateKeyPem, now)
        else:
            for name in ("certificatePem", "certChainPem", "privateKeyPem"):
                if getattr(command, name) is not None:
                    raise InvalidInputError(f"{name} applies only to IMPORTED certificates")
            wants_csr = kind is CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA
            if wants_csr != (command.csrPem is not None):
                raise InvalidInputError(
                    "csrPem is required for, and only for, MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA certificates"
                )
            plan, duration = self._plan_internal(
                issuer_id=command.issuerCertificateAuthorityId,
                profile=command.profile,
                subject_raw=command.subject.as_dict() if command.subject else None,
                sans_raw=[s.model_dump() for s in command.subjectAlternativeNames],
                key_algorithm=command.keyAlgorithm,
                validity_text=command.validityDuration,
                csr_pem=command.csrPem,
                now=now,
            )
        if resumed is not None and reservation is not None:
            number = resumed.latest_version_number + 1
            reserved = replace(resumed, lifecycle_state=LifecycleState.CREATING, latest_version_number=number)
            return self._issue(
                reserved, plan, number, pending=False, caller=caller, is_new=True, reservation=reservation.next(number)
            )
        rule = (
            RenewalRule.from_dict(command.renewalRule.model_dump(), duration)
            if command.renewalRule and duration
            else None
        )
        certificate = Certificate(
            id=self._rt.ids("cert"),
            name=command.name,
            config_type=kind,
            profile=command.profile,
            issuer_ca_id=plan.issuer.id if plan.issuer else None,
            subject=plan.subject,
            sans=plan.sans,
            key_algorithm=plan.key_algorithm,
            validity_duration=duration,
            renewal_rule=rule,
            lifecycle_state=LifecycleState.CREATING,
            created_by=caller,
            created_at=now,
            owner=normalize_arn(caller),
            latest_version_number=1,
            description=command.description,
            expiry_alert_thresholds=parse_thresholds(command.expiryAlertThresholds)
            if command.expiryAlertThresholds is not None
            else DEFAULT_THRESHOLDS,
        )
        claim = reservation.fresh(certificate.id) if reservation is not None else None
        return self._issue(certificate, plan, 1, pending=False, caller=caller, is_new=True, reservation=claim)

    def create_version(
        self, certificate_id: str, command: CreateVersion, caller: str
    ) -> tuple[Certificate, CertificateVersion]:
        now = self._rt.clock()
        reservation = self._reservation(current_token(), now)
        if reservation is not None and reservation.live and reservation.found.certificate_id == certificate_id:
            resumed = self._resume(reservation.found, caller, is_new=False)
            if isinstance(resumed, tuple):
                return resumed
        certificate = self.get(certificate_id)
        certificate.ensure_active()
        certificate.ensure_not_retired()
        kind = certificate.config_type
        if kind is CertificateConfigType.IMPORTED:
            if command.csrPem or command.validityDuration:
                raise InvalidInputError("a new version of an imported certificate is a new import")
            plan = self._plan_import(command.certificatePem, command.certChainPem, command.privateKeyPem, now)
        else:
            if command.certificatePem or command.certChainPem or command.privateKeyPem:
                raise InvalidInputError("certificatePem, certChainPem and privateKeyPem apply only to imports")
            wants_csr = kind is CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA
            if wants_csr != (command.csrPem is not None):
                raise InvalidInputError("a new version of a CSR-managed certificate needs csrPem (and only then)")
            validity_text = command.validityDuration or (
                certificate.validity_duration.text if certificate.validity_duration else None
            )
            plan, _ = self._plan_internal(
                issuer_id=certificate.issuer_ca_id,
                profile=certificate.profile,
                subject_raw=certificate.subject.as_dict(),
                sans_raw=[s.as_dict() for s in certificate.sans],
                key_algorithm=None if wants_csr else certificate.key_algorithm,
                validity_text=validity_text,
                csr_pem=command.csrPem,
                now=now,
            )
        number = certificate.latest_version_number + 1
        reserved = replace(certificate, latest_version_number=number)
        claim = None
        if reservation is not None:
            claim = reservation.next(number) if reservation.live else reservation.fresh(certificate_id, number)
        return self._issue(
            reserved, plan, number, pending=command.stage == "PENDING", caller=caller, is_new=False, reservation=claim
        )

    def get(self, certificate_id: str) -> Certificate:
        certificate = self._store.get_certificate(certificate_id)
        if certificate is None or certificate.lifecycle_state is LifecycleState.DELETED:
            raise NotFoundError(f"certificate {certificate_id} not found")
        return certificate

    # -- an idempotent request retried after a crash --------------------------------------------------

    def _reservation(self, token: str | None, now: datetime) -> _Claim | None:
        if token is None:
            return None
        return _Claim(token, now, self._store.get_reservation(token))

    def _resume(
        self, reservation: Reservation, caller: str, *, is_new: bool
    ) -> tuple[Certificate, CertificateVersion] | Certificate:
        """What an earlier attempt of this request reserved: its result if it was published, else the certificate
        to reserve the next version in (the earlier reservation failed first, so it can never be published)."""
        certificate_id, number = reservation.certificate_id, reservation.version_number
        for _ in range(RESUME_ATTEMPTS):
            certificate = self._store.get_certificate(certificate_id)
            version = self._store.get_version(certificate_id, number)
            if certificate is None or version is None:
                raise ConflictError(f"certificate {certificate_id} vanished", code="ConcurrentModification")
            if certificate.lifecycle_state is LifecycleState.DELETED:
                raise ConflictError(
                    f"certificate {certificate_id}, created by this request, has been deleted; use a new Idempotency-Key",
                    code="IdempotencyKeyReused",
                )
            if version.certificate_pem and Stage.FAILED not in version.stages:
                return certificate, version  # published: the one result of this request
            if is_new and resume_state(certificate) is None:
                raise ConflictError(
                    f"certificate {certificate_id} is {certificate.lifecycle_state.value}", code="InvalidState"
                )
            if not is_reserved(version):
                return certificate  # FAILED: reserve the next version
            action = "CreateCertificate" if is_new else "CreateCertificateVersion"
            audit = self._rt.audit(
                certificate_id, action, caller, "FAILED", versionNumber=str(number), reason=SUPERSEDED
            )
            try:
                self._store.fail_version(certificate, number, SUPERSEDED, audit=audit)
            except ConflictError:
                continue  # the repair pass (or a late writer) changed it: look again
        raise ConflictError(
            f"certificate {certificate_id} is changing concurrently; retry", code="ConcurrentModification"
        )

    # -- the write path -------------------------------------------------------------------------------

    def _issue(
        self,
        certificate: Certificate,
        plan: Plan,
        number: int,
        *,
        pending: bool,
        caller: str,
        is_new: bool,
        reservation: Reservation | None = None,
    ) -> tuple[Certificate, CertificateVersion]:
        now = self._rt.clock()
        key_der = plan.private_key_der
        public_key = plan.public_key
        if plan.certificate_pem is None and public_key is None:
            private_key = generate_private_key(plan.key_algorithm)
            key_der, public_key = private_key_der(private_key), private_key.public_key()
        serial = self._rt.serials()
        if plan.certificate_pem is not None:
            serial_hex = f"{x509.load_pem_x509_certificate(plan.certificate_pem.encode()).serial_number:x}"
        else:
            serial_hex = f"{serial:x}"
        version = CertificateVersion(
            certificate_id=certificate.id,
            version_number=number,
            stages=frozenset(),
            serial_number=serial_hex,
            validity=plan.validity,
            subject=plan.subject,
            sans=plan.sans,
            certificate_pem="",
            chain_pems=plan.chain_pems,
            created_at=now,
            has_private_key=key_der is not None,
            issuer_ca_id=plan.issuer.id if plan.issuer else None,
        )
        claim = SerialClaim(plan.issuer.id, serial_hex) if plan.issuer else None
        partition = 0
        if plan.issuer is not None:
            index = self._store.next_issuance_index(plan.issuer.id)
            partition = partition_of(index, self._publication.partition_size)
            version = replace(version, crl_partition=partition)
        certificate = self._store.begin_version(
            certificate, version, claim, is_new_certificate=is_new, reservation=reservation
        )
        try:
            sealed = self._vault.seal(key_der, certificate.id, number) if key_der is not None else None
            if plan.certificate_pem is not None:
                pem, chain = plan.certificate_pem, plan.chain_pems
            else:
                assert plan.issuer is not None and public_key is not None and certificate.profile is not None
                signed = sign_leaf_certificate(
                    subject=plan.subject,
                    sans=plan.sans,
                    public_key=public_key,
                    serial_number=serial,
                    validity=plan.validity,
                    profile=certificate.profile,
                    issuer=self._authorities.signer_for(plan.issuer),
                    publication=Publication(
                        self._publication.crl_url(plan.issuer.id, partition),
                        self._publication.ca_issuers_url(plan.issuer.id),
                    ),
                )
                pem = signed.public_bytes(serialization.Encoding.PEM).decode("ascii")
                chain = (
                    (plan.issuer.current_version.certificate_pem, *plan.issuer.chain_pems)
                    if plan.issuer.current_version
                    else ()
                )
        except Exception as err:
            self._abandon(certificate, number, err, caller=caller, is_new=is_new)
            raise
        version = replace(version, certificate_pem=pem, chain_pems=chain)
        try:
            return self._complete(certificate, version, sealed, pending=pending, caller=caller, is_new=is_new)
        except Exception as err:
            # Otherwise a throttled completion would leave a reserved version with no stage for good.
            self._abandon(certificate, number, err, caller=caller, is_new=is_new)
            raise

    def _abandon(self, certificate: Certificate, number: int, err: Exception, *, caller: str, is_new: bool) -> None:
        """Mark a reserved version that will not be published FAILED, and a new certificate with it."""
        reason = f"{type(err).__name__}: {err}"
        action = "CreateCertificate" if is_new else "CreateCertificateVersion"
        try:
            # One write: a crash here leaves the reservation in flight for the repair pass, never half-failed.
            self._store.fail_version(
                certificate,
                number,
                reason,
                audit=self._rt.audit(certificate.id, action, caller, "FAILED", versionNumber=str(number)),
                failed_certificate=replace(certificate, lifecycle_state=LifecycleState.FAILED) if is_new else None,
            )
        except ConflictError:
            return  # it was published after all (the answer was lost, not the write): leave it be

    def _complete(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        sealed: bytes | None,
        *,
        pending: bool,
        caller: str,
        is_new: bool,
    ) -> tuple[Certificate, CertificateVersion]:
        number = version.version_number
        action = "CreateCertificate" if is_new else "CreateCertificateVersion"
        for attempt in range(COMPLETION_ATTEMPTS):
            if is_new and number == 1:
                stages: dict[int, frozenset[Stage]] = first_version()
            else:
                before = {
                    v.version_number: v.stages
                    for v in self._store.list_versions(certificate.id)
                    if v.version_number != number
                }
                stages = changed(before, add_version(before, number, pending=pending))
            final = replace(version, stages=stages[number])
            updated = replace(
                certificate,
                lifecycle_state=LifecycleState.ACTIVE,
                current_version_number=certificate.current_version_number if pending else number,
            )
            if not pending:
                updated = replace(updated, next_renewal_at=_next_renewal(updated, final)).scheduled(
                    self._rt.clock(), final.validity.not_after
                )
            try:
                saved = self._store.complete_version(
                    updated,
                    final,
                    stages,
                    sealed,
                    self._rt.audit(
                        certificate.id,
                        action,
                        caller,
                        versionNumber=str(number),
                        serialNumber=final.serial_number,
                    ),
                )
                return saved, final
            except ConflictError:
                if attempt == COMPLETION_ATTEMPTS - 1:
                    raise
                # Another writer (a promote, a second renewal) moved the stages: recompute on fresh state.
                certificate = self.get(certificate.id)
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Claim:
    """The reservation an idempotent request may hold: `found` (live unless expired), and the ones it will write."""

    token: str
    now: datetime
    stored: Reservation | None

    @property
    def live(self) -> bool:
        return self.stored is not None and self.stored.expires_at > self.now

    @property
    def found(self) -> Reservation:
        assert self.stored is not None
        return self.stored

    def next(self, number: int) -> Reservation:
        """The live reservation moved on to version `number` (written only if it still is what was read)."""
        return replace(self.found, version_number=number, expires_at=self.now + RESERVATION_TTL)

    def fresh(self, certificate_id: str, number: int = 1) -> Reservation:
        """A first reservation (overwriting an expired one under the same token, if any)."""
        version = self.stored.row_version if self.stored is not None else 0
        return Reservation(self.token, certificate_id, number, self.now + RESERVATION_TTL, version)


def _next_renewal(certificate: Certificate, version: CertificateVersion) -> datetime | None:
    if certificate.renewal_rule is None:
        return None
    # The interval counts from the issue time, not from the backdated notBefore.
    return certificate.renewal_rule.next_renewal(issued_at(version), version.validity.not_after)


def issued_at(version: CertificateVersion) -> datetime:
    """When a version was issued (to the second): its notBefore before backdating."""
    return max(version.created_at.replace(microsecond=0), version.validity.not_before)


def _with_common_name(
    sans: tuple[SubjectAlternativeName, ...], subject: Subject, profile: Profile
) -> tuple[SubjectAlternativeName, ...]:
    """Server certificates name their host in the SANs; a DNS-like commonName is added when missing."""
    if not profile.serves_tls:
        return sans
    names = {s.value for s in sans}
    if subject.common_name.lower() in names:
        return sans
    if looks_like_dns_name(subject.common_name):
        return (SubjectAlternativeName(SanType.DNS, normalize_dns_name(subject.common_name)), *sans)
    if not sans:
        raise InvalidInputError(
            f"profile {profile.value} needs a DNS or IP subject alternative name (or a commonName that is a host name)"
        )
    return sans

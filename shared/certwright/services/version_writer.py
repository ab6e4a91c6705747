"""Writing a planned certificate version: reserve it with its serial, seal the key and sign through KMS, publish it.

Order (invariants I1/I2, tests/crash/invariants.py): the version row and the serial claim are written in one
transaction before KMS signs; the signed version and the stage changes are written in one transaction after.
A version that cannot be published is marked FAILED (with a new certificate); an idempotent request retried
after a crash resumes from what its earlier attempt reserved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.publication import PublicationUrls
from certwright.domain.repair import is_reserved, resume_state
from certwright.domain.revocation import partition_of
from certwright.domain.stages import Stage, add_version, changed, first_version
from certwright.errors import ConflictError, NotFoundError
from certwright.ports import KeyVault, Reservation, SerialClaim, Store
from certwright.services.authorities import AuthorityService
from certwright.services.context import Runtime
from certwright.services.reservation import RESERVATION_TTL
from certwright.services.version_plans import Plan
from certwright.x509.builder import Issuer, sign_leaf_certificate
from certwright.x509.keys import generate_private_key, private_key_der

COMPLETION_ATTEMPTS = 3
RESUME_ATTEMPTS = 3
MAX_CACHED_SIGNERS = 64
SUPERSEDED = "a retry of the same request (same Idempotency-Key) took over; nothing was issued from this version"


class VersionWriter:
    def __init__(
        self,
        store: Store,
        authorities: AuthorityService,
        vault: KeyVault,
        runtime: Runtime,
        publication: PublicationUrls | None = None,
    ) -> None:
        self._store = store
        self._authorities = authorities
        self._vault = vault
        self._rt = runtime
        self._publication = publication or PublicationUrls()
        # Per CA version: its signing identity (parsed once) and its KMS key handle; both immutable.
        self._signers: dict[tuple[str, str, str], Issuer] = {}

    def _signer_for(self, ca: CertificateAuthority) -> Issuer:
        assert ca.current_version is not None
        key = (ca.id, ca.kms_key_id, ca.current_version.certificate_pem)
        signer = self._signers.get(key)
        if signer is None:
            if len(self._signers) >= MAX_CACHED_SIGNERS:
                self._signers.clear()
            signer = self._signers[key] = self._authorities.signer_for(ca)
        return signer

    def get(self, certificate_id: str) -> Certificate:
        certificate = self._store.get_certificate(certificate_id)
        if certificate is None or certificate.lifecycle_state is LifecycleState.DELETED:
            raise NotFoundError(f"certificate {certificate_id} not found")
        return certificate

    # -- an idempotent request retried after a crash --------------------------------------------------

    def reservation(self, token: str | None, now: datetime) -> Claim | None:
        if token is None:
            return None
        return Claim(token, now, self._store.get_reservation(token))

    def resume(
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

    def issue(
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
        # The claim holds only while the issuer is the one the plan was checked against (it may have been cached).
        claim = SerialClaim(plan.issuer.id, serial_hex, plan.issuer.row_version) if plan.issuer else None
        certificate = self._store.begin_version(
            certificate, version, claim, is_new_certificate=is_new, reservation=reservation
        )
        partition = 0
        try:
            if plan.issuer is not None:
                # Counted once the claim holds (the issuer is current): a refused request counts nothing. The
                # partition reaches the version row with its publication.
                index = self._store.next_issuance_index(plan.issuer.id)
                partition = partition_of(index, self._publication.partition_size)
                version = replace(version, crl_partition=partition)
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
                    issuer=self._signer_for(plan.issuer).signed(plan.signing_algorithm),
                    publication=self._authorities.publication_for(plan.issuer, partition),
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
class Claim:
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

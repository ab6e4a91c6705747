"""Revocation: withdraw trust in a certificate version or a subordinate CA version, and replace what was in use.

A revocation is one transaction: the version row, the issuing CA's revoked list (what its next CRL is
built from), the compromised-key record when the reason is keyCompromise, and the audit record. The CRL
publisher learns of it from the table stream (CertificateVersionRevoked), never from a second write here.

Revoking the CURRENT version of a certificate that load balancers or hosts use would leave them serving a
revoked certificate, so a replacement version is issued at once (service-held keys: a new key) and the
normal deployment takes it everywhere. A CSR-managed certificate cannot be replaced without a new CSR;
the answer says so. Reasons that retire the certificate itself (cessationOfOperation, privilegeWithdrawn)
stop its renewals and refuse new versions instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aws_lambda_powertools import Logger
from cryptography import x509

from certwright.domain.authority import CaConfigType, CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion
from certwright.domain.revocation import (
    RETIRING,
    Revocation,
    RevocationReason,
    RevokedEntry,
    RevokedKind,
    parse_reason,
)
from certwright.errors import CertwrightError, ConflictError, NotFoundError
from certwright.ports import Store
from certwright.services.authorities import AuthorityService
from certwright.services.commands import RevokeVersion
from certwright.services.context import Runtime
from certwright.services.issuance import IssuanceService
from certwright.x509.keys import spki_fingerprint

# Attempts of a revocation that lost a race with another writer of the certificate row.
_CONFLICT_ATTEMPTS = 3
logger = Logger(child=True)
_REVOCABLE_STATES = (LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION)


@dataclass(frozen=True)
class Replacement:
    """What happened to the users of a revoked CURRENT version."""

    state: str  # CREATED | FAILED | NEEDS_CSR
    message: str
    version_number: int | None = None


@dataclass(frozen=True)
class CertificateRevocation:
    certificate: Certificate
    version: CertificateVersion
    replacement: Replacement | None


class RevocationService:
    def __init__(
        self, store: Store, issuance: IssuanceService, authorities: AuthorityService, runtime: Runtime
    ) -> None:
        self._store = store
        self._issuance = issuance
        self._authorities = authorities
        self._rt = runtime

    def revoke_certificate_version(
        self, certificate_id: str, version_number: int, command: RevokeVersion, caller: str
    ) -> CertificateRevocation:
        """Revoke one version; a concurrent writer of the certificate row (a deployment recording its state, an
        association counting itself) is retried from a fresh read, as every check before the write is a read."""
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                return self._revoke_certificate_version(certificate_id, version_number, command, caller)
            except ConflictError as err:
                if err.code != "ConcurrentModification" or attempt == _CONFLICT_ATTEMPTS - 1:
                    raise
                logger.info("revocation raced a concurrent writer; retrying", extra={"certificateId": certificate_id})
        raise AssertionError("unreachable")

    def _revoke_certificate_version(
        self, certificate_id: str, version_number: int, command: RevokeVersion, caller: str
    ) -> CertificateRevocation:
        certificate = self._issuance.get(certificate_id)
        if certificate.lifecycle_state not in _REVOCABLE_STATES:
            raise ConflictError(
                f"certificate {certificate_id} is {certificate.lifecycle_state.value}", code="InvalidState"
            )
        if certificate.config_type is CertificateConfigType.IMPORTED:
            raise ConflictError(
                "an imported certificate was issued elsewhere; revoke it with its issuer", code="RevocationNotSupported"
            )
        version = self._store.get_version(certificate_id, version_number)
        if version is None:
            raise NotFoundError(f"certificate {certificate_id} has no version {version_number}")
        if not version.certificate_pem or version.issuer_ca_id is None:
            raise ConflictError(f"version {version_number} was never issued", code="VersionNotIssued")
        reason = parse_reason(command.revocation_reason, for_authority=False)
        if version.revocation is not None:
            if _replacement_missing(certificate, version, reason):
                # The same revocation again after its replacement never came (crashed or failed): replace now.
                return CertificateRevocation(certificate, version, self._replace(certificate, caller))
            raise ConflictError(f"version {version_number} is already revoked", code="AlreadyRevoked")

        now = self._rt.clock()
        is_current = version_number == certificate.current_version_number
        retiring = is_current and reason in RETIRING
        revoked = replace(version, revocation=Revocation(reason, now))
        updated = certificate
        if retiring:
            # No renewals and no alerts for a certificate that is meant to be gone.
            updated = replace(certificate, retired_by=reason, next_renewal_at=None, next_check_at=None)
        entry = RevokedEntry(
            issuer_ca_id=version.issuer_ca_id,
            serial_number=version.serial_number,
            revoked_at=now,
            reason=reason,
            kind=RevokedKind.CERTIFICATE,
            resource_id=certificate_id,
            version_number=version_number,
            partition=version.crl_partition,
            not_after=version.validity.not_after,
        )
        saved = self._store.revoke_certificate_version(
            updated,
            revoked,
            entry,
            self._rt.audit(
                certificate_id,
                "RevokeCertificateVersion",
                caller,
                versionNumber=str(version_number),
                serialNumber=version.serial_number,
                reason=reason.value,
            ),
            _fingerprint(version.certificate_pem) if reason is RevocationReason.KEY_COMPROMISE else None,
        )
        replacement = None
        if is_current and not retiring and saved.association_count:
            replacement = self._replace(saved, caller)
        return CertificateRevocation(saved, revoked, replacement)

    def _replace(self, certificate: Certificate, caller: str) -> Replacement:
        if certificate.config_type is CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA:
            return Replacement(
                "NEEDS_CSR",
                f"certificate {certificate.id} is in use and its CURRENT version is revoked: "
                f"POST /certificates/{certificate.id}/versions with a new CSR to replace it",
            )
        try:
            _, version = self._issuance.renew(certificate.id, caller)
        except Exception as exc:
            err = exc if isinstance(exc, CertwrightError) else CertwrightError(type(exc).__name__)
            if not isinstance(exc, CertwrightError):
                logger.exception("replacement of a revoked version failed", extra={"certificateId": certificate.id})
            # The revocation stands; the caller learns that the users still serve the revoked version.
            self._store.record(
                self._rt.audit(certificate.id, "ReplaceRevokedVersion", caller, "FAILED", error=err.message[:300])
            )
            return Replacement(
                "FAILED",
                f"the replacement version could not be issued ({err.code}: {err.message}); "
                f"POST /certificates/{certificate.id}/versions to retry",
            )
        return Replacement(
            "CREATED",
            f"version {version.version_number} replaces it and is being deployed to every association",
            version.version_number,
        )

    def revoke_authority_version(
        self, ca_id: str, version_number: int, command: RevokeVersion, caller: str
    ) -> CertificateAuthority:
        ca = self._authorities.get(ca_id)
        if ca.config_type in (CaConfigType.ROOT_CA_GENERATED_INTERNALLY, CaConfigType.ROOT_CA_MANAGED_EXTERNALLY):
            raise ConflictError(
                "a root CA has no issuer to revoke it; remove it from the trust stores instead",
                code="CannotRevokeRoot",
            )
        if ca.lifecycle_state not in _REVOCABLE_STATES:
            raise ConflictError(f"certificate authority {ca_id} is {ca.lifecycle_state.value}", code="InvalidState")
        version = ca.current_version
        if version is None or version.version_number != version_number:
            raise NotFoundError(f"certificate authority {ca_id} has no version {version_number}")
        if version.revocation is not None:
            raise ConflictError(f"version {version_number} is already revoked", code="AlreadyRevoked")
        reason = parse_reason(command.revocation_reason, for_authority=True)
        assert ca.issuer_id is not None
        now = self._rt.clock()
        revoked = replace(ca, current_version=replace(version, revocation=Revocation(reason, now)))
        # Every version of a CA carries the same key and name (a renewal re-certifies them): revoking the CA
        # means revoking each of its certificates that is still valid, or an older one would still vouch for it.
        older = [
            v
            for v in self._store.list_authority_versions(ca_id)
            if v.version_number != version_number and v.revocation is None and v.validity.not_after >= now
        ]
        entries = [
            RevokedEntry(
                issuer_ca_id=ca.issuer_id,
                serial_number=v.serial_number,
                revoked_at=now,
                reason=reason,
                kind=RevokedKind.CERTIFICATE_AUTHORITY,
                resource_id=ca_id,
                version_number=v.version_number,
                partition=v.crl_partition,
                not_after=v.validity.not_after,
            )
            for v in (version, *older)
        ]
        return self._store.revoke_authority_version(
            revoked,
            entries,
            self._rt.audit(
                ca_id,
                "RevokeCertificateAuthorityVersion",
                caller,
                versionNumber=str(version_number),
                serialNumber=version.serial_number,
                reason=reason.value,
            ),
            _fingerprint(version.certificate_pem) if reason is RevocationReason.KEY_COMPROMISE else None,
        )


def _replacement_missing(certificate: Certificate, version: CertificateVersion, reason: RevocationReason) -> bool:
    """A revoked CURRENT version still in use, not retiring the certificate, revoked for this same reason."""
    return (
        version.revocation is not None
        and version.revocation.reason is reason
        and version.version_number == certificate.current_version_number
        and certificate.association_count > 0
        and certificate.retired_by is None
        and reason not in RETIRING
    )


def _fingerprint(certificate_pem: str) -> str:
    return spki_fingerprint(x509.load_pem_x509_certificate(certificate_pem.encode()).public_key())

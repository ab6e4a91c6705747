"""Certificate bundles: the certificate, its chain, and — only for the associated principal — its private key.

A private key is read only by the principal of an ACTIVE association whose target consents right now (the host
itself; for listener and ACM associations the deployer role), never by an admin, the creator, or a caller from
another account. Every decision is audited with its reason, and no KMS Decrypt happens on a refused read.
"""

from __future__ import annotations

from dataclasses import dataclass

from certwright.authorization.identity import account_of
from certwright.domain.association import Association, AssociationState, AssociationType, principal_arn
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.stages import Stage
from certwright.errors import AccessDeniedError, CertwrightError, InvalidInputError, NotFoundError
from certwright.ports import KeyVault, Store
from certwright.services.certificates import CertificateService
from certwright.services.consent import ConsentService
from certwright.services.context import Runtime
from certwright.x509.keys import private_key_pem_from_der

_DEPLOYER_TYPES = {AssociationType.LOAD_BALANCER_LISTENER, AssociationType.ACM_CERTIFICATE}


@dataclass(frozen=True)
class KeyReadDecision:
    granted: bool
    reason: str  # ASSOCIATED_PRINCIPAL, DEPLOYER_ROLE, or why not (audited)
    association_id: str = ""
    message: str = ""


@dataclass(frozen=True)
class Bundle:
    certificate: Certificate
    version: CertificateVersion
    private_key_pem: str | None


class BundleService:
    def __init__(
        self,
        store: Store,
        certificates: CertificateService,
        vault: KeyVault,
        runtime: Runtime,
        deployer_role_arn: str,
        consent: ConsentService,
    ) -> None:
        self._store = store
        self._certificates = certificates
        self._vault = vault
        self._rt = runtime
        self._deployer = deployer_role_arn
        self._consent = consent

    def get(
        self,
        certificate_id: str,
        *,
        stage: str | None,
        version_number: int | None,
        include_private_key: bool,
        caller: str,
    ) -> Bundle:
        certificate = self._certificates.get(certificate_id)
        version = self._select(certificate, stage, version_number)
        if not include_private_key:
            return Bundle(certificate, version, None)
        if not version.has_private_key:
            raise InvalidInputError(
                f"certificate {certificate_id} has no private key held by Certwright "
                "(the customer holds the key of a CSR-managed certificate)",
                code="NoPrivateKey",
            )
        decision = self.key_read_decision(certificate_id, caller)
        audit = {"versionNumber": str(version.version_number), "reason": decision.reason}
        if decision.association_id:
            audit["associationId"] = decision.association_id
        if not decision.granted:
            self._store.record(self._rt.audit(certificate_id, "ReadPrivateKey", caller, "DENIED", **audit))
            raise AccessDeniedError(decision.message)
        sealed = self._store.get_sealed_key(certificate_id, version.version_number)
        if sealed is None:
            raise NotFoundError(f"version {version.version_number} has no stored private key")
        try:
            pem = private_key_pem_from_der(self._vault.open(sealed, certificate_id, version.version_number))
        except CertwrightError:
            self._store.record(self._rt.audit(certificate_id, "ReadPrivateKey", caller, "FAILED", **audit))
            raise
        self._store.record(self._rt.audit(certificate_id, "ReadPrivateKey", caller, "SUCCEEDED", **audit))
        return Bundle(certificate, version, pem)

    def _select(self, certificate: Certificate, stage: str | None, version_number: int | None) -> CertificateVersion:
        if version_number is not None:
            return self._certificates.version(certificate.id, version_number)
        try:
            wanted = Stage(stage or Stage.CURRENT.value)
        except ValueError as err:
            raise InvalidInputError(f"stage must be one of {', '.join(s.value for s in Stage)}") from err
        for version in self._store.list_versions(certificate.id):
            if wanted in version.stages:
                return version
        raise NotFoundError(f"certificate {certificate.id} has no {wanted.value} version")

    def key_read_decision(self, certificate_id: str, caller: str) -> KeyReadDecision:
        """May `caller` read the certificate's private key now? Consent is re-checked on every read."""
        principal = principal_arn(caller)
        home = self._consent.home_account
        if home and account_of(principal) != home:
            return KeyReadDecision(False, "CROSS_ACCOUNT", message=f"{principal} is not in account {home}")
        refusal = KeyReadDecision(
            False,
            "NOT_ASSOCIATED",
            message="only the principal associated with this certificate may read its private key",
        )
        for association in self._store.associations_of(certificate_id):
            reason = self._reader_role(association, principal)
            if reason is None:
                continue
            # A state change found here is saved with a retry due now, so the deployer's schedule acts on it.
            association, consent = self._consent.refresh(association, retry_at=self._rt.clock())
            if association.state is AssociationState.ACTIVE:
                return KeyReadDecision(True, reason, association.id)
            refusal = KeyReadDecision(
                False,
                association.state.value,
                association.id,
                f"association {association.id} is {association.state.value}: {consent.message}",
            )
        return refusal

    def _reader_role(self, association: Association, principal: str) -> str | None:
        if association.ca_bundle_id is not None:
            return None
        if association.association_type is AssociationType.HOST_PRINCIPAL:
            return "ASSOCIATED_PRINCIPAL" if association.host_principal == principal else None
        if association.association_type in _DEPLOYER_TYPES and self._deployer and principal == self._deployer:
            return "DEPLOYER_ROLE"
        return None

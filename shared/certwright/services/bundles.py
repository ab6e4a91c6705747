"""Certificate bundles: the certificate, its chain, and — only for the associated principal — its private key."""

from __future__ import annotations

from dataclasses import dataclass

from certwright.domain.association import AssociationType, principal_arn
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.stages import Stage
from certwright.errors import AccessDeniedError, CertwrightError, InvalidInputError, NotFoundError
from certwright.ports import KeyVault, Store
from certwright.services.certificates import CertificateService
from certwright.services.context import Runtime
from certwright.x509.keys import private_key_pem_from_der

_DEPLOYER_TYPES = {AssociationType.LOAD_BALANCER_LISTENER, AssociationType.ACM_CERTIFICATE}


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
    ) -> None:
        self._store = store
        self._certificates = certificates
        self._vault = vault
        self._rt = runtime
        self._deployer = deployer_role_arn

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
        if not self._may_read_key(certificate_id, caller):
            self._store.record(
                self._rt.audit(
                    certificate_id,
                    "ReadPrivateKey",
                    caller,
                    "DENIED",
                    versionNumber=str(version.version_number),
                )
            )
            raise AccessDeniedError("only the principal associated with this certificate may read its private key")
        sealed = self._store.get_sealed_key(certificate_id, version.version_number)
        if sealed is None:
            raise NotFoundError(f"version {version.version_number} has no stored private key")
        try:
            pem = private_key_pem_from_der(self._vault.open(sealed, certificate_id, version.version_number))
        except CertwrightError:
            self._store.record(
                self._rt.audit(
                    certificate_id, "ReadPrivateKey", caller, "FAILED", versionNumber=str(version.version_number)
                )
            )
            raise
        self._store.record(
            self._rt.audit(
                certificate_id,
                "ReadPrivateKey",
                caller,
                "SUCCEEDED",
                versionNumber=str(version.version_number),
            )
        )
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

    def _may_read_key(self, certificate_id: str, caller: str) -> bool:
        principal = principal_arn(caller)
        for association in self._store.associations_of(certificate_id):
            if association.association_type is AssociationType.HOST_PRINCIPAL:
                if association.associated_resource_id == principal:
                    return True
            elif association.association_type in _DEPLOYER_TYPES and self._deployer and principal == self._deployer:
                return True
        return False

"""Ports: the small protocols services depend on; adapters implement them against AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

from certwright.domain.association import Association
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CaVersion, CertificateAuthority
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.revocation import RevokedEntry
from certwright.domain.stages import Stage
from certwright.x509.endpoint_checks import Observation

Clock = Callable[[], datetime]
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class SerialClaim:
    issuer_ca_id: str
    serial_number: str


@dataclass(frozen=True)
class Reservation:
    """What an idempotent request reserved (certwright.services.reservation): the version it is producing."""

    token: str
    certificate_id: str
    version_number: int
    expires_at: datetime
    row_version: int = 0


class CaKeyProvider(Protocol):
    """CA signing keys held in a key store that never exports them (KMS)."""

    def create_key(self, algorithm: KeyAlgorithm, description: str) -> str: ...

    def public_key(self, key_id: str) -> PublicKeyTypes: ...

    def signing_key(self, key_id: str, algorithm: KeyAlgorithm) -> CertificateIssuerPrivateKeyTypes: ...

    def schedule_key_deletion(self, key_id: str) -> None: ...


class KeyVault(Protocol):
    """Envelope for leaf private keys: ciphertext bound to (certificate, version) by encryption context."""

    def seal(self, plaintext: bytes, certificate_id: str, version_number: int) -> bytes: ...

    def open(self, ciphertext: bytes, certificate_id: str, version_number: int) -> bytes: ...


class AuthorityStore(Protocol):
    def begin_authority(self, ca: CertificateAuthority, claim: SerialClaim) -> CertificateAuthority: ...

    def complete_authority(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority: ...

    def save_authority(self, ca: CertificateAuthority) -> CertificateAuthority: ...

    def get_authority(self, ca_id: str) -> CertificateAuthority | None: ...

    def list_authorities(self, limit: int, token: str | None) -> Page[CertificateAuthority]: ...

    def list_authority_versions(self, ca_id: str) -> list[CaVersion]: ...

    def claim_serial(self, claim: SerialClaim) -> None: ...

    def add_authority_version(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority: ...

    def children_of(self, ca_id: str) -> Iterator[Certificate | CertificateAuthority]: ...


class CertificateStore(Protocol):
    def begin_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        claim: SerialClaim | None,
        *,
        is_new_certificate: bool,
        reservation: Reservation | None = None,
    ) -> Certificate: ...

    def get_reservation(self, token: str) -> Reservation | None: ...

    def complete_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        sealed_key: bytes | None,
        audit: AuditRecord,
    ) -> Certificate: ...

    def fail_version(
        self,
        certificate: Certificate,
        version_number: int,
        reason: str,
        *,
        audit: AuditRecord | None = None,
        failed_certificate: Certificate | None = None,
    ) -> None: ...

    def change_stages(
        self, certificate: Certificate, stage_changes: Mapping[int, frozenset[Stage]], audit: AuditRecord
    ) -> Certificate: ...

    def save_certificate(
        self, certificate: Certificate, audit: AuditRecord, *, require_no_associations: bool = False
    ) -> Certificate: ...

    def get_certificate(self, certificate_id: str) -> Certificate | None: ...

    def list_certificates(self, limit: int, token: str | None) -> Page[Certificate]: ...

    def list_versions(self, certificate_id: str) -> list[CertificateVersion]: ...

    def get_version(self, certificate_id: str, version_number: int) -> CertificateVersion | None: ...

    def get_sealed_key(self, certificate_id: str, version_number: int) -> bytes | None: ...


class RevocationStore(Protocol):
    def next_issuance_index(self, ca_id: str) -> int: ...

    def revoke_certificate_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        entry: RevokedEntry,
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> Certificate: ...

    def revoke_authority_version(
        self,
        ca: CertificateAuthority,
        entries: Sequence[RevokedEntry],
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> CertificateAuthority: ...

    def revoked_entries(self, ca_id: str) -> list[RevokedEntry]: ...

    def key_compromised(self, fingerprint: str) -> bool: ...


class ListenerView(Protocol):
    @property
    def default(self) -> str | None: ...

    @property
    def sni(self) -> tuple[str, ...]: ...


class ListenerPort(Protocol):
    """Load-balancer listeners (ELBv2): the default certificate and the SNI certificates."""

    def certificates(self, listener_arn: str) -> ListenerView: ...

    def set_default(self, listener_arn: str, certificate_arn: str) -> None: ...

    def add_sni(self, listener_arn: str, certificate_arn: str) -> None: ...

    def remove_sni(self, listener_arn: str, certificate_arn: str) -> None: ...


class AcmPort(Protocol):
    """Certificates as load balancers and API gateways consume them (ACM)."""

    def import_certificate(
        self,
        certificate_pem: str,
        private_key_pem: str,
        chain_pem: str,
        tags: dict[str, str],
        existing_arn: str | None = None,
    ) -> str: ...

    def serial_of(self, arn: str) -> str | None: ...

    def tagged(self, tags: dict[str, str]) -> list[str]: ...

    def delete(self, arn: str) -> bool: ...


class TargetTagPort(Protocol):
    """The tags on an association's target (ELBv2 listener, ACM certificate, IAM role or user): its owner's word."""

    def tags_of(self, resource_arn: str) -> Mapping[str, str] | None:
        """The target's tags; None when the target does not exist."""
        ...


class AssociationStore(Protocol):
    def add_association(self, association: Association, audit: AuditRecord) -> Association: ...

    def save_association(self, association: Association, *, retry_at: datetime | None = None) -> Association: ...

    def acm_copy(self, certificate_id: str, version_number: int) -> str | None: ...

    def record_acm_copy(self, certificate_id: str, version_number: int, arn: str) -> str: ...

    def acm_copies(self, certificate_id: str) -> set[str]: ...

    def forget_acm_copy(self, certificate_id: str, arn: str) -> None: ...

    def begin_acm_import(self, certificate_id: str, version_number: int) -> bool: ...

    def end_acm_import(self, certificate_id: str, version_number: int) -> None: ...

    def due_for_sweep(self, now: datetime, limit: int) -> list[Certificate]: ...

    def deployments_to_retry(self, now: datetime, limit: int) -> list[Association]: ...

    def save_sweep(self, certificate: Certificate) -> Certificate: ...

    def remove_association(self, association: Association, audit: AuditRecord) -> None: ...

    def get_association(self, association_id: str) -> Association | None: ...

    def list_associations(self, certificate_id: str | None, limit: int, token: str | None) -> Page[Association]: ...

    def associations_of(self, certificate_id: str) -> list[Association]: ...

    def probed_associations(self, limit: int, token: str | None) -> Page[str]:
        """A page of the ids of the associations that name an endpoint to probe (no table scan)."""
        ...

    def record_probe(self, association: Association) -> Association:
        """Save `association.probe` conditionally on its row version; ConflictError when it changed."""
        ...


class TlsEndpointPort(Protocol):
    """A TLS handshake with an association's endpoint (adapters/tls_endpoint.py)."""

    def observe(self, host: str, port: int, server_name: str) -> Observation | str:
        """What host:port serves to a client sending `server_name` as SNI, or why no handshake completed."""
        ...


class AuditLog(Protocol):
    def record(self, entry: AuditRecord) -> None: ...

    def list_for(self, resource_id: str, limit: int) -> list[AuditRecord]: ...


class Store(AuthorityStore, CertificateStore, AssociationStore, RevocationStore, AuditLog, Protocol):
    """Everything a service persists, in one table."""

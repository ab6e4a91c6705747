"""Certwright's domain events: frozen dataclasses with a fixed detail-type, named as facts in the past tense.

Each event carries `event_id` (stable across redelivery, for idempotent consumers) and the row version
it was derived from (for version guards: a consumer applies an event only if it is newer than what it has).
Every field is filled by the outbox (certwright.outbox) from the typed rows it compares, so each is required;
`None` means the row holds no such value (nothing deployed yet), and an empty `reason`/`error` means that no
reason was recorded. The detail keys on the bus are the field names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

SOURCE = "certwright"


@dataclass(frozen=True)
class DomainEvent:
    detail_type: ClassVar[str] = ""
    event_id: str
    resource_id: str
    row_version: int

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CertificateAuthorityCreated(DomainEvent):
    detail_type: ClassVar[str] = "CertificateAuthorityCreated"
    name: str
    serial_number: str


@dataclass(frozen=True)
class CertificateVersionCreated(DomainEvent):
    detail_type: ClassVar[str] = "CertificateVersionCreated"
    version_number: int
    serial_number: str
    stages: tuple[str, ...]
    not_after: str


@dataclass(frozen=True)
class CertificateVersionStageChanged(DomainEvent):
    detail_type: ClassVar[str] = "CertificateVersionStageChanged"
    version_number: int
    old_stages: tuple[str, ...]
    new_stages: tuple[str, ...]


@dataclass(frozen=True)
class CertificateVersionFailed(DomainEvent):
    detail_type: ClassVar[str] = "CertificateVersionFailed"
    version_number: int
    reason: str


@dataclass(frozen=True)
class AssociationCreated(DomainEvent):
    detail_type: ClassVar[str] = "AssociationCreated"
    certificate_id: str
    associated_resource_id: str
    association_type: str


@dataclass(frozen=True)
class AssociationDeleted(DomainEvent):
    detail_type: ClassVar[str] = "AssociationDeleted"
    certificate_id: str
    associated_resource_id: str
    association_type: str
    listener_role: str
    deployed_version: int | None
    deployed_acm_arn: str | None


@dataclass(frozen=True)
class DeploymentSucceeded(DomainEvent):
    detail_type: ClassVar[str] = "DeploymentSucceeded"
    certificate_id: str
    associated_resource_id: str
    deployed_version: int
    serial_number: str | None  # of the deployed version, when the deployment recorded it


@dataclass(frozen=True)
class DeploymentFailed(DomainEvent):
    detail_type: ClassVar[str] = "DeploymentFailed"
    certificate_id: str
    certificate_name: str
    associated_resource_id: str
    desired_version: int
    deployed_version: int | None
    error: str


@dataclass(frozen=True)
class CertificateExpiring(DomainEvent):
    detail_type: ClassVar[str] = "CertificateExpiring"
    certificate_name: str
    version_number: int
    not_after: str
    threshold: str
    renews_itself: bool


@dataclass(frozen=True)
class RenewalFailed(DomainEvent):
    detail_type: ClassVar[str] = "RenewalFailed"
    certificate_name: str
    attempt: int
    reason: str


@dataclass(frozen=True)
class RenewalOverdue(DomainEvent):
    detail_type: ClassVar[str] = "RenewalOverdue"
    certificate_name: str
    due_at: str
    current_version: int


@dataclass(frozen=True)
class CertificateVersionRevoked(DomainEvent):
    """A certificate version was revoked; the issuer's next CRL will list its serial."""

    detail_type: ClassVar[str] = "CertificateVersionRevoked"
    version_number: int
    serial_number: str
    issuer_ca_id: str
    reason: str
    revoked_at: str
    # Kept on the wire for compatibility: the version row does not carry its certificate's name, so the outbox
    # leaves it empty (consumers look the certificate up by `resource_id`).
    certificate_name: str = ""


@dataclass(frozen=True)
class CertificateAuthorityVersionRevoked(DomainEvent):
    """A subordinate CA version was revoked; its issuer's next CRL will list its serial."""

    detail_type: ClassVar[str] = "CertificateAuthorityVersionRevoked"
    version_number: int
    serial_number: str
    issuer_ca_id: str
    reason: str
    revoked_at: str
    name: str


@dataclass(frozen=True)
class CertificateAuthorityVersionCreated(DomainEvent):
    """A CA got a new version (a renewal of its certificate); trust bundles built from it follow."""

    detail_type: ClassVar[str] = "CertificateAuthorityVersionCreated"
    version_number: int
    serial_number: str


@dataclass(frozen=True)
class CrlPublished(DomainEvent):
    """A CRL of a CA (one partition of it) is in S3; `serials` are the revoked serials it lists."""

    detail_type: ClassVar[str] = "CrlPublished"
    partition: int
    crl_number: int
    this_update: str
    next_update: str
    object_key: str
    serials: tuple[str, ...]
    # How many serials the CRL lists; `serials` holds the most recently revoked ones when they would not
    # all fit in one EventBridge entry (certwright.domain.crl.MAX_EVENT_SERIALS).
    serial_count: int


@dataclass(frozen=True)
class CrlStale(DomainEvent):
    """A CA's published CRL is near or past its nextUpdate and could not be refreshed."""

    detail_type: ClassVar[str] = "CrlStale"
    name: str
    partition: int
    next_update: str
    reason: str


@dataclass(frozen=True)
class CertificateDeleted(DomainEvent):
    detail_type: ClassVar[str] = "CertificateDeleted"
    name: str


@dataclass(frozen=True)
class CertificateAuthorityCrlSettingsChanged(DomainEvent):
    """A CA's crlSettings changed (PATCH): the CRL publisher makes its next CRL due under the new settings."""

    detail_type: ClassVar[str] = "CertificateAuthorityCrlSettingsChanged"
    name: str
    crl_enabled: bool


@dataclass(frozen=True)
class CertificateAuthorityDeleted(DomainEvent):
    detail_type: ClassVar[str] = "CertificateAuthorityDeleted"
    name: str


@dataclass(frozen=True)
class CaBundleVersionCreated(DomainEvent):
    detail_type: ClassVar[str] = "CaBundleVersionCreated"
    version_number: int
    name: str


@dataclass(frozen=True)
class CertificateExpired(DomainEvent):
    """The CURRENT version of a certificate is past its notAfter; raised once per version by the renewal sweep."""

    detail_type: ClassVar[str] = "CertificateExpired"
    certificate_name: str
    version_number: int
    not_after: str
    renews_itself: bool


@dataclass(frozen=True)
class AssociationSuspended(DomainEvent):
    """The target's owner withdrew consent (its consent tag is gone): no deployment, no key read."""

    detail_type: ClassVar[str] = "AssociationSuspended"
    certificate_id: str
    certificate_name: str
    associated_resource_id: str
    association_type: str
    reason: str


@dataclass(frozen=True)
class AssociationResumed(DomainEvent):
    """Consent is back (or a host confirmed): the association is ACTIVE again."""

    detail_type: ClassVar[str] = "AssociationResumed"
    certificate_id: str
    associated_resource_id: str
    previous_state: str


@dataclass(frozen=True)
class EndpointUnhealthy(DomainEvent):
    """The prober found the association's endpoint unhealthy (it was healthy, or never probed): once per change."""

    detail_type: ClassVar[str] = "EndpointUnhealthy"
    certificate_id: str
    certificate_name: str
    associated_resource_id: str
    endpoint: str
    served_serial: str | None
    expected_serial: str | None
    findings: tuple[str, ...]  # "CODE: message" of each error finding


@dataclass(frozen=True)
class EndpointHealthy(DomainEvent):
    """The association's endpoint is healthy again after an EndpointUnhealthy."""

    detail_type: ClassVar[str] = "EndpointHealthy"
    certificate_id: str
    certificate_name: str
    associated_resource_id: str
    endpoint: str
    served_serial: str | None


@dataclass(frozen=True)
class AcmeChallengeRequested(DomainEvent):
    """An ACME client asked for a challenge of an authorization (resource_id) to be validated."""

    detail_type: ClassVar[str] = "AcmeChallengeRequested"
    challenge_type: str
    identifier: str


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.detail_type: cls
    for cls in (
        CertificateAuthorityCreated,
        CertificateVersionCreated,
        CertificateVersionStageChanged,
        CertificateVersionFailed,
        AssociationCreated,
        AssociationDeleted,
        DeploymentSucceeded,
        DeploymentFailed,
        CertificateExpiring,
        RenewalFailed,
        RenewalOverdue,
        CertificateVersionRevoked,
        CertificateAuthorityVersionRevoked,
        CertificateAuthorityVersionCreated,
        CertificateAuthorityCrlSettingsChanged,
        CrlPublished,
        CrlStale,
        CertificateDeleted,
        CertificateAuthorityDeleted,
        CaBundleVersionCreated,
        CertificateExpired,
        AssociationSuspended,
        AssociationResumed,
        EndpointUnhealthy,
        EndpointHealthy,
        AcmeChallengeRequested,
    )
}


def from_detail(detail_type: str, detail: dict[str, Any]) -> DomainEvent:
    """Rebuild an event from an EventBridge detail; unknown fields are ignored (forward compatible)."""
    cls = EVENT_TYPES[detail_type]
    names = {f.name for f in fields(cls)}
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in detail.items() if k in names}
    return cls(**values)

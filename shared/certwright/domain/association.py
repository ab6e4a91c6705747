"""Associations: which resource uses which certificate, and who may therefore read its private key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from certwright.domain.arns import normalize_arn
from certwright.domain.names import normalize_dns_name
from certwright.errors import InvalidInputError

_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$")


class AssociationType(StrEnum):
    LOAD_BALANCER_LISTENER = "LOAD_BALANCER_LISTENER"
    ACM_CERTIFICATE = "ACM_CERTIFICATE"
    HOST_PRINCIPAL = "HOST_PRINCIPAL"


class ListenerRole(StrEnum):
    """How a listener uses the certificate: as its default certificate, or as one of its SNI certificates."""

    DEFAULT = "DEFAULT"
    SNI = "SNI"


class AssociationState(StrEnum):
    """Whether the target's owner consents: only an ACTIVE association is deployed or lets its key be read."""

    ACTIVE = "ACTIVE"
    # A host association until the role/user carries the consent tag or the host confirms with its own identity.
    PENDING_CONFIRMATION = "PENDING_CONFIRMATION"
    # Consent was withdrawn (the tag is gone): no deployment, no key read, until consent is back.
    SUSPENDED = "SUSPENDED"


class DeploymentState(StrEnum):
    PENDING = "PENDING"
    DEPLOYING = "DEPLOYING"
    DEPLOYED = "DEPLOYED"
    FAILED = "FAILED"
    UNDEPLOYING = "UNDEPLOYING"


@dataclass(frozen=True)
class Deployment:
    desired_version: int
    deployed_version: int | None = None
    state: DeploymentState = DeploymentState.PENDING
    last_error: str | None = None
    verified_at: datetime | None = None
    deployed_serial_number: str | None = None
    # The ACM certificate the target serves now (for a listener: the imported copy of deployed_version).
    deployed_acm_arn: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Association:
    id: str
    certificate_id: str
    associated_resource_id: str
    association_type: AssociationType
    created_by: str
    created_at: datetime
    deployment: Deployment
    hostnames: tuple[str, ...] = field(default=())
    listener_role: ListenerRole = ListenerRole.DEFAULT
    certificate_name: str = ""
    row_version: int = 0
    # Set when the association names a CA bundle (a listener or host that trusts it for mTLS) instead of a
    # certificate; certificate_id is then empty and there is nothing to deploy: the association is a record.
    ca_bundle_id: str | None = None
    state: AssociationState = AssociationState.ACTIVE
    state_reason: str | None = None
    # A host that confirmed the association by calling with its own identity (its consent; see services/consent).
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None

    @property
    def host_principal(self) -> str:
        """The IAM identity a host association names, normalized as callers are (`role/path/x` means `role/x`)."""
        return principal_arn(self.associated_resource_id)


def classify_resource(arn: str) -> AssociationType:
    """The association type implied by the resource ARN; anything else is refused."""
    match = _ARN.match(arn) if isinstance(arn, str) and len(arn) <= 1600 else None
    if match is None:
        raise InvalidInputError("associatedResourceId must be an ARN")
    service, resource = match.group(2), match.group(5)
    if service == "elasticloadbalancing" and resource.startswith("listener/"):
        return AssociationType.LOAD_BALANCER_LISTENER
    if service == "acm" and resource.startswith("certificate/"):
        return AssociationType.ACM_CERTIFICATE
    if service == "iam" and (resource.startswith("role/") or resource.startswith("user/")):
        return AssociationType.HOST_PRINCIPAL
    raise InvalidInputError(
        "associatedResourceId must be an ELBv2 listener, an ACM certificate, or an IAM role or user ARN"
    )


def principal_arn(caller_arn: str) -> str:
    """The IAM identity behind a caller ARN: an assumed-role session maps to its role (see domain.arns)."""
    return normalize_arn(caller_arn)


def name_covers(name: str, hostname: str) -> bool:
    """Does certificate name `name` (a DNS SAN, possibly `*.x`) cover `hostname`? A wildcard covers one label."""
    if name.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == name[2:]
    return hostname == name


def validate_hostnames(raw: list[str]) -> tuple[str, ...]:
    if len(raw) > 100:
        raise InvalidInputError("at most 100 hostnames are allowed")
    names = tuple(normalize_dns_name(h, field=f"hostnames[{i}]") for i, h in enumerate(raw))
    if len(set(names)) != len(names):
        raise InvalidInputError("hostnames contains duplicates")
    return names

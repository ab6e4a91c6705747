"""Grants: a role one principal holds on one CA, certificate or CA bundle, given by its owner or an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from certwright.authorization.identity import principal_from_arn
from certwright.errors import AccessDeniedError, InvalidInputError


class Role(StrEnum):
    # Of a CA: may issue certificates and subordinate CAs from it (and read it).
    ISSUER = "ISSUER"
    # Of a certificate (or CA / CA bundle): renew, promote, revoke, update, associate, schedule deletion; read.
    MANAGER = "MANAGER"
    # Read the resource and its audit trail.
    READER = "READER"


class ResourceKind(StrEnum):
    AUTHORITY = "Authority"
    CERTIFICATE = "Certificate"
    CA_BUNDLE = "CaBundle"


_PREFIXES = {"ca-": ResourceKind.AUTHORITY, "cert-": ResourceKind.CERTIFICATE, "cabundle-": ResourceKind.CA_BUNDLE}


@dataclass(frozen=True)
class Grant:
    id: str
    resource_id: str
    resource_kind: ResourceKind
    # Normalized IAM ARN (a role without path, or a user).
    principal_arn: str
    role: Role
    created_by: str
    created_at: datetime


def resource_kind(resource_id: str) -> ResourceKind:
    """What a resource id names, from its prefix; other ids cannot carry grants."""
    for prefix, kind in _PREFIXES.items():
        if isinstance(resource_id, str) and resource_id.startswith(prefix) and len(resource_id) <= 64:
            return kind
    raise InvalidInputError("resourceId must be the id of a CA, a certificate or a CA bundle")


def grantee(arn: str) -> str:
    """The normalized ARN a grant names: an IAM role or user (an assumed-role session ARN means its role)."""
    try:
        principal = principal_from_arn(arn)
    except AccessDeniedError as err:
        raise InvalidInputError("principalArn must be an IAM role or user ARN") from err
    if principal.kind not in ("role", "user"):
        raise InvalidInputError("principalArn must be an IAM role or user ARN")
    return principal.arn


def check_role(role: Role, kind: ResourceKind) -> None:
    if role is Role.ISSUER and kind is not ResourceKind.AUTHORITY:
        raise InvalidInputError("role ISSUER exists only on certificate authorities", code="InvalidRole")

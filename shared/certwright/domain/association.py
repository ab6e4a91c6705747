"""Associations: which resource uses which certificate, and who may therefore read its private key."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from certwright.domain.arns import normalize_arn
from certwright.domain.names import check_text, normalize_dns_name
from certwright.errors import ConflictError, InvalidInputError

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
class Endpoint:
    """Where the resource serves the certificate, for the scheduled prober: host, port and the SNI name to send."""

    host: str
    port: int
    server_name: str | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def name(self) -> str:
        """The name sent as SNI and checked against the certificate: serverName, else the host."""
        return self.server_name or self.host


@dataclass(frozen=True)
class ProbeFinding:
    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class Probe:
    """The last probe of an association's endpoint: when, which serial it served, and the verdict's findings."""

    checked_at: datetime
    served_serial: str | None
    healthy: bool
    findings: tuple[ProbeFinding, ...] = ()
    # The serial the endpoint should serve (the CURRENT version's), for the alert; None when not yet deployed.
    expected_serial: str | None = None


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
    # An endpoint to probe (services/probes.py) and the last probe's result.
    endpoint: Endpoint | None = None
    probe: Probe | None = None

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


# -- a host reports what it installed (the agent's report-back; services/poll.py) ------------------------------

MAX_REPORT_REASON = 500


class ReportedState(StrEnum):
    """What a host says about a version it was asked to install."""

    DEPLOYED = "DEPLOYED"
    FAILED = "FAILED"


def require_host_association(association: Association) -> None:
    """Only a host's certificate association is deployed by the host itself (and so reported by it)."""
    if association.association_type is not AssociationType.HOST_PRINCIPAL or association.ca_bundle_id:
        raise InvalidInputError(
            f"association {association.id} targets {association.associated_resource_id}: only a host association "
            "(an IAM role or user) reports its deployment; listeners and ACM certificates are deployed by Certwright",
            code="NotReportable",
        )


def report_deployment(
    association: Association,
    *,
    version_number: int,
    current_version_number: int,
    serial_number: str,
    state: ReportedState,
    verified: bool,
    reason: str | None,
    now: datetime,
) -> Deployment:
    """The deployment a host's report makes of `association`: DEPLOYED (deployed_version = the reported version,
    verified_at = `now` only when the host verified what it serves) or FAILED (last_error = the reason, deployed
    version unchanged). Only a host association reports, only while ACTIVE, and only about the certificate's
    CURRENT version (what the poll hands out): a report about any other version is stale."""
    require_host_association(association)
    if association.state is not AssociationState.ACTIVE:
        raise ConflictError(
            f"association {association.id} is {association.state.value}: nothing is deployed through it until it is "
            "ACTIVE (confirm it, or let the principal's owner consent)",
            code="AssociationNotActive",
        )
    if version_number != current_version_number:
        raise ConflictError(
            f"version {version_number} is not the CURRENT version of certificate {association.certificate_id} "
            f"(version {current_version_number} is): poll again and install that one",
            code="StaleDeploymentReport",
        )
    deployment = association.deployment
    if state is ReportedState.FAILED:
        if not reason or not reason.strip():
            raise InvalidInputError("reason is required when state is FAILED", code="InvalidParameter")
        return replace(
            deployment,
            desired_version=version_number,
            state=DeploymentState.FAILED,
            last_error=report_reason(reason),
        )
    if reason:
        raise InvalidInputError("reason is given only when state is FAILED", code="InvalidParameter")
    return replace(
        deployment,
        desired_version=version_number,
        deployed_version=version_number,
        state=DeploymentState.DEPLOYED,
        last_error=None,
        verified_at=now if verified else None,
        deployed_serial_number=serial_number,
        deployed_acm_arn=None,
        attempts=0,
    )


def report_reason(raw: str) -> str:
    """A host's failure reason as stored and alerted: white space (a reload command's output has newlines) folded
    to single spaces, cut at MAX_REPORT_REASON characters; any other control or invisible character is refused."""
    folded = " ".join(raw.split())[:MAX_REPORT_REASON].strip()
    return check_text(folded, "reason", MAX_REPORT_REASON)


def same_report(before: Deployment, after: Deployment) -> bool:
    """Does `after` say nothing new (a host repeating its report)? A repeated verification keeps its first time."""
    return replace(after, verified_at=None) == replace(before, verified_at=None) and (after.verified_at is None) == (
        before.verified_at is None
    )


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# The instance-metadata and link-local services a prober in a VPC could otherwise be pointed at (SSRF).
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


def unprobeable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why the prober must not connect to `address` (None when it may): link-local and metadata addresses,
    the unspecified address, multicast and reserved ranges. Private and loopback networks are allowed, since
    a private CA's endpoints live on private networks (the prober's security group bounds what it reaches)."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    candidate = mapped or address
    if candidate in _METADATA:
        return "is an instance-metadata address"
    if candidate.is_link_local:
        return "is link-local"
    if candidate.is_loopback:
        return None  # ::1 sits in the reserved ::/8, but it is as good a loopback as 127.0.0.1
    if candidate.is_unspecified or candidate.is_multicast or candidate.is_reserved:
        return "is not a unicast address"
    return None


def parse_endpoint(address: str, server_name: str | None = None) -> Endpoint:
    """`host:port` (or `[v6]:port`) and an optional SNI name, validated; anything else is InvalidEndpoint."""

    def refuse(why: str) -> InvalidInputError:
        return InvalidInputError(f"endpoint.address {why}", code="InvalidEndpoint")

    if not isinstance(address, str) or not 3 <= len(address) <= 300:
        raise refuse("must be host:port")
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if not rest.startswith(":"):
            raise refuse("must be [IPv6]:port")
        port_text = rest[1:]
        try:
            literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.IPv6Address(host)
        except ValueError as err:
            raise refuse(f"has an invalid IPv6 address {host!r}") from err
    else:
        host, sep, port_text = address.rpartition(":")
        if not sep or not host:
            raise refuse("must be host:port")
        try:
            literal = ipaddress.IPv4Address(host)
        except ValueError:
            literal = None
            labels = host.rstrip(".").split(".")
            if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
                raise refuse(f"has an invalid host {host!r}") from None
            host = host.rstrip(".").lower()
    if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise refuse("needs a port from 1 to 65535")
    why = unprobeable(literal) if literal is not None else None
    if why:
        raise refuse(f"{host} {why}: the prober does not connect there")
    name = None
    if server_name is not None:
        try:
            name = normalize_dns_name(server_name, field="endpoint.serverName", allow_wildcard=False)
        except InvalidInputError as err:
            raise InvalidInputError(err.message, code="InvalidEndpoint") from err
    return Endpoint(host, int(port_text), name)

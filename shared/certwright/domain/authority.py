"""Certificate authorities: config types, rules, name constraints, and the policy checks run before signing."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from certwright.domain.crl_settings import CrlSettings
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import (
    SanType,
    Subject,
    SubjectAlternativeName,
    check_email,
    normalize_dns_name,
    uri_host,
)
from certwright.domain.revocation import Revocation
from certwright.domain.signing import SigningAlgorithm, default_signing_algorithm
from certwright.domain.tags import Tags
from certwright.errors import ConflictError, InvalidInputError, PolicyViolationError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_ONE_SECOND = timedelta(seconds=1)


class CaConfigType(StrEnum):
    ROOT_CA_GENERATED_INTERNALLY = "ROOT_CA_GENERATED_INTERNALLY"
    SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA = "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA"
    # An imported root certificate: a trust anchor whose key Certwright never holds (no KMS key, no CRL).
    ROOT_CA_MANAGED_EXTERNALLY = "ROOT_CA_MANAGED_EXTERNALLY"
    # Its key is in KMS; an outside CA signs its certificate (CSR out, certificate and chain imported).
    SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA = "SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA"


class LifecycleState(StrEnum):
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    PENDING_DELETION = "PENDING_DELETION"
    DELETED = "DELETED"
    # A CA waiting for its certificate (SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA).
    PENDING_ACTIVATION = "PENDING_ACTIVATION"


@dataclass(frozen=True)
class NameConstraint:
    """Permitted and excluded DNS, IP, URI and email subtrees (RFC 5280 4.2.1.10).

    A URI subtree is a host ("spiffe.example.com": that host only) or a domain with a leading dot (".example.com":
    hosts below it); it applies to the host of a URI SAN, a SPIFFE ID's trust domain. An email subtree is a mailbox
    ("ada@example.com"), a host ("example.com": every mailbox there) or a domain with a leading dot.
    """

    permitted_dns: tuple[str, ...] = ()
    excluded_dns: tuple[str, ...] = ()
    permitted_ip: tuple[IpNetwork, ...] = ()
    excluded_ip: tuple[IpNetwork, ...] = ()
    permitted_uri: tuple[str, ...] = ()
    excluded_uri: tuple[str, ...] = ()
    permitted_email: tuple[str, ...] = ()
    excluded_email: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (
            self.permitted_dns
            or self.excluded_dns
            or self.permitted_ip
            or self.excluded_ip
            or self.permitted_uri
            or self.excluded_uri
            or self.permitted_email
            or self.excluded_email
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NameConstraint:
        return cls.parse(
            permitted_dns=raw.get("permittedDnsSubtrees") or (),
            excluded_dns=raw.get("excludedDnsSubtrees") or (),
            permitted_ip=raw.get("permittedIpSubtrees") or (),
            excluded_ip=raw.get("excludedIpSubtrees") or (),
            permitted_uri=raw.get("permittedUriSubtrees") or (),
            excluded_uri=raw.get("excludedUriSubtrees") or (),
            permitted_email=raw.get("permittedEmailSubtrees") or (),
            excluded_email=raw.get("excludedEmailSubtrees") or (),
        )

    @classmethod
    def parse(
        cls,
        *,
        permitted_dns: Iterable[str] = (),
        excluded_dns: Iterable[str] = (),
        permitted_ip: Iterable[str] = (),
        excluded_ip: Iterable[str] = (),
        permitted_uri: Iterable[str] = (),
        excluded_uri: Iterable[str] = (),
        permitted_email: Iterable[str] = (),
        excluded_email: Iterable[str] = (),
    ) -> NameConstraint:
        """The constraint from DNS subtrees and CIDR texts, normalized; a bad one is named by its API field."""

        def dns_list(names: Iterable[str], key: str) -> tuple[str, ...]:
            return tuple(
                normalize_dns_name(n, field=f"nameConstraint.{key}", allow_wildcard=False)
                if "." in n
                else _single_label(n, key)
                for n in names
            )

        def ip_list(cidrs: Iterable[str], key: str) -> tuple[IpNetwork, ...]:
            result = []
            for cidr in cidrs:
                try:
                    result.append(ipaddress.ip_network(cidr, strict=True))
                except ValueError as err:
                    raise InvalidInputError(f"nameConstraint.{key}: {cidr!r} is not a network in CIDR form") from err
            return tuple(result)

        def host_list(hosts: Iterable[str], key: str) -> tuple[str, ...]:
            field = f"nameConstraint.{key}"
            return tuple(
                "." + normalize_dns_name(h[1:], field=field, allow_wildcard=False)
                if h.startswith(".")
                else normalize_dns_name(h, field=field, allow_wildcard=False)
                for h in hosts
            )

        def email_list(subtrees: Iterable[str], key: str) -> tuple[str, ...]:
            field = f"nameConstraint.{key}"
            return tuple(check_email(s, field=field) if "@" in s else host_list([s], key)[0] for s in subtrees)

        return cls(
            permitted_uri=host_list(permitted_uri, "permittedUriSubtrees"),
            excluded_uri=host_list(excluded_uri, "excludedUriSubtrees"),
            permitted_email=email_list(permitted_email, "permittedEmailSubtrees"),
            excluded_email=email_list(excluded_email, "excludedEmailSubtrees"),
            permitted_dns=dns_list(permitted_dns, "permittedDnsSubtrees"),
            excluded_dns=dns_list(excluded_dns, "excludedDnsSubtrees"),
            permitted_ip=ip_list(permitted_ip, "permittedIpSubtrees"),
            excluded_ip=ip_list(excluded_ip, "excludedIpSubtrees"),
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "permittedDnsSubtrees": list(self.permitted_dns),
            "excludedDnsSubtrees": list(self.excluded_dns),
            "permittedIpSubtrees": [str(n) for n in self.permitted_ip],
            "excludedIpSubtrees": [str(n) for n in self.excluded_ip],
            # Only when set: rows and answers of CAs without them stay as they were.
            **({"permittedUriSubtrees": list(self.permitted_uri)} if self.permitted_uri else {}),
            **({"excludedUriSubtrees": list(self.excluded_uri)} if self.excluded_uri else {}),
            **({"permittedEmailSubtrees": list(self.permitted_email)} if self.permitted_email else {}),
            **({"excludedEmailSubtrees": list(self.excluded_email)} if self.excluded_email else {}),
        }

    def violations(self, names: tuple[SubjectAlternativeName, ...]) -> list[str]:
        problems = []
        for san in names:
            if san.type is SanType.DNS:
                if self.permitted_dns and not any(dns_within(san.value, s) for s in self.permitted_dns):
                    problems.append(f"DNS {san.value} is outside the permitted subtrees")
                if any(dns_within(san.value, s) or wildcard_reaches(san.value, s) for s in self.excluded_dns):
                    problems.append(f"DNS {san.value} is in an excluded subtree")
            elif san.type is SanType.URI:
                host = uri_host(san.value)
                if self.permitted_uri and not any(host_within(host, s) for s in self.permitted_uri):
                    problems.append(f"URI {san.value} is outside the permitted subtrees")
                if any(host_within(host, s) for s in self.excluded_uri):
                    problems.append(f"URI {san.value} is in an excluded subtree")
            elif san.type is SanType.EMAIL:
                if self.permitted_email and not any(email_within(san.value, s) for s in self.permitted_email):
                    problems.append(f"email {san.value} is outside the permitted subtrees")
                if any(email_within(san.value, s) for s in self.excluded_email):
                    problems.append(f"email {san.value} is in an excluded subtree")
            else:
                address = ipaddress.ip_address(san.value)
                same_family = [n for n in self.permitted_ip if n.version == address.version]
                if self.permitted_ip and not any(address in n for n in same_family):
                    problems.append(f"IP {san.value} is outside the permitted subtrees")
                if any(address in n for n in self.excluded_ip if n.version == address.version):
                    problems.append(f"IP {san.value} is in an excluded subtree")
        return problems


def _single_label(name: str, key: str) -> str:
    # A one-label subtree ("internal", "local") is legal in name constraints.
    return normalize_dns_name(name + ".x", field=f"nameConstraint.{key}", allow_wildcard=False)[:-2]


def host_within(host: str, subtree: str) -> bool:
    """RFC 5280 URI subtree match: ".example.com" matches hosts below it only; "example.com" that host only."""
    return host.endswith(subtree) if subtree.startswith(".") else host == subtree


def email_within(address: str, subtree: str) -> bool:
    """RFC 5280 rfc822Name subtree match: a mailbox, every mailbox at a host, or at hosts below ".domain"."""
    local, _, domain = address.rpartition("@")
    if "@" in subtree:
        sub_local, _, sub_domain = subtree.rpartition("@")
        return local == sub_local and domain.lower() == sub_domain.lower()
    return host_within(domain.lower(), subtree)


def dns_within(name: str, subtree: str) -> bool:
    """RFC 5280 DNS subtree match: the name equals the subtree or ends with '.' + subtree."""
    name = name.removeprefix("*.")
    return name == subtree or name.endswith("." + subtree)


def wildcard_reaches(name: str, subtree: str) -> bool:
    """A wildcard name is valid for one more label, so *.example.com reaches the subtree secret.example.com."""
    if not name.startswith("*."):
        return False
    base = name[2:]
    label = subtree.removesuffix("." + base)
    return label != subtree and "." not in label


@dataclass(frozen=True)
class CaRules:
    leaf_max_validity: Duration | None = None
    ca_max_validity: Duration | None = None
    path_length: int | None = None
    name_constraint: NameConstraint = field(default_factory=NameConstraint)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> CaRules:
        raw = raw or {}
        path_length = raw.get("pathLengthConstraint")
        if path_length is not None and not isinstance(path_length, int):
            raise InvalidInputError("rules.pathLengthConstraint must be an integer from 0 to 10")
        return cls.parse(
            leaf_max_validity=raw.get("leafCertificateMaxValidityDuration"),
            ca_max_validity=raw.get("certificateAuthorityMaxValidityDuration"),
            path_length=path_length,
            name_constraint=NameConstraint.from_dict(raw.get("nameConstraint") or {}),
        )

    @classmethod
    def parse(
        cls,
        *,
        leaf_max_validity: str | None = None,
        ca_max_validity: str | None = None,
        path_length: int | None = None,
        name_constraint: NameConstraint | None = None,
    ) -> CaRules:
        """The rules from their ISO-8601 duration texts and path length, checked."""
        if path_length is not None and not 0 <= path_length <= 10:
            raise InvalidInputError("rules.pathLengthConstraint must be an integer from 0 to 10")
        leaf, ca = leaf_max_validity, ca_max_validity
        return cls(
            leaf_max_validity=Duration.parse(leaf, field="rules.leafCertificateMaxValidityDuration") if leaf else None,
            ca_max_validity=Duration.parse(ca, field="rules.certificateAuthorityMaxValidityDuration") if ca else None,
            path_length=path_length,
            name_constraint=name_constraint or NameConstraint(),
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.leaf_max_validity:
            out["leafCertificateMaxValidityDuration"] = self.leaf_max_validity.text
        if self.ca_max_validity:
            out["certificateAuthorityMaxValidityDuration"] = self.ca_max_validity.text
        if self.path_length is not None:
            out["pathLengthConstraint"] = self.path_length
        if not self.name_constraint.is_empty:
            out["nameConstraint"] = self.name_constraint.as_dict()
        return out


@dataclass(frozen=True)
class Validity:
    """Inclusive validity: the certificate is valid for (not_after - not_before + 1 s)."""

    not_before: datetime
    not_after: datetime

    @classmethod
    def starting(cls, now: datetime, duration: Duration) -> Validity:
        start = now.replace(microsecond=0)
        return cls(start, duration.after(start).replace(microsecond=0) - _ONE_SECOND)

    def contains(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after

    @property
    def length(self) -> timedelta:
        return self.not_after - self.not_before + _ONE_SECOND


@dataclass(frozen=True)
class CaVersion:
    version_number: int
    serial_number: str
    validity: Validity
    certificate_pem: str
    stages: tuple[str, ...] = ("CURRENT", "LATEST")
    revocation: Revocation | None = None
    # The partition of the issuer's CRL that would list this CA certificate (none for a root).
    crl_partition: int = 0
    # Scheduled deletion of a DEPRECATED version (domain/deletion.py), and when the sweep carried it out.
    deletion_time: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class CertificateAuthority:
    id: str
    name: str
    config_type: CaConfigType
    subject: Subject
    key_algorithm: KeyAlgorithm
    kms_key_id: str
    rules: CaRules
    lifecycle_state: LifecycleState
    created_by: str
    created_at: datetime
    issuer_id: str | None = None
    # Depth below the root (root = 0); a CA's effective path length comes from its own certificate.
    depth: int = 0
    current_version: CaVersion | None = None
    # The chain above this CA, issuer first, root last (PEM); empty for a root.
    chain_pems: tuple[str, ...] = ()
    # Name constraints of this CA and all its ancestors; every leaf must satisfy each of them.
    inherited_constraints: tuple[NameConstraint, ...] = ()
    deletion_time: datetime | None = None
    row_version: int = 0
    # Normalized ARN of the creator, who owns it (certwright.authorization); "" for rows from before owners.
    owner: str = ""
    freeform_tags: Tags = ()
    description: str = ""
    # Disabled (POST .../actions/disable): issues nothing, stays ACTIVE, keeps publishing its CRLs.
    issuance_disabled: bool = False
    # A CA signed outside: the CSR (signed through KMS) awaiting its certificate; "" when none is outstanding.
    csr_pem: str = ""
    # What it signs with unless a certificate overrides it (None: the default for its key).
    signing_algorithm: SigningAlgorithm | None = None
    # The KMS key was the customer's own (kmsKeyId at create): it is never scheduled for deletion by Certwright.
    key_imported: bool = False
    # Whether its CRLs are published, their validity and the custom CRL URLs written into what it issues.
    crl_settings: CrlSettings = field(default_factory=CrlSettings)

    def with_state(self, state: LifecycleState) -> CertificateAuthority:
        return replace(self, lifecycle_state=state)

    @property
    def holds_key(self) -> bool:
        """Whether Certwright holds (in KMS) the key of this CA, so it can sign CRLs and certificates with it."""
        return self.config_type is not CaConfigType.ROOT_CA_MANAGED_EXTERNALLY

    @property
    def effective_signing_algorithm(self) -> SigningAlgorithm:
        return self.signing_algorithm or default_signing_algorithm(self.key_algorithm)

    @property
    def effective_path_length(self) -> int | None:
        return self.rules.path_length

    @property
    def not_after(self) -> datetime:
        if self.current_version is None:
            raise ConflictError(f"certificate authority {self.id} has no issued version")
        return self.current_version.validity.not_after


def ensure_can_issue(ca: CertificateAuthority, now: datetime) -> None:
    """The issuer must be ACTIVE and within its own validity."""
    if ca.lifecycle_state is not LifecycleState.ACTIVE:
        raise ConflictError(
            f"certificate authority {ca.id} is {ca.lifecycle_state.value} and cannot issue",
            code="CertificateAuthorityNotActive",
        )
    if ca.config_type is CaConfigType.ROOT_CA_MANAGED_EXTERNALLY:
        raise ConflictError(
            f"certificate authority {ca.id} is an externally managed root: Certwright holds no key to sign with",
            code="ExternallyManagedCertificateAuthority",
        )
    if ca.issuance_disabled:
        raise ConflictError(
            f"certificate authority {ca.id} is disabled and issues nothing until it is enabled",
            code="CertificateAuthorityDisabled",
        )
    if ca.current_version is not None and ca.current_version.revocation is not None:
        raise ConflictError(
            f"certificate authority {ca.id} is revoked ({ca.current_version.revocation.reason.value}) and cannot issue",
            code="CertificateAuthorityRevoked",
        )
    if ca.current_version is None or not ca.current_version.validity.contains(now):
        raise ConflictError(
            f"certificate authority {ca.id} is not within its validity period",
            code="CertificateAuthorityExpired",
        )


def check_leaf_validity(ca: CertificateAuthority, validity: Validity, requested: Duration) -> None:
    if ca.rules.leaf_max_validity and _longer_than(validity, ca.rules.leaf_max_validity):
        raise PolicyViolationError(
            f"validity {requested} exceeds the CA's leafCertificateMaxValidityDuration {ca.rules.leaf_max_validity}",
            code="ValidityExceedsCaRule",
        )
    _check_within_issuer(ca, validity)


def check_subordinate_validity(issuer: CertificateAuthority, validity: Validity, requested: Duration) -> None:
    if issuer.rules.ca_max_validity and _longer_than(validity, issuer.rules.ca_max_validity):
        raise PolicyViolationError(
            f"validity {requested} exceeds the issuer's certificateAuthorityMaxValidityDuration "
            f"{issuer.rules.ca_max_validity}",
            code="ValidityExceedsCaRule",
        )
    _check_within_issuer(issuer, validity)


def check_root_validity(rules: CaRules, validity: Validity, requested: Duration) -> None:
    if rules.ca_max_validity and _longer_than(validity, rules.ca_max_validity):
        raise PolicyViolationError(
            f"validity {requested} exceeds certificateAuthorityMaxValidityDuration {rules.ca_max_validity}",
            code="ValidityExceedsCaRule",
        )


def _longer_than(validity: Validity, limit: Duration) -> bool:
    # Validity is inclusive: a certificate ending at not_after is valid for (not_after - not_before + 1 s).
    return validity.not_after + _ONE_SECOND > limit.after(validity.not_before)


def _check_within_issuer(issuer: CertificateAuthority, validity: Validity) -> None:
    if validity.not_after > issuer.not_after:
        raise PolicyViolationError(
            f"the requested validity ends {validity.not_after.isoformat()}, after the issuing CA expires "
            f"({issuer.not_after.isoformat()})",
            code="ValidityExceedsIssuer",
        )


def subordinate_path_length(issuer: CertificateAuthority, requested: int | None) -> int | None:
    """The path length the new subordinate gets; refuses when the issuer may not have CAs below it."""
    limit = issuer.effective_path_length
    if limit is None:
        return requested
    if limit == 0:
        raise PolicyViolationError(
            f"certificate authority {issuer.id} has path length 0 and cannot issue subordinate CAs",
            code="PathLengthExceeded",
        )
    if requested is None:
        return limit - 1
    if requested > limit - 1:
        raise PolicyViolationError(
            f"pathLengthConstraint {requested} exceeds what the issuer allows ({limit - 1})",
            code="PathLengthExceeded",
        )
    return requested


def check_name_constraints(ca: CertificateAuthority, names: tuple[SubjectAlternativeName, ...]) -> None:
    problems: list[str] = []
    for constraint in ca.inherited_constraints:
        problems.extend(constraint.violations(names))
    if problems:
        raise PolicyViolationError("; ".join(dict.fromkeys(problems)), code="NameConstraintViolation")


# Rules a PATCH may change: they only bound what the CA issues from now on, and nothing the CA already signed
# embeds them. pathLengthConstraint and nameConstraint are written into the CA's own certificate (and its
# subordinates inherited them), so changing them here would make the record lie about the certificate.
UPDATABLE_RULES = frozenset({"leafCertificateMaxValidityDuration", "certificateAuthorityMaxValidityDuration"})


def updated_rules(ca: CertificateAuthority, changes: dict[str, str | None]) -> CaRules:
    """The CA's rules with `changes` (rule name → ISO-8601 duration, None to remove the limit), checked.

    A limit may tighten or loosen but not exceed the CA's own certificate validity (a longer one could never
    be granted, so it would only mislead); refuses any rule outside UPDATABLE_RULES (code RuleNotUpdatable).
    """
    refused = sorted(set(changes) - UPDATABLE_RULES)
    if refused:
        raise InvalidInputError(
            f"rules {', '.join(refused)} cannot change after creation: the CA's certificate embeds them",
            code="RuleNotUpdatable",
        )
    merged = {**ca.rules.as_dict(), **changes}
    rules = CaRules.parse(
        leaf_max_validity=merged.get("leafCertificateMaxValidityDuration"),
        ca_max_validity=merged.get("certificateAuthorityMaxValidityDuration"),
        path_length=ca.rules.path_length,
        name_constraint=ca.rules.name_constraint,
    )
    version = ca.current_version
    if version is not None:
        for name, limit in (
            ("leafCertificateMaxValidityDuration", rules.leaf_max_validity),
            ("certificateAuthorityMaxValidityDuration", rules.ca_max_validity),
        ):
            if (
                name in changes
                and limit is not None
                and limit.after(version.validity.not_before) > (version.validity.not_after + _ONE_SECOND)
            ):
                raise PolicyViolationError(
                    f"rules.{name} {limit} is longer than the CA's own validity "
                    f"({version.validity.not_before.isoformat()} to {version.validity.not_after.isoformat()})",
                    code="ValidityExceedsCaRule",
                )
    return rules

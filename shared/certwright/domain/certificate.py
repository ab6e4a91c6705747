"""Certificates and their versions: kinds, profiles, lifecycle, revocation status."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject, SubjectAlternativeName
from certwright.domain.renewal import RenewalRule
from certwright.domain.stages import Stage
from certwright.domain.sweep import SweepState, next_check
from certwright.errors import ConflictError


class CertificateConfigType(StrEnum):
    ISSUED_BY_INTERNAL_CA = "ISSUED_BY_INTERNAL_CA"
    MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA = "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA"
    IMPORTED = "IMPORTED"

    @property
    def service_holds_key(self) -> bool:
        return self is not CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA

    @property
    def signed_here(self) -> bool:
        return self is not CertificateConfigType.IMPORTED


class Profile(StrEnum):
    TLS_SERVER_OR_CLIENT = "TLS_SERVER_OR_CLIENT"
    TLS_SERVER = "TLS_SERVER"
    TLS_CLIENT = "TLS_CLIENT"
    TLS_CODE_SIGN = "TLS_CODE_SIGN"

    @property
    def serves_tls(self) -> bool:
        return self in (Profile.TLS_SERVER, Profile.TLS_SERVER_OR_CLIENT)

    @property
    def extended_key_usages(self) -> tuple[str, ...]:
        """EKU names (serverAuth, clientAuth, codeSigning) the profile puts in a certificate."""
        return {
            Profile.TLS_SERVER_OR_CLIENT: ("serverAuth", "clientAuth"),
            Profile.TLS_SERVER: ("serverAuth",),
            Profile.TLS_CLIENT: ("clientAuth",),
            Profile.TLS_CODE_SIGN: ("codeSigning",),
        }[self]


class RevocationReason(StrEnum):
    """RFC 5280 5.3.1 reason codes (names as in OCI)."""

    UNSPECIFIED = "UNSPECIFIED"
    KEY_COMPROMISE = "KEY_COMPROMISE"
    CA_COMPROMISE = "CA_COMPROMISE"
    AFFILIATION_CHANGED = "AFFILIATION_CHANGED"
    SUPERSEDED = "SUPERSEDED"
    CESSATION_OF_OPERATION = "CESSATION_OF_OPERATION"
    PRIVILEGE_WITHDRAWN = "PRIVILEGE_WITHDRAWN"
    AA_COMPROMISE = "AA_COMPROMISE"


@dataclass(frozen=True)
class Revocation:
    reason: RevocationReason
    revoked_at: datetime


@dataclass(frozen=True)
class CertificateVersion:
    certificate_id: str
    version_number: int
    stages: frozenset[Stage]
    serial_number: str
    validity: Validity
    subject: Subject
    sans: tuple[SubjectAlternativeName, ...]
    certificate_pem: str
    chain_pems: tuple[str, ...]
    created_at: datetime
    has_private_key: bool
    issuer_ca_id: str | None = None
    revocation: Revocation | None = None


@dataclass(frozen=True)
class Certificate:
    id: str
    name: str
    config_type: CertificateConfigType
    profile: Profile | None
    issuer_ca_id: str | None
    subject: Subject
    sans: tuple[SubjectAlternativeName, ...]
    key_algorithm: KeyAlgorithm
    validity_duration: Duration | None
    renewal_rule: RenewalRule | None
    lifecycle_state: LifecycleState
    created_by: str
    created_at: datetime
    current_version_number: int = 0
    latest_version_number: int = 0
    association_count: int = 0
    next_renewal_at: datetime | None = None
    deletion_time: datetime | None = None
    description: str = ""
    # When the renewal sweep must look at this certificate next (renewal, retry, alert); indexed.
    next_check_at: datetime | None = None
    sweep: SweepState = field(default_factory=SweepState)
    row_version: int = 0

    def ensure_active(self) -> None:
        if self.lifecycle_state is not LifecycleState.ACTIVE:
            raise ConflictError(f"certificate {self.id} is {self.lifecycle_state.value}", code="CertificateNotActive")

    def scheduled(self, now: datetime, current_not_after: datetime | None) -> Certificate:
        """This certificate with the moment the renewal sweep must look at it next."""
        check = next_check(
            now=now,
            renews_itself=self.renews_itself,
            next_renewal_at=self.next_renewal_at,
            current_version=self.current_version_number,
            not_after=current_not_after,
            state=self.sweep,
        )
        return replace(self, next_check_at=check)

    @property
    def renews_itself(self) -> bool:
        return self.config_type is CertificateConfigType.ISSUED_BY_INTERNAL_CA and self.renewal_rule is not None

"""Certificates and their versions: kinds, profiles, lifecycle, revocation status."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject, SubjectAlternativeName
from certwright.domain.renewal import RenewalRule
from certwright.domain.revocation import Revocation as Revocation  # re-exported: versions carry it
from certwright.domain.revocation import RevocationReason as RevocationReason
from certwright.domain.signing import SigningAlgorithm
from certwright.domain.stages import Stage
from certwright.domain.sweep import DEFAULT_THRESHOLDS, SweepState, next_check
from certwright.domain.tags import Tags
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
    # Scheduled deletion of a PREVIOUS or DEPRECATED version: when, and when its key was destroyed.
    deletion_time: datetime | None = None
    deleted_at: datetime | None = None
    # The partition of the issuer's CRL that lists this version if it is revoked (named in its CRL DP).
    crl_partition: int = 0


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
    # How long before expiry CertificateExpiring is raised (each once per version, as it is crossed).
    expiry_alert_thresholds: tuple[timedelta, ...] = DEFAULT_THRESHOLDS
    # Set when the CURRENT version was revoked for a reason that retires the certificate itself.
    retired_by: RevocationReason | None = None
    row_version: int = 0
    # Normalized ARN of the creator, who owns it (certwright.authorization); "" for rows from before owners.
    owner: str = ""
    freeform_tags: Tags = ()
    # The issuing CA's signing algorithm overridden for this certificate's versions (None: the CA's).
    signing_algorithm: SigningAlgorithm | None = None

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
            thresholds=self.expiry_alert_thresholds,
        )
        return replace(self, next_check_at=check)

    def ensure_not_retired(self) -> None:
        if self.retired_by is not None:
            raise ConflictError(
                f"certificate {self.id} was revoked ({self.retired_by.value}) and takes no new versions",
                code="CertificateRevoked",
            )

    @property
    def renews_itself(self) -> bool:
        return (
            self.config_type is CertificateConfigType.ISSUED_BY_INTERNAL_CA
            and self.renewal_rule is not None
            and self.retired_by is None
        )

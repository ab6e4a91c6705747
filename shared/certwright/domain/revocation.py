"""Revocation: which RFC 5280 reasons a caller may give, the entries a CA's CRL lists, and CRL partitions; pure.

A CA's revoked entries are kept as a list per issuing CA (one entry per revoked serial). Its CRL is
always rebuilt from the whole list. Every certificate a CA issues is assigned to a CRL partition when it
is issued (`partition_of`, from the CA's issuance counter), and its CRL distribution point names that
partition, so a partition's CRL never lists more than `partition_size` entries whatever happens later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from certwright.errors import InvalidInputError


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


# RFC 5280 5.3.1; certificateHold (6) and removeFromCRL (8) are not offered: revocation here is final.
REASON_CODES = {
    RevocationReason.UNSPECIFIED: 0,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.PRIVILEGE_WITHDRAWN: 9,
    RevocationReason.AA_COMPROMISE: 10,
}

# Reasons that speak about a CA or an attribute authority, not about an end-entity certificate.
_NOT_FOR_LEAVES = {RevocationReason.CA_COMPROMISE, RevocationReason.AA_COMPROMISE}
# Revoking the CURRENT version for these retires the certificate: no replacement, no renewal, no new version.
RETIRING = frozenset({RevocationReason.CESSATION_OF_OPERATION, RevocationReason.PRIVILEGE_WITHDRAWN})
_NOT_FOR_CAS = {RevocationReason.AA_COMPROMISE, RevocationReason.AFFILIATION_CHANGED}


class RevokedKind(StrEnum):
    CERTIFICATE = "CERTIFICATE"
    CERTIFICATE_AUTHORITY = "CERTIFICATE_AUTHORITY"


@dataclass(frozen=True)
class RevokedEntry:
    """One line of an issuing CA's CRL: the revoked serial, when and why, and what it was."""

    issuer_ca_id: str
    serial_number: str  # hex, as everywhere in the API
    revoked_at: datetime
    reason: RevocationReason
    kind: RevokedKind
    resource_id: str  # the certificate or the subordinate CA
    version_number: int
    partition: int = 0
    not_after: datetime | None = None


def parse_reason(raw: str | None, *, for_authority: bool) -> RevocationReason:
    """The reason as given, refused when it does not fit what is revoked."""
    if raw is None:
        return RevocationReason.UNSPECIFIED
    try:
        reason = RevocationReason(raw)
    except ValueError as err:
        allowed = ", ".join(r.value for r in REASON_CODES)
        raise InvalidInputError(f"revocationReason must be one of {allowed}", code="InvalidRevocationReason") from err
    if not for_authority and reason in _NOT_FOR_LEAVES:
        raise InvalidInputError(
            f"revocationReason {reason.value} applies to certificate authorities, not to certificates",
            code="InvalidRevocationReason",
        )
    if for_authority and reason in _NOT_FOR_CAS:
        raise InvalidInputError(
            f"revocationReason {reason.value} does not apply to a certificate authority",
            code="InvalidRevocationReason",
        )
    return reason


def partition_of(issuance_index: int, partition_size: int) -> int:
    """The CRL partition of the `issuance_index`-th certificate a CA issues (counting from 1)."""
    if issuance_index < 1 or partition_size < 1:
        raise ValueError("issuance index and partition size start at 1")
    return (issuance_index - 1) // partition_size


@dataclass(frozen=True)
class CrlPolicy:
    """How long a CRL is valid, how early it is refreshed, and how long revocations wait to be batched."""

    validity: timedelta = timedelta(hours=24)
    refresh_before: timedelta = timedelta(hours=12)
    batch_delay: timedelta = timedelta(seconds=30)
    partition_size: int = 10_000

    def __post_init__(self) -> None:
        if not timedelta(0) < self.refresh_before < self.validity:
            raise ValueError("a CRL must be refreshed after it is issued and before its nextUpdate")
        if self.batch_delay < timedelta(0) or self.partition_size < 1:
            raise ValueError("batch delay and partition size must be positive")

    def next_update(self, this_update: datetime) -> datetime:
        return this_update + self.validity

    def refresh_at(self, this_update: datetime) -> datetime:
        return this_update + self.validity - self.refresh_before

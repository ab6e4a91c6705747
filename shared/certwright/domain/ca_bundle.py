"""CA bundles: named sets of CA certificates an mTLS listener or client trusts, their versions and content rules; pure.

A bundle has two kinds of source: CA certificates given as PEM, and certificate-authority ids whose
current certificate (and, if asked, its chain up to the root) is included and kept current. Its content
is recomputed from the sources; a new version exists only when the content (the ordered fingerprints)
changes, so replaying an event never makes a second version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from certwright.domain.authority import LifecycleState
from certwright.domain.stages import Stage, add_version, first_version
from certwright.domain.tags import Tags
from certwright.errors import ConflictError, InvalidInputError

MAX_CERTIFICATES = 100
MAX_AUTHORITIES = 25
PEM_SOURCE = "PEM"


@dataclass(frozen=True)
class TrustedCertificate:
    """One CA certificate of a bundle, checked when it entered; `source` is PEM_SOURCE or the CA id it came from."""

    pem: str
    fingerprint: str  # SHA-256 of the DER, lower-case hex
    subject: str  # RFC 4514
    not_after: datetime
    source: str = PEM_SOURCE


@dataclass(frozen=True)
class CaBundleVersion:
    bundle_id: str
    version_number: int
    certificates: tuple[TrustedCertificate, ...]
    stages: frozenset[Stage]
    created_at: datetime
    created_by: str
    # Why it exists: "Created", "NewSources" (a person gave new sources) or "AuthorityChanged" (a CA event).
    reason: str = "Created"

    @property
    def pems(self) -> tuple[str, ...]:
        return tuple(c.pem for c in self.certificates)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(c.fingerprint for c in self.certificates)

    @property
    def bundle_pem(self) -> str:
        """The PEM concatenation a verifier loads as its CA file (each block ends with a newline)."""
        return "".join(p if p.endswith("\n") else p + "\n" for p in self.pems)


@dataclass(frozen=True)
class CaBundle:
    id: str
    name: str
    description: str
    # Sources: PEMs given directly (checked, in the order given) and CA ids kept current.
    given: tuple[TrustedCertificate, ...]
    authority_ids: tuple[str, ...]
    include_chain: bool
    lifecycle_state: LifecycleState
    created_by: str
    created_at: datetime
    current_version_number: int = 0
    latest_version_number: int = 0
    association_count: int = 0
    # CAs among the sources that currently contribute nothing (revoked, deleted, without a certificate).
    withdrawn_authority_ids: tuple[str, ...] = ()
    # True when no source gives a certificate any more: the CURRENT version is the last non-empty one,
    # kept because an empty trust store refuses every client; a person must give new sources or delete it.
    stale: bool = False
    row_version: int = 0
    # Normalized ARN of the creator, who owns it (certwright.authorization); "" for rows from before owners.
    owner: str = ""
    freeform_tags: Tags = ()

    def ensure_active(self) -> None:
        if self.lifecycle_state is not LifecycleState.ACTIVE:
            raise ConflictError(f"CA bundle {self.id} is {self.lifecycle_state.value}", code="CaBundleNotActive")

    def ensure_deletable(self) -> None:
        if self.association_count:
            raise ConflictError(
                f"CA bundle {self.id} is in use by {self.association_count} association(s)", code="CaBundleInUse"
            )


@dataclass(frozen=True)
class AuthorityContribution:
    """What one CA source gives now: its certificates (CA first, then its chain), or why it gives none."""

    authority_id: str
    certificates: tuple[TrustedCertificate, ...] = ()
    withdrawn_because: str | None = None


def check_sources(given: tuple[TrustedCertificate, ...], authority_ids: Iterable[str]) -> tuple[str, ...]:
    """Refuses an empty, duplicated or oversized set of sources; returns the CA ids in order."""
    ids = tuple(authority_ids)
    if not given and not ids:
        raise InvalidInputError("give caBundlePem, certificateAuthorityIds or both", code="EmptyCaBundle")
    if len(ids) > MAX_AUTHORITIES:
        raise InvalidInputError(
            f"certificateAuthorityIds holds {len(ids)} ids; at most {MAX_AUTHORITIES}", code="TooManyCertificates"
        )
    if len(set(ids)) != len(ids):
        raise InvalidInputError("certificateAuthorityIds contains duplicates", code="DuplicateCertificate")
    seen: set[str] = set()
    for position, certificate in enumerate(given):
        if certificate.fingerprint in seen:
            raise InvalidInputError(
                f"caBundlePem certificate {position + 1} ({certificate.subject}) is given twice",
                code="DuplicateCertificate",
            )
        seen.add(certificate.fingerprint)
    return ids


def content(
    given: tuple[TrustedCertificate, ...], contributions: Iterable[AuthorityContribution]
) -> tuple[TrustedCertificate, ...]:
    """The bundle's certificates in a stable order: given PEMs, then each CA's in source order; one per fingerprint.

    A chain shared by two CAs (their common root) or a root also given as PEM appears once, where first met.
    """
    result: dict[str, TrustedCertificate] = {}
    for certificate in (*given, *(c for part in contributions for c in part.certificates)):
        result.setdefault(certificate.fingerprint, certificate)
    certificates = tuple(result.values())
    if len(certificates) > MAX_CERTIFICATES:
        raise InvalidInputError(
            f"the bundle would hold {len(certificates)} certificates; at most {MAX_CERTIFICATES}",
            code="TooManyCertificates",
        )
    return certificates


def new_bundle(bundle: CaBundle, certificates: tuple[TrustedCertificate, ...], now: datetime) -> CaBundleVersion:
    if not certificates:
        raise InvalidInputError("the sources give no certificate", code="EmptyCaBundle")
    return CaBundleVersion(bundle.id, 1, certificates, first_version()[1], now, bundle.created_by)


@dataclass(frozen=True)
class NextVersion:
    bundle: CaBundle
    version: CaBundleVersion
    # Stages of the older versions that change (CURRENT -> PREVIOUS, PREVIOUS -> DEPRECATED).
    stage_changes: Mapping[int, frozenset[Stage]]


def next_version(
    bundle: CaBundle,
    stages: Mapping[int, frozenset[Stage]],
    current: CaBundleVersion,
    certificates: tuple[TrustedCertificate, ...],
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> NextVersion | None:
    """The version to add when the content changed, as the new CURRENT; None when it did not (idempotent)."""
    if not certificates or tuple(c.fingerprint for c in certificates) == current.fingerprints:
        return None
    number = bundle.latest_version_number + 1
    after = add_version(stages, number, pending=False)
    version = CaBundleVersion(bundle.id, number, certificates, after[number], now, actor, reason)
    changes = {n: s for n, s in after.items() if n != number and stages.get(n) != s}
    updated = replace(bundle, current_version_number=number, latest_version_number=number, stale=False)
    return NextVersion(updated, version, changes)


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()

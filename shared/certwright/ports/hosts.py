"""The host-association port: a host's own associations, read by an index on its principal (POST /bundles/poll)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from certwright.domain.association import Association
from certwright.domain.certificate import Certificate, CertificateVersion


@dataclass(frozen=True)
class HostBinding:
    """One host association with its certificate and that certificate's CURRENT version (no key material)."""

    association: Association
    certificate: Certificate
    version: CertificateVersion


class HostAssociationIndex(Protocol):
    """The associations whose associated principal is a given host, read by an index on that principal (no scan).
    Raises TransientError when the table throttles or is unreachable, DependencyError when it refuses otherwise."""

    def bindings_of(self, principal_arn: str, certificate_ids: frozenset[str] | None = None) -> list[HostBinding]:
        """The live certificate associations of `principal_arn` (normalized) with their CURRENT versions, oldest
        first; only those of `certificate_ids` when given. A certificate without a CURRENT version is left out."""
        ...

"""Ports: the protocols services depend on, one module per aggregate; adapters implement them against AWS,
tests/fakes.py in memory. This package re-exports every name, so `from certwright.ports import X` keeps working.

Modules: common (Page, SerialClaim, Reservation, Clock), keys (CA keys, key vault), authorities, certificates,
associations, sweep (the sweep queue), revocations (the revocation ledger), audit, crl (CRL states),
pki_objects (S3), publishers (events, alerts), targets (listeners, ACM, target tags), ca_bundles, grants,
deletion (deletion queue, in-flight versions), hosts (a host's associations, for the poll),
lookup (versions by serial or fingerprint), endpoints (the prober's TLS handshake), reindex (inventory
index backfill).
"""

from __future__ import annotations

from typing import Protocol

from certwright.domain.authority import CertificateAuthority
from certwright.ports.associations import AssociationStore
from certwright.ports.audit import AuditLog, AuditPages
from certwright.ports.authorities import AuthorityStore
from certwright.ports.ca_bundles import CaBundleStore
from certwright.ports.certificates import CertificateStore
from certwright.ports.common import Clock, Page, Reservation, SerialClaim, T
from certwright.ports.crl import CrlStates
from certwright.ports.deletion import DeletionQueue, Due, InFlightVersions
from certwright.ports.endpoints import TlsEndpointPort
from certwright.ports.grants import GrantStore
from certwright.ports.hosts import HostAssociationIndex, HostBinding
from certwright.ports.keys import CaKeyProvider, KeyVault
from certwright.ports.lookup import VersionIndex
from certwright.ports.pki_objects import PkiObjects, StoredObject
from certwright.ports.publishers import AlertPublisher, EventPublisher
from certwright.ports.reindex import REINDEX_KINDS, InventoryReindex, ReindexKind, ReindexPage
from certwright.ports.revocations import RevocationSource, RevocationStore
from certwright.ports.sweep import SweepQueue
from certwright.ports.targets import AcmPort, ListenerPort, ListenerView, TargetTagPort


class Store(AuthorityStore, CertificateStore, AssociationStore, SweepQueue, RevocationStore, AuditLog, Protocol):
    """Everything the core services persist (one DynamoDB table: adapters.dynamodb_store composes the modules)."""


class DeletionStore(Store, DeletionQueue, Protocol):
    """What the deletion sweep reads and writes: the store and the deletion queue."""


class RepairStore(Store, InFlightVersions, Protocol):
    """What the repair pass reads and writes: the store and the in-flight versions."""


class AuthorityReader(Protocol):
    """The read side of AuthorityStore, for services that only look CAs up (the CRL publisher)."""

    def get_authority(self, ca_id: str) -> CertificateAuthority | None: ...

    def list_authorities(self, limit: int, token: str | None) -> Page[CertificateAuthority]: ...


__all__ = [
    "REINDEX_KINDS",
    "AcmPort",
    "AlertPublisher",
    "AssociationStore",
    "AuditLog",
    "AuditPages",
    "AuthorityReader",
    "AuthorityStore",
    "CaBundleStore",
    "CaKeyProvider",
    "CertificateStore",
    "Clock",
    "CrlStates",
    "DeletionQueue",
    "DeletionStore",
    "Due",
    "EventPublisher",
    "GrantStore",
    "HostAssociationIndex",
    "HostBinding",
    "InFlightVersions",
    "InventoryReindex",
    "KeyVault",
    "ListenerPort",
    "ListenerView",
    "Page",
    "PkiObjects",
    "ReindexKind",
    "ReindexPage",
    "RepairStore",
    "Reservation",
    "RevocationSource",
    "RevocationStore",
    "SerialClaim",
    "Store",
    "StoredObject",
    "SweepQueue",
    "T",
    "TargetTagPort",
    "TlsEndpointPort",
    "VersionIndex",
]

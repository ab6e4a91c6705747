"""In-memory implementations of every port (certwright.ports), a fixed/advanceable clock and recording publishers.

The fakes keep the DynamoDB adapters' conditional semantics, so service tests on them mean what they would mean on
the table: a write of an object read at row version n succeeds only while the stored one is still at n (a new
object: only while there is none) and returns it at n + 1; a failed condition raises
ConflictError(ConcurrentModification) and changes nothing; serials and revoked entries are written once; page
tokens belong to one listing (InvalidInputError(InvalidPageToken) otherwise). tests/contract/ runs the same cases
against each fake and its DynamoDB adapter on moto, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from certwright.acme import retention
from certwright.adapters.dynamodb_codec import fingerprint_key, lookup_keys, serial_key
from certwright.adapters.dynamodb_images import decode_image
from certwright.adapters.dynamodb_poll import HOST_PARTITION, host_key
from certwright.adapters.page_tokens import SealedPageTokens
from certwright.authorization.grants import Grant
from certwright.bootstrap import Container
from certwright.config import Settings
from certwright.domain import inventory
from certwright.domain.alerts import Alert
from certwright.domain.association import Association
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CaVersion, CertificateAuthority, LifecycleState
from certwright.domain.ca_bundle import CaBundle, CaBundleVersion
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.crl import CrlState
from certwright.domain.deletion import DueCaVersion
from certwright.domain.inventory import InventoryQuery
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.repair import repair_due
from certwright.domain.revocation import CrlPolicy, Revocation, RevokedEntry
from certwright.domain.stages import Stage
from certwright.errors import ConflictError, DependencyError, InvalidInputError, NotFoundError
from certwright.events import DomainEvent
from certwright.ports import Due, HostBinding, Page, ReindexKind, ReindexPage, Reservation, SerialClaim, StoredObject
from certwright.services.context import Runtime
from certwright.x509.endpoint_checks import Observation
from certwright.x509.keys import generate_private_key, key_algorithm_of
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V", CertificateAuthority, Certificate, Association, Reservation, CrlState, CaBundle)

START = datetime(2030, 1, 1, tzinfo=UTC)


# -- clock and runtime -------------------------------------------------------------------------------------------


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def runtime(clock: Callable[[], datetime] | None = None, *, first_serial: int = 0x1000) -> Runtime:
    """A Runtime with the clock and deterministic serials and ids (prefix-1, prefix-2, ...)."""
    serials = itertools.count(first_serial)
    ids = itertools.count(1)
    return Runtime(
        clock=clock or FixedClock(),
        serials=lambda: next(serials),
        ids=lambda prefix: f"{prefix}-{next(ids):020d}",
    )


# -- conditional writes, paging ----------------------------------------------------------------------------------


PAGE_TOKEN_KEY = bytes(range(32))


def conflict(action: str) -> ConflictError:
    return ConflictError(
        f"{action}: the resource changed concurrently or already exists; retry", code="ConcurrentModification"
    )


def guard(stored: Any | None, row_version: int, action: str) -> None:
    """The version condition: new (row version 0) only while absent; else only while still at `row_version`."""
    if row_version == 0:
        if stored is not None:
            raise conflict(action)
    elif stored is None or stored.row_version != row_version:
        raise conflict(action)


def issuer_changed(ca_id: str) -> ConflictError:
    return ConflictError(f"certificate authority {ca_id} changed since it was read; retry", code="IssuerChanged")


def absent(present: bool, action: str) -> None:
    if present:
        raise conflict(action)


def _token(listing: str, after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"listing": listing, "after": after}).encode()).decode()


def page_of(
    items: Iterable[T],
    sort_key: Callable[[T], str],
    listing: str,
    limit: int,
    token: str | None,
    *,
    newest_first: bool = False,
) -> Page[T]:
    """A page of `items` sorted by `sort_key`, continued by an opaque token of this very listing."""
    after = None
    if token:
        invalid = InvalidInputError("page token is not valid", code="InvalidPageToken")
        try:
            raw = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        except (ValueError, UnicodeError) as err:
            raise invalid from err
        if not isinstance(raw, dict) or set(raw) != {"listing", "after"} or not isinstance(raw["after"], str):
            raise invalid
        if raw["listing"] != listing:
            raise InvalidInputError("page token does not belong to this listing", code="InvalidPageToken")
        after = raw["after"]
    ordered = sorted(items, key=sort_key, reverse=newest_first)
    if after is not None:
        ordered = [i for i in ordered if (sort_key(i) < after if newest_first else sort_key(i) > after)]
    page, more = ordered[:limit], len(ordered) > limit
    return Page(page, _token(listing, sort_key(page[-1])) if more and page else None)


def _created(item: Any) -> str:
    return f"{item.created_at.isoformat()}#{item.id}"


# -- the one table -----------------------------------------------------------------------------------------------


@dataclass
class _VersionRow:
    version: CertificateVersion
    row_version: int = 1
    sealed_key: bytes | None = None
    in_flight_at: datetime | None = None  # the IN_FLIGHT entry: reserved, not yet published or failed
    deletion_at: datetime | None = None  # the DELETION entry of a scheduled version


@dataclass
class Memory:
    """What the table holds, by aggregate; the fakes of one test share it as the adapters share the table."""

    authorities: dict[str, CertificateAuthority] = field(default_factory=dict)
    ca_versions: dict[str, dict[int, CaVersion]] = field(default_factory=dict)
    serials: set[tuple[str, str]] = field(default_factory=set)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    versions: dict[tuple[str, int], _VersionRow] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    associations: dict[str, Association] = field(default_factory=dict)
    retry_at: dict[str, datetime] = field(default_factory=dict)
    targets: set[tuple[str, str]] = field(default_factory=set)
    acm_copies: dict[tuple[str, int], str] = field(default_factory=dict)
    acm_imports: set[tuple[str, int]] = field(default_factory=set)
    issued: dict[str, int] = field(default_factory=dict)
    revoked: dict[tuple[str, str], RevokedEntry] = field(default_factory=dict)
    compromised: dict[str, RevokedEntry] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    crl_states: dict[tuple[str, int], CrlState] = field(default_factory=dict)
    crl_due: dict[tuple[str, int], datetime | None] = field(default_factory=dict)
    bundles: dict[str, CaBundle] = field(default_factory=dict)
    bundle_versions: dict[str, dict[int, CaBundleVersion]] = field(default_factory=dict)
    bundle_refs: set[tuple[str, str]] = field(default_factory=set)
    grants: dict[str, Grant] = field(default_factory=dict)


class _OnMemory:
    def __init__(self, memory: Memory | None = None) -> None:
        self.memory = memory if memory is not None else Memory()


def _bump(item: V) -> V:
    return replace(item, row_version=item.row_version + 1)


# -- aggregates --------------------------------------------------------------------------------------------------


class FakeAuthorities(_OnMemory):
    """AuthorityStore in memory."""

    def begin_authority(self, ca: CertificateAuthority, claim: SerialClaim) -> CertificateAuthority:
        m = self.memory
        guard(m.authorities.get(ca.id), ca.row_version, "create certificate authority")
        absent((claim.issuer_ca_id, claim.serial_number) in m.serials, "create certificate authority")
        m.serials.add((claim.issuer_ca_id, claim.serial_number))
        stored = m.authorities[ca.id] = replace(ca, row_version=1)
        return stored

    def complete_authority(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        version = ca.current_version
        if version is None:
            raise DependencyError("an authority is completed with its first version")
        m = self.memory
        guard(m.authorities.get(ca.id), ca.row_version, "activate certificate authority")
        absent(version.version_number in m.ca_versions.get(ca.id, {}), "activate certificate authority")
        m.ca_versions.setdefault(ca.id, {})[version.version_number] = version
        m.audit.append(audit)
        stored = m.authorities[ca.id] = _bump(ca)
        return stored

    def save_authority(self, ca: CertificateAuthority) -> CertificateAuthority:
        guard(self.memory.authorities.get(ca.id), ca.row_version, "update certificate authority")
        stored = self.memory.authorities[ca.id] = _bump(ca)
        return stored

    def get_authority(self, ca_id: str) -> CertificateAuthority | None:
        return self.memory.authorities.get(ca_id)

    def list_authorities(self, limit: int, token: str | None) -> Page[CertificateAuthority]:
        return page_of(self.memory.authorities.values(), _created, "authorities", limit, token)

    def search_authorities(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[CertificateAuthority], bool]
    ) -> Page[CertificateAuthority]:
        def key(ca: CertificateAuthority) -> str:
            not_after = ca.current_version.validity.not_after if ca.current_version else None
            return inventory.sort_values(ca.name, ca.created_at, not_after, ca.id)[query.order]

        found = [ca for ca in self.memory.authorities.values() if inventory.matches_authority(query, ca) and accept(ca)]
        listing = f"authorities?{query.fingerprint('CA')}"
        return page_of(found, key, listing, limit, token, newest_first=query.descending)

    def list_authority_versions(self, ca_id: str) -> list[CaVersion]:
        versions = self.memory.ca_versions.get(ca_id, {})
        return [versions[n] for n in sorted(versions)]

    def claim_serial(self, claim: SerialClaim) -> None:
        absent((claim.issuer_ca_id, claim.serial_number) in self.memory.serials, "claim serial number")
        self.memory.serials.add((claim.issuer_ca_id, claim.serial_number))

    def add_authority_version(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        version = ca.current_version
        if version is None:
            raise DependencyError("a new CA version is the CA's current version")
        m = self.memory
        versions = m.ca_versions.setdefault(ca.id, {})
        guard(m.authorities.get(ca.id), ca.row_version, "add certificate authority version")
        absent(version.version_number in versions, "add certificate authority version")
        for number, older in list(versions.items()):
            stages = ("PREVIOUS",) if number == version.version_number - 1 else ("DEPRECATED",)
            versions[number] = replace(older, stages=stages)
        versions[version.version_number] = version
        m.audit.append(audit)
        stored = m.authorities[ca.id] = _bump(ca)
        return stored

    def save_authority_versions(
        self, ca: CertificateAuthority, versions: list[CaVersion], audit: AuditRecord
    ) -> CertificateAuthority:
        m = self.memory
        guard(m.authorities.get(ca.id), ca.row_version, "save certificate authority versions")
        for version in versions:
            m.ca_versions.setdefault(ca.id, {})[version.version_number] = version
        m.audit.append(audit)
        stored = m.authorities[ca.id] = _bump(ca)
        return stored

    def children_of(self, ca_id: str) -> Iterator[Certificate | CertificateAuthority]:
        m = self.memory
        children: list[Certificate | CertificateAuthority] = [
            *(c for c in m.certificates.values() if c.issuer_ca_id == ca_id),
            *(a for a in m.authorities.values() if a.issuer_id == ca_id),
        ]
        yield from sorted(children, key=_created)


class FakeCertificates(_OnMemory):
    """CertificateStore in memory."""

    def begin_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        claim: SerialClaim | None,
        *,
        is_new_certificate: bool,
        reservation: Reservation | None = None,
    ) -> Certificate:
        m = self.memory
        action = "create certificate" if is_new_certificate else "reserve certificate version"
        key = (certificate.id, version.version_number)
        if claim is not None and claim.issuer_row_version:
            issuer = m.authorities.get(claim.issuer_ca_id)
            if issuer is None or issuer.row_version != claim.issuer_row_version:
                raise issuer_changed(claim.issuer_ca_id)
        guard(m.certificates.get(certificate.id), certificate.row_version, action)
        absent(key in m.versions, action)
        if claim is not None:
            absent((claim.issuer_ca_id, claim.serial_number) in m.serials, action)
        if reservation is not None:
            guard(m.reservations.get(reservation.token), reservation.row_version, action)
        if claim is not None:
            m.serials.add((claim.issuer_ca_id, claim.serial_number))
        if reservation is not None:
            m.reservations[reservation.token] = _bump(reservation)
        m.versions[key] = _VersionRow(version, in_flight_at=repair_due(version.created_at))
        stored = m.certificates[certificate.id] = _bump(certificate)
        return stored

    def get_reservation(self, token: str) -> Reservation | None:
        return self.memory.reservations.get(token)

    def _rows(self, certificate_id: str, numbers: Iterable[int]) -> list[_VersionRow]:
        rows = []
        for number in sorted(numbers):
            row = self.memory.versions.get((certificate_id, number))
            if row is None:
                raise ConflictError(f"version {number} vanished", code="ConcurrentModification")
            rows.append(row)
        return rows

    def complete_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        sealed_key: bytes | None,
        audit: AuditRecord,
    ) -> Certificate:
        m = self.memory
        others = {n: s for n, s in stage_changes.items() if n != version.version_number}
        rows = self._rows(certificate.id, others)
        guard(m.certificates.get(certificate.id), certificate.row_version, "complete certificate version")
        own = m.versions.get((certificate.id, version.version_number))
        if own is None or own.row_version != 1:
            raise conflict("complete certificate version")
        own.version, own.sealed_key, own.in_flight_at, own.row_version = version, sealed_key, None, 2
        for row in rows:
            row.version = replace(row.version, stages=others[row.version.version_number])
            row.row_version += 1
        m.audit.append(audit)
        stored = m.certificates[certificate.id] = _bump(certificate)
        return stored

    def fail_version(
        self,
        certificate: Certificate,
        version_number: int,
        reason: str,
        *,
        audit: AuditRecord | None = None,
        failed_certificate: Certificate | None = None,
    ) -> None:
        m = self.memory
        row = m.versions.get((certificate.id, version_number))
        if row is None:
            return
        if row.version.stages:
            raise ConflictError(f"version {version_number} is no longer reserved", code="ConcurrentModification")
        if failed_certificate is not None:
            guard(m.certificates.get(failed_certificate.id), failed_certificate.row_version, "mark certificate failed")
            m.certificates[failed_certificate.id] = _bump(failed_certificate)
        row.version = replace(row.version, stages=frozenset({Stage.FAILED}))
        row.in_flight_at, row.row_version = None, row.row_version + 1
        if audit is not None:
            m.audit.append(audit)

    def change_stages(
        self, certificate: Certificate, stage_changes: Mapping[int, frozenset[Stage]], audit: AuditRecord
    ) -> Certificate:
        m = self.memory
        rows = self._rows(certificate.id, stage_changes)
        guard(m.certificates.get(certificate.id), certificate.row_version, "change version stages")
        for row in rows:
            row.version = replace(row.version, stages=stage_changes[row.version.version_number])
            row.row_version += 1
        m.audit.append(audit)
        stored = m.certificates[certificate.id] = _bump(certificate)
        return stored

    def save_certificate(
        self, certificate: Certificate, audit: AuditRecord, *, require_no_associations: bool = False
    ) -> Certificate:
        if require_no_associations and certificate.association_count:
            raise ConflictError(
                f"certificate {certificate.id} is in use by {certificate.association_count} association(s)",
                code="CertificateInUse",
            )
        guard(self.memory.certificates.get(certificate.id), certificate.row_version, "update certificate")
        self.memory.audit.append(audit)
        stored = self.memory.certificates[certificate.id] = _bump(certificate)
        return stored

    def get_certificate(self, certificate_id: str) -> Certificate | None:
        return self.memory.certificates.get(certificate_id)

    def list_certificates(self, limit: int, token: str | None) -> Page[Certificate]:
        return page_of(self.memory.certificates.values(), _created, "certificates", limit, token)

    def search_certificates(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[Certificate], bool]
    ) -> Page[Certificate]:
        def not_after(c: Certificate) -> datetime | None:
            row = self.memory.versions.get((c.id, c.current_version_number))
            return row.version.validity.not_after if row is not None else None

        def key(c: Certificate) -> str:
            return inventory.sort_values(c.name, c.created_at, not_after(c), c.id)[query.order]

        found = [
            c for c in self.memory.certificates.values() if inventory.matches(query, c, not_after(c)) and accept(c)
        ]
        listing = f"certificates?{query.fingerprint('CERT')}"
        return page_of(found, key, listing, limit, token, newest_first=query.descending)

    def list_versions(self, certificate_id: str) -> list[CertificateVersion]:
        rows = [(n, r) for (c, n), r in self.memory.versions.items() if c == certificate_id]
        return [r.version for _, r in sorted(rows, key=lambda nr: nr[0])]

    def get_version(self, certificate_id: str, version_number: int) -> CertificateVersion | None:
        row = self.memory.versions.get((certificate_id, version_number))
        return None if row is None else row.version

    def get_sealed_key(self, certificate_id: str, version_number: int) -> bytes | None:
        row = self.memory.versions.get((certificate_id, version_number))
        return None if row is None else row.sealed_key


class FakeAssociations(_OnMemory):
    """AssociationStore in memory (associations of certificates; CA-bundle associations are FakeCaBundles')."""

    def add_association(self, association: Association, audit: AuditRecord) -> Association:
        m = self.memory
        certificate = m.certificates.get(association.certificate_id)
        if certificate is None:
            raise ConflictError("certificate vanished", code="ConcurrentModification")
        certificate.ensure_active()
        target = (association.certificate_id, association.associated_resource_id)
        guard(m.associations.get(association.id), association.row_version, "create association")
        absent(target in m.targets, "create association")
        m.targets.add(target)
        m.certificates[certificate.id] = replace(
            certificate, association_count=certificate.association_count + 1, row_version=certificate.row_version + 1
        )
        m.audit.append(audit)
        m.associations[association.id] = replace(association, row_version=1)
        return replace(association, row_version=1)

    def save_association(self, association: Association, *, retry_at: datetime | None = None) -> Association:
        m = self.memory
        guard(m.associations.get(association.id), association.row_version, "update association")
        if retry_at is None:
            m.retry_at.pop(association.id, None)
        else:
            m.retry_at[association.id] = retry_at
        stored = m.associations[association.id] = _bump(association)
        return stored

    def probed_associations(self, limit: int, token: str | None, *, from_id: str = "") -> Page[str]:
        probed = (a.id for a in self.memory.associations.values() if a.endpoint is not None and a.id >= from_id)
        return page_of(probed, lambda i: i, "probed", limit, token)

    def record_probe(self, association: Association) -> Association:
        m = self.memory
        stored = m.associations.get(association.id)
        if stored is None:
            raise conflict("record probe")
        guard(stored, association.row_version, "record probe")
        saved = m.associations[association.id] = _bump(association)
        return saved

    def remove_association(self, association: Association, audit: AuditRecord) -> None:
        m = self.memory
        stored = m.associations.get(association.id)
        if stored is None or stored.row_version != association.row_version:
            raise conflict("delete association")
        del m.associations[association.id]
        m.retry_at.pop(association.id, None)
        m.targets.discard((association.certificate_id, association.associated_resource_id))
        certificate = m.certificates.get(association.certificate_id)
        if certificate is not None:
            m.certificates[certificate.id] = replace(
                certificate,
                association_count=max(0, certificate.association_count - 1),
                row_version=certificate.row_version + 1,
            )
        m.audit.append(audit)

    def get_association(self, association_id: str) -> Association | None:
        return self.memory.associations.get(association_id)

    def search_associations(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[Association], bool]
    ) -> Page[Association]:
        found = [a for a in self.memory.associations.values() if inventory.matches_association(query, a) and accept(a)]
        listing = f"associations?{query.fingerprint('ASSOC')}"
        return page_of(found, _created, listing, limit, token, newest_first=query.descending)

    def list_associations(self, certificate_id: str | None, limit: int, token: str | None) -> Page[Association]:
        if certificate_id:
            items = [a for a in self.memory.associations.values() if not a.ca_bundle_id]
            items = [a for a in items if a.certificate_id == certificate_id]
            return page_of(items, _created, f"associations:{certificate_id}", limit, token)
        return page_of(self.memory.associations.values(), _created, "associations", limit, token)

    def associations_of(self, certificate_id: str) -> list[Association]:
        items = self.memory.associations.values()
        return sorted((a for a in items if a.certificate_id == certificate_id and not a.ca_bundle_id), key=_created)

    def acm_copy(self, certificate_id: str, version_number: int) -> str | None:
        return self.memory.acm_copies.get((certificate_id, version_number))

    def record_acm_copy(self, certificate_id: str, version_number: int, arn: str) -> str:
        return self.memory.acm_copies.setdefault((certificate_id, version_number), arn)

    def acm_copies(self, certificate_id: str) -> set[str]:
        return {arn for (c, _), arn in self.memory.acm_copies.items() if c == certificate_id}

    def forget_acm_copy(self, certificate_id: str, arn: str) -> None:
        for key, value in list(self.memory.acm_copies.items()):
            if key[0] == certificate_id and value == arn:
                del self.memory.acm_copies[key]

    def begin_acm_import(self, certificate_id: str, version_number: int) -> bool:
        key = (certificate_id, version_number)
        earlier = key in self.memory.acm_imports
        self.memory.acm_imports.add(key)
        return earlier

    def end_acm_import(self, certificate_id: str, version_number: int) -> None:
        self.memory.acm_imports.discard((certificate_id, version_number))


class FakeSweepQueue(_OnMemory):
    """SweepQueue in memory: the SWEEP and DEPLOY_RETRY partitions, derived from what is stored."""

    def due_for_sweep(self, now: datetime, limit: int) -> list[Certificate]:
        due = [
            c
            for c in self.memory.certificates.values()
            if c.next_check_at is not None and c.next_check_at <= now and c.lifecycle_state is LifecycleState.ACTIVE
        ]
        return sorted(due, key=lambda c: (c.next_check_at or now).isoformat())[:limit]

    def deployments_to_retry(self, now: datetime, limit: int) -> list[Association]:
        m = self.memory
        due = sorted((at.isoformat(), i) for i, at in m.retry_at.items() if at <= now and i in m.associations)
        return [m.associations[i] for _, i in due[:limit]]

    def save_sweep(self, certificate: Certificate) -> Certificate:
        guard(self.memory.certificates.get(certificate.id), certificate.row_version, "update certificate")
        stored = self.memory.certificates[certificate.id] = _bump(certificate)
        return stored


class FakeRevocations(_OnMemory):
    """RevocationStore in memory."""

    def next_issuance_index(self, ca_id: str) -> int:
        self.memory.issued[ca_id] = self.memory.issued.get(ca_id, 0) + 1
        return self.memory.issued[ca_id]

    def _compromise(self, fingerprint: str | None, entry: RevokedEntry | None) -> None:
        if fingerprint and entry is not None:
            self.memory.compromised.setdefault(fingerprint, entry)

    def revoke_certificate_version(
        self,
        certificate: Certificate,
        version: CertificateVersion,
        entry: RevokedEntry,
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> Certificate:
        m = self.memory
        row = m.versions.get((certificate.id, version.version_number))
        if row is None:
            raise ConflictError(f"version {version.version_number} vanished", code="ConcurrentModification")
        if row.version.revocation is not None:
            raise ConflictError(f"version {version.version_number} is already revoked", code="AlreadyRevoked")
        guard(m.certificates.get(certificate.id), certificate.row_version, "revoke certificate version")
        absent((entry.issuer_ca_id, entry.serial_number) in m.revoked, "revoke certificate version")
        row.version, row.row_version = version, row.row_version + 1
        m.revoked[(entry.issuer_ca_id, entry.serial_number)] = entry
        self._compromise(compromised_key, entry)
        m.audit.append(audit)
        stored = m.certificates[certificate.id] = _bump(certificate)
        return stored

    def revoke_authority_version(
        self,
        ca: CertificateAuthority,
        entries: Sequence[RevokedEntry],
        audit: AuditRecord,
        compromised_key: str | None,
    ) -> CertificateAuthority:
        m = self.memory
        versions = m.ca_versions.get(ca.id, {})
        numbers = {entry.version_number for entry in entries}
        if not numbers <= set(versions):
            raise ConflictError("a CA version vanished", code="ConcurrentModification")
        guard(m.authorities.get(ca.id), ca.row_version, "revoke certificate authority")
        for entry in entries:
            absent((entry.issuer_ca_id, entry.serial_number) in m.revoked, "revoke certificate authority")
        for entry in entries:
            revocation = Revocation(entry.reason, entry.revoked_at)
            versions[entry.version_number] = replace(versions[entry.version_number], revocation=revocation)
            m.revoked[(entry.issuer_ca_id, entry.serial_number)] = entry
        self._compromise(compromised_key, entries[0] if entries else None)
        m.audit.append(audit)
        stored = m.authorities[ca.id] = _bump(ca)
        return stored

    def revoked_entries(self, ca_id: str) -> list[RevokedEntry]:
        return [e for (issuer, _), e in sorted(self.memory.revoked.items()) if issuer == ca_id]

    def key_compromised(self, fingerprint: str) -> bool:
        return fingerprint in self.memory.compromised


class FakeAuditLog(_OnMemory):
    """AuditLog and AuditPages in memory (newest first)."""

    def record(self, entry: AuditRecord) -> None:
        self.memory.audit.append(entry)

    def _of(self, resource_id: str) -> list[tuple[str, AuditRecord]]:
        """The resource's records keyed as the table sorts them: time, then order of writing."""
        return [
            (f"{r.at.isoformat()}#{i:08d}", r) for i, r in enumerate(self.memory.audit) if r.resource_id == resource_id
        ]

    def list_for(self, resource_id: str, limit: int) -> list[AuditRecord]:
        return [r for _, r in sorted(self._of(resource_id), key=lambda kr: kr[0], reverse=True)][:limit]

    def audit_page(self, resource_id: str, limit: int, token: str | None) -> Page[AuditRecord]:
        listing = f"audit:{resource_id}"
        page = page_of(self._of(resource_id), lambda kr: kr[0], listing, limit, token, newest_first=True)
        return Page([r for _, r in page.items], page.next_token)


class FakeStore(FakeAuthorities, FakeCertificates, FakeAssociations, FakeSweepQueue, FakeRevocations, FakeAuditLog):
    """certwright.ports.Store in memory: every core aggregate on one Memory, as DynamoDbStore on one table."""


class FakeDeletionStore(FakeStore):
    """certwright.ports.DeletionStore in memory: the store and the deletion queue."""

    def due_for_deletion(self, now: datetime, limit: int) -> list[Due]:
        m = self.memory
        due: list[tuple[datetime, int, Due]] = []
        pending: list[Certificate | CertificateAuthority] = [*m.authorities.values(), *m.certificates.values()]
        for item in pending:
            if item.lifecycle_state is LifecycleState.PENDING_DELETION and item.deletion_time is not None:
                due.append((item.deletion_time, len(due), item))
        for row in m.versions.values():
            if row.deletion_at is not None:
                due.append((row.deletion_at, len(due), row.version))
        for ca_id, ca_versions in m.ca_versions.items():
            for ca_version in ca_versions.values():
                if ca_version.deletion_time is not None and ca_version.deleted_at is None:
                    due.append((ca_version.deletion_time, len(due), DueCaVersion(ca_id, ca_version)))
        return [item for at, _, item in sorted(due, key=lambda t: (t[0], t[1])) if at <= now][:limit]

    def _row(self, version: CertificateVersion) -> _VersionRow:
        row = self.memory.versions.get((version.certificate_id, version.version_number))
        if row is None:
            raise NotFoundError(f"certificate {version.certificate_id} has no version {version.version_number}")
        if row.version != version:
            raise ConflictError(
                f"version {version.version_number} changed concurrently; retry", code="ConcurrentModification"
            )
        return row

    def schedule_version_deletion(
        self, version: CertificateVersion, when: datetime, audit: AuditRecord
    ) -> CertificateVersion:
        row = self._row(version)
        row.version, row.deletion_at, row.in_flight_at = replace(version, deletion_time=when), when, None
        self.memory.audit.append(audit)
        return row.version

    def cancel_version_deletion(self, version: CertificateVersion, audit: AuditRecord) -> CertificateVersion:
        row = self._row(version)
        row.version, row.deletion_at, row.in_flight_at = replace(version, deletion_time=None), None, None
        self.memory.audit.append(audit)
        return row.version

    def destroy_version_key(self, certificate_id: str, version_number: int, now: datetime) -> bool:
        row = self.memory.versions.get((certificate_id, version_number))
        if row is None:
            return False
        deleted_at = row.version.deleted_at or now
        row.version = replace(row.version, has_private_key=False, deleted_at=deleted_at)
        row.sealed_key, row.deletion_at, row.in_flight_at = None, None, None
        return True


class FakeRepairStore(FakeStore):
    """certwright.ports.RepairStore in memory: the store and the in-flight versions."""

    def in_flight(self, now: datetime, limit: int) -> list[CertificateVersion]:
        rows = [r for r in self.memory.versions.values() if r.in_flight_at is not None and r.in_flight_at <= now]
        return [r.version for r in sorted(rows, key=lambda r: r.in_flight_at or now)[:limit]]

    def forget_in_flight(self, certificate_id: str, version_number: int) -> None:
        row = self.memory.versions.get((certificate_id, version_number))
        if row is not None:
            row.in_flight_at = None


class FakeReindex(_OnMemory):
    """certwright.ports.InventoryReindex in memory. The fake searches read the resources themselves, so there are
    no index rows to repair: a page only walks the resources (in the ByKind order, DELETED bundles left out as the
    table's ByKind index leaves them out) and writes nothing."""

    cursor: str | None = None

    def reindex_page(self, kind: ReindexKind, token: str | None, limit: int) -> ReindexPage:
        m = self.memory
        resources: list[Any] = (
            list(m.authorities.values())
            if kind == "CA"
            else list(m.certificates.values())
            if kind == "CERT"
            else [b for b in m.bundles.values() if b.lifecycle_state is not LifecycleState.DELETED]
        )
        page = page_of(resources, _created, f"reindex:{kind}", limit, token)
        return ReindexPage(len(page.items), 0, page.next_token)

    def get_reindex_cursor(self) -> str | None:
        return self.cursor

    def put_reindex_cursor(self, cursor: str | None) -> None:
        self.cursor = cursor


class FakeCrlStates(_OnMemory):
    """CrlStates in memory, due by the policy as the table's RenewalDue index has them."""

    def __init__(self, memory: Memory | None = None, policy: CrlPolicy | None = None) -> None:
        super().__init__(memory)
        self._policy = policy or CrlPolicy()

    def get(self, ca_id: str, partition: int) -> CrlState | None:
        return self.memory.crl_states.get((ca_id, partition))

    def of_authority(self, ca_id: str) -> list[CrlState]:
        return [s for (c, _), s in sorted(self.memory.crl_states.items()) if c == ca_id]

    def save(self, state: CrlState, now: datetime) -> CrlState:
        key = (state.ca_id, state.partition)
        guard(self.memory.crl_states.get(key), state.row_version, "update CRL state")
        stored = self.memory.crl_states[key] = _bump(state)
        self.memory.crl_due[key] = state.due_at(self._policy, now)
        return stored

    def due(self, now: datetime, limit: int) -> list[CrlState]:
        m = self.memory
        due = sorted((at, key) for key, at in m.crl_due.items() if at is not None and at <= now)
        return [m.crl_states[key] for _, key in due[:limit]]

    def retire(self, ca_id: str, now: datetime) -> None:
        for key in list(self.memory.crl_states):
            if key[0] == ca_id:
                self.memory.crl_due[key] = None
                self.memory.crl_states[key] = _bump(self.memory.crl_states[key])

    def authorities_with_crl(self) -> set[str]:
        return {ca_id for ca_id, _ in self.memory.crl_states}

    def issued_count(self, ca_id: str) -> int:
        return self.memory.issued.get(ca_id, 0)


class FakeCaBundles(_OnMemory):
    """CaBundleStore in memory; its associations share the Memory with FakeAssociations."""

    def _guard(self, bundle: CaBundle, action: str) -> None:
        guard(self.memory.bundles.get(bundle.id), bundle.row_version, action)

    def create_bundle(self, bundle: CaBundle, version: CaBundleVersion, audit: AuditRecord) -> CaBundle:
        m = self.memory
        self._guard(bundle, "create CA bundle")
        m.bundle_versions[bundle.id] = {version.version_number: version}
        m.bundle_refs |= {(a, bundle.id) for a in bundle.authority_ids}
        m.audit.append(audit)
        m.bundles[bundle.id] = replace(bundle, row_version=1)
        return m.bundles[bundle.id]

    def add_bundle_version(
        self,
        bundle: CaBundle,
        version: CaBundleVersion,
        stage_changes: Mapping[int, frozenset[Stage]],
        audit: AuditRecord,
        *,
        previous_authority_ids: Iterable[str] = (),
    ) -> CaBundle:
        m = self.memory
        versions = m.bundle_versions.setdefault(bundle.id, {})
        for number in stage_changes:
            if number not in versions:
                raise ConflictError(f"CA bundle version {number} vanished", code="ConcurrentModification")
        self._guard(bundle, "add CA bundle version")
        absent(version.version_number in versions, "add CA bundle version")
        for number, stages in stage_changes.items():
            versions[number] = replace(versions[number], stages=stages)
        versions[version.version_number] = version
        before, after = set(previous_authority_ids), set(bundle.authority_ids)
        m.bundle_refs -= {(a, bundle.id) for a in before - after}
        m.bundle_refs |= {(a, bundle.id) for a in after - before}
        m.audit.append(audit)
        stored = m.bundles[bundle.id] = _bump(bundle)
        return stored

    def save_bundle(self, bundle: CaBundle, audit: AuditRecord) -> CaBundle:
        self._guard(bundle, "update CA bundle")
        self.memory.audit.append(audit)
        stored = self.memory.bundles[bundle.id] = _bump(bundle)
        return stored

    def delete_bundle(self, bundle: CaBundle, audit: AuditRecord) -> CaBundle:
        bundle.ensure_deletable()
        self._guard(bundle, "delete CA bundle")
        deleted = replace(bundle, lifecycle_state=LifecycleState.DELETED, row_version=bundle.row_version + 1)
        self.memory.bundle_refs -= {(a, bundle.id) for a in bundle.authority_ids}
        self.memory.audit.append(audit)
        self.memory.bundles[bundle.id] = deleted
        return deleted

    def add_bundle_association(self, bundle: CaBundle, association: Association, audit: AuditRecord) -> Association:
        bundle.ensure_active()
        m = self.memory
        guard(m.associations.get(association.id), association.row_version, "create association")
        self._guard(bundle, "create association")
        m.bundles[bundle.id] = replace(
            bundle, association_count=bundle.association_count + 1, row_version=bundle.row_version + 1
        )
        m.audit.append(audit)
        m.associations[association.id] = replace(association, row_version=1)
        return m.associations[association.id]

    def remove_bundle_association(self, association: Association, audit: AuditRecord) -> None:
        m = self.memory
        stored = m.associations.get(association.id)
        if stored is None or stored.row_version != association.row_version:
            raise conflict("delete association")
        del m.associations[association.id]
        bundle = m.bundles.get(association.ca_bundle_id or "")
        if bundle is not None:
            m.bundles[bundle.id] = replace(
                bundle, association_count=max(0, bundle.association_count - 1), row_version=bundle.row_version + 1
            )
        m.audit.append(audit)

    def get_bundle(self, bundle_id: str) -> CaBundle | None:
        return self.memory.bundles.get(bundle_id)

    def list_bundles(self, limit: int, token: str | None) -> Page[CaBundle]:
        live = [b for b in self.memory.bundles.values() if b.lifecycle_state is not LifecycleState.DELETED]
        return page_of(live, _created, "bundles", limit, token)

    def search_bundles(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[CaBundle], bool]
    ) -> Page[CaBundle]:
        def key(b: CaBundle) -> str:
            return inventory.sort_values(b.name, b.created_at, None, b.id)[query.order]

        found = [b for b in self.memory.bundles.values() if inventory.matches_bundle(query, b) and accept(b)]
        return page_of(
            found, key, f"bundles?{query.fingerprint('BUNDLE')}", limit, token, newest_first=query.descending
        )

    def list_bundle_versions(self, bundle_id: str) -> list[CaBundleVersion]:
        versions = self.memory.bundle_versions.get(bundle_id, {})
        return [versions[n] for n in sorted(versions)]

    def get_bundle_version(self, bundle_id: str, number: int) -> CaBundleVersion | None:
        return self.memory.bundle_versions.get(bundle_id, {}).get(number)

    def bundles_including(self, authority_id: str) -> list[str]:
        return sorted(b for a, b in self.memory.bundle_refs if a == authority_id)

    def associations_of_bundle(self, bundle_id: str) -> list[Association]:
        return sorted((a for a in self.memory.associations.values() if a.ca_bundle_id == bundle_id), key=_created)


class FakeGrants(_OnMemory):
    """GrantStore in memory."""

    def add_grant(self, grant: Grant, audit: AuditRecord) -> Grant:
        absent(grant.id in self.memory.grants, "create grant")
        self.memory.grants[grant.id] = grant
        self.memory.audit.append(audit)
        return grant

    def remove_grant(self, grant: Grant, audit: AuditRecord) -> None:
        absent(grant.id not in self.memory.grants, "delete grant")
        del self.memory.grants[grant.id]
        self.memory.audit.append(audit)

    def get_grant(self, grant_id: str) -> Grant | None:
        return self.memory.grants.get(grant_id)

    def grants_of(self, resource_id: str) -> list[Grant]:
        return sorted((g for g in self.memory.grants.values() if g.resource_id == resource_id), key=lambda g: g.id)

    def record(self, entry: AuditRecord) -> None:
        self.memory.audit.append(entry)


# -- objects, keys, publishers, targets --------------------------------------------------------------------------


@dataclass
class _Object:
    body: bytes
    etag: str
    content_type: str
    metadata: dict[str, str]
    cache_control: str | None


class FakePkiObjects:
    """PkiObjects in memory, compare-and-swap on the ETag as S3's If-Match / If-None-Match."""

    def __init__(self) -> None:
        self.objects: dict[str, _Object] = {}

    def head(self, key: str) -> StoredObject | None:
        o = self.objects.get(key)
        return None if o is None else StoredObject(o.etag, dict(o.metadata))

    def put(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str,
        replaces: StoredObject | None,
        metadata: dict[str, str] | None = None,
        cache_control: str | None = None,
    ) -> str:
        current = self.objects.get(key)
        if (replaces is None) != (current is None) or (current and replaces and current.etag != replaces.etag):
            raise ConflictError(f"S3 object {key} changed meanwhile", code="PreconditionFailed")
        etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        self.objects[key] = _Object(body, etag, content_type, dict(metadata or {}), cache_control)
        return etag


class FakeCaKeys:
    """CaKeyProvider in memory: real keys that sign; a key scheduled for deletion signs no more."""

    def __init__(self) -> None:
        self._keys: dict[str, CertificateIssuerPrivateKeyTypes] = {}
        self.deleted: set[str] = set()
        self.disabled: set[str] = set()

    def create_key(self, algorithm: KeyAlgorithm, description: str) -> str:
        key_id = f"key-{len(self._keys) + 1:04d}"
        self._keys[key_id] = generate_private_key(algorithm)
        return key_id

    def public_key(self, key_id: str) -> PublicKeyTypes:
        return self._key(key_id).public_key()

    def bring(self, key: CertificateIssuerPrivateKeyTypes, *, enabled: bool = True) -> str:
        """A key that exists before any CA uses it (a customer's own key); `enabled` False: a disabled one."""
        key_id = f"byo-{len(self._keys) + 1:04d}"
        self._keys[key_id] = key
        if not enabled:
            self.disabled.add(key_id)
        return key_id

    def adopt_key(self, key_id: str, algorithm: KeyAlgorithm) -> str:
        if key_id not in self._keys or key_id in self.deleted:
            raise InvalidInputError(f"kmsKeyId: key {key_id} does not exist", code="KmsKeyNotAccessible")
        if key_algorithm_of(self._keys[key_id].public_key()) is not algorithm:
            raise InvalidInputError(f"kmsKeyId: key {key_id} is not {algorithm.value}", code="KmsKeySpecMismatch")
        if key_id in self.disabled:
            raise ConflictError(f"kmsKeyId: key {key_id} is Disabled", code="KmsKeyNotEnabled")
        return key_id

    def signing_key(self, key_id: str, algorithm: KeyAlgorithm) -> CertificateIssuerPrivateKeyTypes:
        return self._key(key_id)

    def schedule_key_deletion(self, key_id: str) -> None:
        self.deleted.add(key_id)

    def _key(self, key_id: str) -> CertificateIssuerPrivateKeyTypes:
        if key_id not in self._keys or key_id in self.deleted:
            raise ConflictError(f"CA key {key_id} is not usable", code="CaKeyUnusable")
        return self._keys[key_id]


class FakeKeyVault:
    """KeyVault in memory: ciphertext bound to (certificate, version) as KMS binds it by encryption context."""

    def __init__(self) -> None:
        self._sealed: dict[bytes, tuple[bytes, str, int]] = {}

    def seal(self, plaintext: bytes, certificate_id: str, version_number: int) -> bytes:
        handle = hashlib.sha256(b"%d" % len(self._sealed) + certificate_id.encode()).digest()
        self._sealed[handle] = (plaintext, certificate_id, version_number)
        return handle

    def open(self, ciphertext: bytes, certificate_id: str, version_number: int) -> bytes:
        found = self._sealed.get(ciphertext)
        if found is None or found[1:] != (certificate_id, version_number):
            raise DependencyError("KMS Decrypt failed: InvalidCiphertextException")
        return found[0]


class FakeHostIndex(_OnMemory):
    """HostAssociationIndex in memory: a host's live certificate associations with their CURRENT versions."""

    def bindings_of(self, principal_arn: str, certificate_ids: frozenset[str] | None = None) -> list[HostBinding]:
        mine = sorted(
            (
                a
                for a in self.memory.associations.values()
                if host_key(a) == HOST_PARTITION + principal_arn
                and (certificate_ids is None or a.certificate_id in certificate_ids)
            ),
            key=lambda a: (a.created_at, a.id),
        )
        bindings = []
        for a in mine:
            certificate = self.memory.certificates.get(a.certificate_id)
            if certificate is None or not certificate.current_version_number:
                continue
            if certificate.lifecycle_state is LifecycleState.DELETED:
                continue
            row = self.memory.versions.get((certificate.id, certificate.current_version_number))
            if row is None or row.version.deleted_at:
                continue
            bindings.append(HostBinding(a, certificate, row.version))
        return bindings


class FakeVersionIndex(_OnMemory):
    """VersionIndex in memory: published versions (not in flight) by serial key or fingerprint key."""

    def _published(self) -> Iterator[tuple[str, int, CertificateVersion]]:
        for (certificate_id, number), row in sorted(self.memory.versions.items()):
            if row.in_flight_at is None and row.version.certificate_pem:
                yield certificate_id, number, row.version

    def by_serial(self, serial_number: str) -> list[tuple[str, int]]:
        key = serial_key(serial_number)
        return [(c, n) for c, n, v in self._published() if lookup_keys(v)[0] == key][:100]

    def by_fingerprint(self, fingerprint: str) -> list[tuple[str, int]]:
        key = fingerprint_key(fingerprint)
        return [(c, n) for c, n, v in self._published() if lookup_keys(v)[1] == key][:100]


class RecordingPublisher:
    """EventPublisher that keeps what it was given; `fail_with` makes the next publish raise."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.fail_with: Exception | None = None

    def publish(self, events: list[DomainEvent]) -> None:
        if self.fail_with is not None:
            err, self.fail_with = self.fail_with, None
            raise err
        self.events.extend(events)

    def of_type(self, kind: type[K]) -> list[K]:
        return [e for e in self.events if isinstance(e, kind)]


class RecordingAlerts:
    """AlertPublisher that keeps the alerts it was given."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish(self, alert: Alert) -> str:
        self.alerts.append(alert)
        return f"message-{len(self.alerts)}"


@dataclass
class _Listener:
    default: str | None = None
    sni: tuple[str, ...] = ()


class FakeListeners:
    """ListenerPort in memory."""

    def __init__(self) -> None:
        self.listeners: dict[str, _Listener] = {}

    def _get(self, arn: str) -> _Listener:
        if arn not in self.listeners:
            raise NotFoundError(f"listener {arn} does not exist")
        return self.listeners[arn]

    def certificates(self, listener_arn: str) -> _Listener:
        listener = self._get(listener_arn)
        return _Listener(listener.default, listener.sni)

    def set_default(self, listener_arn: str, certificate_arn: str) -> None:
        self._get(listener_arn).default = certificate_arn

    def add_sni(self, listener_arn: str, certificate_arn: str) -> None:
        listener = self._get(listener_arn)
        if certificate_arn not in listener.sni:
            listener.sni = (*listener.sni, certificate_arn)

    def remove_sni(self, listener_arn: str, certificate_arn: str) -> None:
        listener = self._get(listener_arn)
        listener.sni = tuple(a for a in listener.sni if a != certificate_arn)


@dataclass
class _AcmCertificate:
    certificate_pem: str
    chain_pem: str
    tags: dict[str, str]
    serial: str | None


class FakeAcm:
    """AcmPort in memory; `in_use` ARNs are refused deletion as ACM refuses a certificate a listener uses."""

    def __init__(self) -> None:
        self.certificates: dict[str, _AcmCertificate] = {}
        self.in_use: set[str] = set()

    def import_certificate(
        self,
        certificate_pem: str,
        private_key_pem: str,
        chain_pem: str,
        tags: dict[str, str],
        existing_arn: str | None = None,
    ) -> str:
        from cryptography import x509

        serial = f"{x509.load_pem_x509_certificate(certificate_pem.encode()).serial_number:x}"
        if existing_arn is not None and existing_arn not in self.certificates:
            raise NotFoundError(f"ACM certificate {existing_arn} does not exist")
        arn = existing_arn or f"arn:aws:acm:us-east-1:123456789012:certificate/{len(self.certificates) + 1:08d}"
        self.certificates[arn] = _AcmCertificate(certificate_pem, chain_pem, dict(tags), serial)
        return arn

    def serial_of(self, arn: str) -> str | None:
        c = self.certificates.get(arn)
        return None if c is None else c.serial

    def tagged(self, tags: dict[str, str]) -> list[str]:
        return [arn for arn, c in self.certificates.items() if tags.items() <= c.tags.items()]

    def delete(self, arn: str) -> bool:
        if arn in self.in_use:
            return False
        self.certificates.pop(arn, None)
        return True


class FakeTargetTags:
    """TargetTagPort in memory: the tags of each target that exists."""

    def __init__(self, tags: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.tags: dict[str, dict[str, str]] = {arn: dict(t) for arn, t in (tags or {}).items()}

    def tags_of(self, resource_arn: str) -> Mapping[str, str] | None:
        return self.tags.get(resource_arn)

    def consent(self, target_arn: str, certificate_id: str) -> None:
        """The target's owner adds `certificate_id` to its consent tag (as tests/consenting.py does on moto)."""
        from certwright.services.consent import CONSENT_TAG, consented_certificates

        tags = self.tags.setdefault(target_arn, {})
        tags[CONSENT_TAG] = " ".join(sorted(consented_certificates(tags) | {certificate_id}))


class FakeIdempotentRequests:
    """IdempotentRequests in memory: one answer per (caller, operation, key); another body with the key is refused."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}

    def bind_invocation(self, lambda_context: Any) -> None:
        return None

    def run(
        self,
        *,
        caller: str,
        operation: str,
        key: str | None,
        body: dict[str, Any],
        action: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        if key is None:
            return action()
        if not key or len(key) > 255 or not (key.isascii() and key.isprintable()):
            raise InvalidInputError("Idempotency-Key must be 1 to 255 printable ASCII characters")
        fingerprint = json.dumps(body, sort_keys=True, default=str)
        known = self._answers.get((caller, operation, key))
        if known is not None:
            if known[0] != fingerprint:
                raise ConflictError(
                    "this Idempotency-Key was used with a different request body", code="IdempotencyKeyReused"
                )
            return known[1]
        answer = action()
        self._answers[(caller, operation, key)] = (fingerprint, answer)
        return answer


# -- a whole container on fakes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entities:
    """What the authorization entity builder reads, on the fakes."""

    grants: FakeGrants
    associations: FakeAssociations

    def grants_of(self, resource_id: str) -> list[Grant]:
        return self.grants.grants_of(resource_id)

    def associations_of(self, certificate_id: str) -> list[Association]:
        return self.associations.associations_of(certificate_id)


ACCOUNT = "123456789012"
LOCAL_ADMIN = f"arn:aws:iam::{ACCOUNT}:user/certwright-local-admin"


def fake_settings(**changes: Any) -> Settings:
    """The Settings the embedded AWS's resources give (infra.resources), without the embedded AWS."""
    settings = Settings(
        table_name="certwright-certificates",
        idempotency_table_name="certwright-idempotency",
        key_encryption_key_id=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000",
        region="us-east-1",
        deployer_role_arn=f"arn:aws:iam::{ACCOUNT}:role/certwright-deployer",
        local_admin_arn=LOCAL_ADMIN,
        event_bus_name="certwright-prod",
        alert_topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:certwright-alerts-prod",
        pki_base_url="http://certwright-pki-bucket.s3.us-east-1.amazonaws.com",
        pki_bucket="certwright-pki-bucket",
        admin_principal_arns=(LOCAL_ADMIN,),
        account_id=ACCOUNT,
    )
    return replace(settings, **changes)


class FakeTlsEndpoints:
    """TlsEndpointPort in memory: what each host:port serves (an Observation) or why no handshake completes."""

    def __init__(self) -> None:
        self.served: dict[tuple[str, int], Observation | str] = {}

    def observe(self, host: str, port: int, server_name: str) -> Observation | str:
        return self.served.get((host, port), "connection refused")


# -- ACME ----------------------------------------------------------------------------------------------------------


def _changed(versions: dict[str, int], key: str, get: Any, change: Any, write: Any, action: str) -> Any:
    """The fakes' AcmeStore change_*: `change` applied to the stored value and written unless someone wrote it since
    it was read (`versions` counts the writes); after a lost race, again (CHANGE_ATTEMPTS times, then a conflict)."""
    from certwright.ports.acme import CHANGE_ATTEMPTS

    for _ in range(CHANGE_ATTEMPTS):
        read = versions.get(key, 0)
        current = get(key)  # (a test may write in between, as another writer)
        if current is None:
            return None
        changed = change(current)
        if changed == current:
            return current
        if versions.get(key, 0) != read:  # written since it was read: the race is lost
            continue
        write(changed)
        return changed
    raise conflict(action)


class FakeAcmeStore:
    """AcmeStore in memory, with the adapter's rules: nonces good once until they expire, one account per key,
    conditional order transitions."""

    def __init__(self) -> None:
        self.nonces: dict[str, datetime] = {}
        self.eab: dict[str, Any] = {}
        self.accounts: dict[str, Any] = {}
        self.by_key: dict[str, str] = {}
        self.orders: dict[str, Any] = {}
        self.order_versions: dict[str, int] = {}  # the adapter's row version
        self.authorizations: dict[str, Any] = {}
        self.authz_versions: dict[str, int] = {}  # the adapter's row version
        self.links: dict[tuple[str, tuple[str, ...]], str] = {}
        self.replaced: dict[str, str] = {}  # renewalInfo CertID -> the order that replaced it
        # The adapter's `ttl` of the order ("order:", "orders:{account}/" + id) and authorization ("authz:") rows.
        self.ttl: dict[str, int | None] = {}

    def add_nonce(self, nonce: str, expires: datetime) -> None:
        self.nonces[nonce] = expires

    def consume_nonce(self, nonce: str, now: datetime) -> bool:
        expires = self.nonces.get(nonce)
        if expires is None or expires <= now:
            return False
        del self.nonces[nonce]
        return True

    def add_eab_key(self, key: Any) -> None:
        absent(key.key_id in self.eab, "create EAB key")
        self.eab[key.key_id] = key

    def get_eab_key(self, key_id: str) -> Any:
        return self.eab.get(key_id)

    def eab_keys_of(self, principal: str) -> list[Any]:
        mine = [replace(k, sealed_hmac=b"") for k in self.eab.values() if k.principal == principal]
        return sorted(mine, key=lambda k: (k.created_at, k.key_id))

    def revoke_eab_key(self, key_id: str) -> None:
        if key_id in self.eab:
            self.eab[key_id] = replace(self.eab[key_id], revoked=True)

    def create_account(self, account: Any) -> None:
        absent(account.thumbprint in self.by_key or account.id in self.accounts, "create account")
        self.accounts[account.id] = account
        self.by_key[account.thumbprint] = account.id

    def get_account(self, account_id: str) -> Any:
        return self.accounts.get(account_id)

    def account_by_thumbprint(self, thumbprint: str) -> Any:
        account_id = self.by_key.get(thumbprint)
        return None if account_id is None else self.accounts.get(account_id)

    def save_account(self, account: Any, previous_thumbprint: str | None = None) -> None:
        if previous_thumbprint is not None and previous_thumbprint != account.thumbprint:
            absent(account.thumbprint in self.by_key, "change account key")
            self.by_key.pop(previous_thumbprint, None)
            self.by_key[account.thumbprint] = account.id
        self.accounts[account.id] = account

    def put_order(self, order: Any) -> None:
        absent(order.id in self.orders, "create order")
        self._write_order(order)

    def _write_order(self, order: Any) -> None:
        self.orders[order.id] = order
        self.order_versions[order.id] = self.order_versions.get(order.id, 0) + 1
        self._order_drop_at(order)

    def drop_at(self, row: str) -> int | None:
        """The `ttl` the adapter writes on `row` ("nonce:{nonce}", or a key of `ttl`): when the table may drop it."""
        kind, _, name = row.partition(":")
        return retention.nonce_drop_at(self.nonces[name]) if kind == "nonce" else self.ttl[row]

    def _order_drop_at(self, order: Any) -> None:
        drop_at = retention.order_drop_at(order)
        self.ttl[f"order:{order.id}"] = self.ttl[f"orders:{order.account_id}/{order.id}"] = drop_at

    def get_order(self, order_id: str) -> Any:
        return self.orders.get(order_id)

    def update_order(self, order: Any, expected: Any) -> None:
        stored = self.orders.get(order.id)
        if stored is None or stored.status is not expected:
            raise conflict("update order")
        self._write_order(order)

    def change_order(self, order_id: str, change: Any) -> Any:
        return _changed(self.order_versions, order_id, self.get_order, change, self._write_order, "update order")

    def orders_of(self, account_id: str) -> list[str]:
        return sorted(o.id for o in self.orders.values() if o.account_id == account_id)

    def put_authorization(self, authorization: Any) -> None:
        self.authorizations[authorization.id] = authorization
        self.ttl[f"authz:{authorization.id}"] = retention.authorization_drop_at(authorization)
        self.authz_versions[authorization.id] = self.authz_versions.get(authorization.id, 0) + 1

    def change_authorization(self, authorization_id: str, change: Any) -> Any:
        return _changed(
            self.authz_versions,
            authorization_id,
            self.get_authorization,
            change,
            self.put_authorization,
            "write authorization",
        )

    def get_authorization(self, authorization_id: str) -> Any:
        return self.authorizations.get(authorization_id)

    def claim_replacement(self, cert_id: str, order_id: str) -> str | None:
        holder = self.replaced.setdefault(cert_id, order_id)
        return None if holder == order_id else holder

    def release_replacement(self, cert_id: str, order_id: str) -> None:
        if self.replaced.get(cert_id) == order_id:
            del self.replaced[cert_id]

    def replacement_of(self, cert_id: str) -> str | None:
        return self.replaced.get(cert_id)

    def certificate_for(self, account_id: str, names: tuple[str, ...]) -> str | None:
        return self.links.get((account_id, names))

    def link_certificate(self, account_id: str, names: tuple[str, ...], certificate_id: str) -> None:
        self.links[(account_id, names)] = certificate_id


class FakeEabSealer:
    """EabSealer in memory: a sealed key opens only for its own key id (as the KMS encryption context binds it)."""

    def __init__(self) -> None:
        self._sealed: dict[bytes, tuple[bytes, str]] = {}

    def seal(self, hmac_key: bytes, key_id: str) -> bytes:
        handle = hashlib.sha256(b"eab%d" % len(self._sealed) + key_id.encode()).digest()
        self._sealed[handle] = (hmac_key, key_id)
        return handle

    def open(self, sealed: bytes, key_id: str) -> bytes:
        found = self._sealed.get(sealed)
        if found is None or found[1] != key_id:
            raise DependencyError("KMS Decrypt failed: InvalidCiphertextException")
        return found[0]


class FakeChallengeChecker:
    """ChallengeChecker that answers what the test arranged: by (type, identifier) a ChallengeResult or an
    exception to raise; unarranged challenges are valid. Every call is recorded."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], Any] = {}
        self.calls: list[tuple[str, str, str, str]] = []

    def check(self, challenge_type: Any, identifier: str, token: str, key_authorization: str) -> Any:
        from certwright.ports.acme_challenges import ChallengeResult

        self.calls.append((str(challenge_type), identifier, token, key_authorization))
        answer = self.answers.get((str(challenge_type), identifier), ChallengeResult(True))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class World:
    """Everything outside the services, in memory: what a test arranges and inspects."""

    memory: Memory = field(default_factory=Memory)
    keys: FakeCaKeys = field(default_factory=FakeCaKeys)
    vault: FakeKeyVault = field(default_factory=FakeKeyVault)
    acm: FakeAcm = field(default_factory=FakeAcm)
    listeners: FakeListeners = field(default_factory=FakeListeners)
    tags: FakeTargetTags = field(default_factory=FakeTargetTags)
    objects: FakePkiObjects = field(default_factory=FakePkiObjects)
    events: RecordingPublisher = field(default_factory=RecordingPublisher)
    alerts: RecordingAlerts = field(default_factory=RecordingAlerts)
    slept: list[float] = field(default_factory=list)
    tls: FakeTlsEndpoints = field(default_factory=FakeTlsEndpoints)
    acme: FakeAcmeStore = field(default_factory=FakeAcmeStore)
    eab_sealer: FakeEabSealer = field(default_factory=FakeEabSealer)
    checker: FakeChallengeChecker = field(default_factory=FakeChallengeChecker)


def build_fake(settings: Settings, rt: Runtime, world: World | None = None) -> tuple[Container, World]:
    """bootstrap.build's composition, every port a fake: the real services, API and authorization on memory."""
    from certwright.authorization.decision import PolicyDecisionPoint, extra_policy_text
    from certwright.authorization.enforcement import Authorizer
    from certwright.authorization.entities import EntityBuilder
    from certwright.services.acme_eab import EabKeyService
    from certwright.services.acme_server import AcmeServer
    from certwright.services.acme_validator import ChallengeValidator
    from certwright.services.alerts import AlertNotifier
    from certwright.services.associations import AssociationService
    from certwright.services.audit import AuditService
    from certwright.services.authorities import AuthorityService
    from certwright.services.bundles import BundleService
    from certwright.services.ca_bundles import CaBundleService
    from certwright.services.certificates import CertificateService
    from certwright.services.consent import ConsentService
    from certwright.services.crl_publisher import CrlPublisher
    from certwright.services.deletion import DeletionService
    from certwright.services.deployment import DeploymentService
    from certwright.services.deployment_events import DeploymentEvents
    from certwright.services.grants import GrantService
    from certwright.services.issuance import IssuanceService
    from certwright.services.lookup import CertificateLookup
    from certwright.services.outbox_publisher import OutboxPublisher
    from certwright.services.poll import PollService
    from certwright.services.probes import ProbeService
    from certwright.services.reindex import ReindexPass
    from certwright.services.repair import RepairPass
    from certwright.services.revocation import RevocationService
    from certwright.services.sweep import RenewalSweep

    w = world or World()
    store = FakeDeletionStore(w.memory)
    backdate = settings.not_before_backdate
    authorities = AuthorityService(store, w.keys, rt, settings.publication, backdate=backdate)
    issuance = IssuanceService(store, authorities, w.vault, rt, settings.publication, backdate=backdate)
    certificates = CertificateService(store, issuance, rt)
    consent = ConsentService(w.tags, FakeAssociations(w.memory), settings.account)
    bundles = BundleService(store, certificates, w.vault, rt, settings.deployer_role_arn, consent)
    ca_bundle_store = FakeCaBundles(w.memory)
    ca_bundles = CaBundleService(ca_bundle_store, authorities, rt)
    grant_store = FakeGrants(w.memory)
    entities = EntityBuilder(
        _Entities(grant_store, FakeAssociations(w.memory)),
        account=settings.account,
        admins=settings.admin_principal_arns,
        deployer_role_arn=settings.deployer_role_arn,
    )
    deployment = DeploymentService(
        store, bundles, w.acm, w.listeners, rt, settings.deployer_role_arn, w.slept.append, consent
    )
    crl_states = FakeCrlStates(w.memory, settings.crl_policy)
    revocation = RevocationService(store, issuance, authorities, rt)
    authorizer = Authorizer(
        PolicyDecisionPoint.load(extra_policy_text(settings.extra_policies)), entities, FakeAuditLog(w.memory), rt
    )
    crl_publisher = CrlPublisher(
        FakeAuthorities(w.memory),
        authorities.signer_for,
        FakeRevocations(w.memory),
        crl_states,
        w.objects,
        rt,
        settings.crl_policy,
        settings.publication.crl_url,
        issued_count=crl_states.issued_count,
    )
    container = Container(
        settings=settings,
        store=store,  # type: ignore[arg-type]
        authorities=authorities,
        issuance=issuance,
        certificates=certificates,
        bundles=bundles,
        associations=AssociationService(store, certificates, rt, ca_bundles, consent),
        ca_bundles=ca_bundles,
        idempotency=FakeIdempotentRequests(),  # type: ignore[arg-type]
        deployment=deployment,
        deployment_events=DeploymentEvents(deployment),
        sweep=RenewalSweep(
            store,
            issuance,
            rt,
            repair=RepairPass(FakeRepairStore(w.memory), rt),
            reindex=ReindexPass(FakeReindex(w.memory)),
        ),
        deletion=DeletionService(store, w.keys, w.acm, rt),
        alerts=AlertNotifier(w.alerts),
        audit=AuditService(store),
        revocation=revocation,
        crl_publisher=crl_publisher,
        outbox=OutboxPublisher(w.events, decode_image),
        consent=consent,
        authorizer=authorizer,
        grants=GrantService(grant_store, rt),
        ca_bundle_store=ca_bundle_store,  # type: ignore[arg-type]
        lookup=CertificateLookup(store, FakeVersionIndex(w.memory)),
        poll=PollService(FakeHostIndex(w.memory), store, rt),
        probes=ProbeService(store, w.tls, rt),
        acme=AcmeServer(
            w.acme,
            w.eab_sealer,
            store,
            FakeVersionIndex(w.memory),
            authorities,
            issuance,
            revocation,
            authorizer,
            rt,
            require_eab=settings.acme_require_eab,
            validity_duration=settings.acme_validity_duration or None,
        ),
        acme_validator=ChallengeValidator(w.acme, w.checker, rt, w.slept.append),
        eab_keys=EabKeyService(w.acme, w.eab_sealer, authorities, store, rt),
        # The adapter's sealing (pure AES-GCM) under a fixed key: the key's KMS-sealed row is the adapter's own.
        page_tokens=SealedPageTokens(lambda create: PAGE_TOKEN_KEY),
    )
    return container, w

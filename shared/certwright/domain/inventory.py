"""Inventory searches: what a filtered, sorted list asks for, which stored resources match it, and their order.

Pure: the stores (fake and DynamoDB) read candidates from their indexes and keep those `matches` accepts, in the
order `sort_key` gives. Associations (in use, deployment state) and the caller's permissions are checked by the
service through the store's `accept` callback, so they too count toward a full page.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from certwright.domain.association import Association
from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.ca_bundle import CaBundle
from certwright.domain.certificate import Certificate
from certwright.domain.names import SanType
from certwright.domain.tags import Tags

# Page sizes and how much one page may read: a page ends when it is full or after this many index entries
# (per page of `limit`), whichever comes first, so a rare match never makes one request read everything.
MAX_LIMIT = 1000
MIN_READ_BUDGET = 100
READ_BUDGET_PER_ITEM = 5
MAX_READ_BUDGET = 5000
# The sort key of a resource without a current version's notAfter: after every date, ascending.
NO_EXPIRY = "~"


class SortBy(StrEnum):
    NAME = "name"
    TIME_CREATED = "timeCreated"
    NOT_AFTER = "notAfter"


class SortOrder(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, kw_only=True)
class InventoryQuery:
    """The filters of one list request (all given ones must hold) and its order."""

    name: str | None = None
    name_prefix: str | None = None
    lifecycle_state: LifecycleState | None = None
    issuer_id: str | None = None
    # A SAN (DNS or IP) exactly as stored, e.g. "*.example.com".
    san: str | None = None
    # A host name a certificate serves: an exact DNS/IP SAN or a wildcard SAN covering it.
    hostname: str | None = None
    serial_number: str | None = None
    not_after_before: datetime | None = None
    not_after_after: datetime | None = None
    in_use: bool | None = None
    deployment_state: str | None = None
    # Associations: their consent state (ACTIVE, PENDING_CONFIRMATION, SUSPENDED) and certificate.
    association_state: str | None = None
    certificate_id: str | None = None
    tags: Tags = ()
    sort_by: SortBy | None = None
    sort_order: SortOrder = SortOrder.ASC

    @property
    def order(self) -> SortBy:
        """The order asked for, else the one the filters' index gives (name filters: by name; expiry: by notAfter)."""
        if self.sort_by is not None:
            return self.sort_by
        if self.name is not None or self.name_prefix is not None:
            return SortBy.NAME
        if self.not_after_before is not None or self.not_after_after is not None:
            return SortBy.NOT_AFTER
        return SortBy.TIME_CREATED

    @property
    def descending(self) -> bool:
        return self.sort_order is SortOrder.DESC

    def fingerprint(self, kind: str) -> str:
        """What a page token is bound to: this query of this listing, nothing else."""
        fields = {k: str(v) for k, v in sorted(vars(self).items()) if v is not None and v != ()}
        canonical = json.dumps([kind, fields], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def needs_associations(self) -> bool:
        return self.in_use is not None or self.deployment_state is not None


def read_budget(limit: int) -> int:
    return min(MAX_READ_BUDGET, max(MIN_READ_BUDGET, limit * READ_BUDGET_PER_ITEM))


def normalize_host(value: str) -> str:
    """A host name or IP as SANs store it: DNS lower case without a trailing dot; IPs in their compressed form."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text.lower().rstrip(".")


def covering_names(host: str) -> tuple[str, ...]:
    """The SAN values that serve `host`: itself and the one-label wildcard above it (RFC 6125 6.4.3)."""
    name = normalize_host(host)
    labels = name.split(".")
    if len(labels) < 3 or name.startswith("*") or _is_ip(name):
        return (name,)
    return (name, "*." + ".".join(labels[1:]))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def iso(when: datetime) -> str:
    return when.isoformat()


def sort_values(name: str, created: datetime, not_after: datetime | None, resource_id: str) -> dict[SortBy, str]:
    """The index sort keys of one resource: unique (the id ends each), ordered as the API sorts."""
    return {
        SortBy.NAME: f"{name}#{resource_id}",
        SortBy.TIME_CREATED: f"{iso(created)}#{resource_id}",
        SortBy.NOT_AFTER: f"{iso(not_after) if not_after else NO_EXPIRY}#{resource_id}",
    }


def authority_facets(ca: CertificateAuthority) -> tuple[str, ...]:
    """A CA's partitions besides ALL: each tag and its issuer."""
    facets = {f"TAG#{k}={v}" for k, v in ca.freeform_tags}
    if ca.issuer_id:
        facets.add(f"ISSUER#{ca.issuer_id}")
    return ("ALL", *sorted(facets))


def bundle_facets(b: CaBundle) -> tuple[str, ...]:
    """A CA bundle's partitions besides ALL: each tag."""
    return ("ALL", *sorted(f"TAG#{k}={v}" for k, v in b.freeform_tags))


def certificate_facets(c: Certificate) -> tuple[str, ...]:
    """The index partitions a certificate is listed in besides ALL: each SAN, each tag and its issuer."""
    facets = {f"SAN#{normalize_host(s.value) if s.type is SanType.IP else s.value.lower()}" for s in c.sans}
    facets |= {f"TAG#{k}={v}" for k, v in c.freeform_tags}
    if c.issuer_ca_id:
        facets.add(f"ISSUER#{c.issuer_ca_id}")
    return ("ALL", *sorted(facets))


def driving_facets(query: InventoryQuery) -> tuple[str, ...]:
    """The partitions a search reads (their union, deduplicated): the most selective filter's, else ALL."""
    if query.hostname is not None:
        return tuple(f"SAN#{n}" for n in covering_names(query.hostname))
    if query.san is not None:
        return (f"SAN#{normalize_host(query.san)}",)
    if query.tags:
        key, value = query.tags[0]
        return (f"TAG#{key}={value}",)
    if query.issuer_id is not None:
        return (f"ISSUER#{query.issuer_id}",)
    return ("ALL",)


def sort_range(query: InventoryQuery) -> tuple[str | None, str | None, str | None]:
    """What the index's sort key condition can do for the query: (begins_with, lower, upper) on its order."""
    if query.order is SortBy.NAME:
        if query.name is not None:
            return f"{query.name}#", None, None
        if query.name_prefix is not None:
            return query.name_prefix, None, None
    if query.order is SortBy.NOT_AFTER and (query.not_after_before or query.not_after_after):
        lower = iso(query.not_after_after) if query.not_after_after else "0"
        upper = iso(query.not_after_before) if query.not_after_before else NO_EXPIRY
        return None, lower, upper
    return None, None, None


def _san_values(c: Certificate) -> set[str]:
    return {normalize_host(s.value) if s.type is SanType.IP else s.value.lower() for s in c.sans}


def matches(query: InventoryQuery, c: Certificate, not_after: datetime | None) -> bool:
    """Whether the certificate meets every filter it carries itself, `not_after` being its CURRENT version's.

    Not checked here: serialNumber (the service finds those through the serial index) and in_use /
    deployment_state (its associations: the service's `accept`)."""
    if not _common(query, c.name, c.lifecycle_state, c.freeform_tags, not_after):
        return False
    if query.issuer_id is not None and c.issuer_ca_id != query.issuer_id:
        return False
    sans = _san_values(c)
    if query.san is not None and normalize_host(query.san) not in sans:
        return False
    return query.hostname is None or bool(sans & set(covering_names(query.hostname)))


def matches_authority(query: InventoryQuery, ca: CertificateAuthority) -> bool:
    """Whether the CA meets the query (its serial: the CURRENT version's)."""
    version = ca.current_version
    not_after = version.validity.not_after if version else None
    if not _common(query, ca.name, ca.lifecycle_state, ca.freeform_tags, not_after):
        return False
    if query.issuer_id is not None and ca.issuer_id != query.issuer_id:
        return False
    if query.serial_number is not None:
        wanted = query.serial_number.lower().replace(":", "").lstrip("0")
        if version is None or version.serial_number.lower().lstrip("0") != wanted:
            return False
    return query.san is None and query.hostname is None


def matches_bundle(query: InventoryQuery, b: CaBundle) -> bool:
    """Whether the CA bundle meets the query (a bundle has no issuer, SAN, serial or notAfter of its own)."""
    if not _common(query, b.name, b.lifecycle_state, b.freeform_tags, None):
        return False
    if query.not_after_before is not None or query.not_after_after is not None:
        return False
    return query.issuer_id is None and query.san is None and query.hostname is None and query.serial_number is None


def association_facet(deployment_state: str) -> str:
    """An association's one partition: its deployment state (the association row itself is the index entry)."""
    return f"DEPLOY#{deployment_state}"


def matches_association(query: InventoryQuery, a: Association) -> bool:
    if query.deployment_state is not None and a.deployment.state.value != query.deployment_state:
        return False
    if query.association_state is not None and a.state.value != query.association_state:
        return False
    return query.certificate_id is None or a.certificate_id == query.certificate_id


def _common(query: InventoryQuery, name: str, state: LifecycleState, tags: Tags, not_after: datetime | None) -> bool:
    if state is LifecycleState.DELETED:
        return False
    if query.name is not None and name != query.name:
        return False
    if query.name_prefix is not None and not name.startswith(query.name_prefix):
        return False
    if query.lifecycle_state is not None and state is not query.lifecycle_state:
        return False
    if query.not_after_before is not None and (not_after is None or not not_after < query.not_after_before):
        return False
    if query.not_after_after is not None and (not_after is None or not not_after > query.not_after_after):
        return False
    held = dict(tags)
    return all(held.get(k) == v for k, v in query.tags)

"""What the console's pages show, computed from the API's answers: the search forms' fields, the expiry timeline,
the association map, the CA tree, CRL freshness and an action's blast radius. Pure: no I/O, and `now` is passed in.

It filters nothing: the search forms' fields go to the API's list routes as query parameters, and the pages show
what the API answers (the API decides what the caller may read, and pages)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Item = Mapping[str, Any]

# The search forms of the list pages: each field is a list filter of the API's inventory (docs/inventory.md), sent
# as the query parameter of the same name; the API alone filters, sorts and pages. A field with options is a select
# (its blank option: no filter). tests/console checks every field and option against the API's /openapi.json.
LIFECYCLE_STATES = ("CREATING", "ACTIVE", "FAILED", "PENDING_DELETION")  # DELETED is never listed
DEPLOYMENT_STATES = ("PENDING", "DEPLOYING", "DEPLOYED", "FAILED", "UNDEPLOYING")
ASSOCIATION_STATES = ("ACTIVE", "PENDING_CONFIRMATION", "SUSPENDED")
SORT_ORDERS = ("ASC", "DESC")


@dataclass(frozen=True)
class Field:
    name: str  # the API's query parameter
    label: str
    options: tuple[str, ...] = ()  # a select's choices; none: a text input


CERTIFICATE_FIELDS = (
    Field("namePrefix", "name starts with"),
    Field("hostname", "serves hostname"),
    Field("san", "SAN (exact)"),
    Field("serialNumber", "serial (hex)"),
    Field("lifecycleState", "lifecycle state", LIFECYCLE_STATES),
    Field("issuerCertificateAuthorityId", "issuer CA id"),
    Field("notAfterAfter", "expires after"),
    Field("notAfterBefore", "expires before"),
    Field("tag", "tag key=value"),
    Field("inUse", "in use", ("true", "false")),
    Field("deploymentState", "deployment", DEPLOYMENT_STATES),
    Field("sortBy", "sort by", ("name", "timeCreated", "notAfter")),
    Field("sortOrder", "order", SORT_ORDERS),
)
AUTHORITY_FIELDS = (
    Field("namePrefix", "name starts with"),
    Field("lifecycleState", "lifecycle state", LIFECYCLE_STATES),
    Field("issuerCertificateAuthorityId", "issuer CA id"),
    Field("serialNumber", "serial (hex)"),
    Field("notAfterAfter", "expires after"),
    Field("notAfterBefore", "expires before"),
    Field("tag", "tag key=value"),
)
BUNDLE_FIELDS = (
    Field("namePrefix", "name starts with"),
    Field("lifecycleState", "lifecycle state", LIFECYCLE_STATES),
    Field("inUse", "in use", ("true", "false")),
    Field("tag", "tag key=value"),
    Field("sortBy", "sort by", ("name", "timeCreated")),
    Field("sortOrder", "order", SORT_ORDERS),
)
ASSOCIATION_FIELDS = (
    Field("certificateId", "certificate id"),
    Field("deploymentState", "deployment", DEPLOYMENT_STATES),
    Field("state", "association state", ASSOCIATION_STATES),
)
# The query parameters a page passes on to its list: its form's fields, and `name` (exactly this name) for links.
CERTIFICATE_FILTERS = ("name", *(f.name for f in CERTIFICATE_FIELDS))
AUTHORITY_FILTERS = ("name", *(f.name for f in AUTHORITY_FIELDS))
BUNDLE_FILTERS = ("name", *(f.name for f in BUNDLE_FIELDS))
ASSOCIATION_FILTERS = tuple(f.name for f in ASSOCIATION_FIELDS)

LISTENER = "LOAD_BALANCER_LISTENER"
ACM = "ACM_CERTIFICATE"
HOST = "HOST_PRINCIPAL"


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def not_after(item: Item) -> datetime | None:
    """The notAfter of a certificate's or CA's CURRENT version."""
    version = item.get("currentVersion") or {}
    return parse_time((version.get("validity") or {}).get("notAfter"))


def normal_serial(serial: str) -> str:
    """A serial number as lower-case hex without colons or leading zeros."""
    return serial.replace(":", "").lower().lstrip("0") or "0"


def on_crl(serial: str | None, crls: Iterable[CrlState]) -> str:
    """Whether a revoked serial is on one of its CA's CRLs: "listed", "awaiting the next CRL" or "unknown"."""
    readable = [c for c in crls if c.error is None]
    if not readable:
        return "unknown"
    return "listed" if any(c.lists(serial) for c in readable) else "awaiting the next CRL"


def chosen(query: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """The filters of `names` the form filled in (empty fields are no filter): the query the console sends."""
    return {name: query[name].strip() for name in names if query.get(name, "").strip()}


# -- the expiry timeline --------------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    certificate: Item
    not_after: datetime | None
    renews: bool  # a renewal rule renews it by itself
    next_renewal: datetime | None
    problems: list[str] = field(default_factory=list)  # overdue renewal, failed versions, failed deployments


@dataclass
class Bucket:
    label: str
    start: datetime | None
    entries: list[TimelineEntry]


def _bucket_start(when: datetime, by: str) -> datetime:
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if by == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())


def _bucket_label(start: datetime, by: str) -> str:
    if by == "month":
        return start.strftime("%B %Y")
    return f"week of {start:%Y-%m-%d}"


def problems(certificate: Item, versions: Sequence[Item], associations: Sequence[Item], now: datetime) -> list[str]:
    """What is overdue or failing about one certificate, each as one sentence."""
    found: list[str] = []
    end = not_after(certificate)
    if certificate.get("expired") or (end is not None and end <= now):
        found.append("expired")
    next_renewal = parse_time(certificate.get("nextRenewalAt"))
    if certificate.get("renewalRule") and next_renewal is not None and next_renewal < now - timedelta(minutes=5):
        found.append(f"renewal overdue since {next_renewal:%Y-%m-%d %H:%M} UTC")
    current = int((certificate.get("currentVersion") or {}).get("versionNumber") or 0)
    failed = [int(v["versionNumber"]) for v in versions if v.get("lifecycleState") == "FAILED"]
    if any(n > current for n in failed):
        found.append("renewal failed (version " + ", ".join(str(n) for n in failed if n > current) + " FAILED)")
    for a in associations:
        deployment = a.get("deployment") or {}
        if deployment.get("state") == "FAILED":
            found.append(f"deployment FAILED on {a.get('associatedResourceId')}: {deployment.get('lastError') or ''}")
        probe = a.get("probe") or {}
        if probe and not probe.get("healthy", True):
            found.append(f"probe unhealthy at {(a.get('endpoint') or {}).get('address')}")
    return found


def timeline(
    certificates: Sequence[Item],
    versions: Mapping[str, Sequence[Item]],
    associations: Sequence[Item],
    now: datetime,
    by: str = "week",
) -> tuple[list[TimelineEntry], list[Bucket]]:
    """(what is overdue or failing, the rest bucketed by the week or month its CURRENT version expires)."""
    by = "month" if by == "month" else "week"
    of: dict[str, list[Item]] = {}
    for a in associations:
        of.setdefault(str(a.get("certificateId")), []).append(a)
    attention: list[TimelineEntry] = []
    buckets: dict[datetime | None, list[TimelineEntry]] = {}
    for c in certificates:
        if c.get("lifecycleState") not in (None, "ACTIVE"):
            continue
        entry = TimelineEntry(
            c,
            not_after(c),
            bool(c.get("renewalRule")),
            parse_time(c.get("nextRenewalAt")),
            problems(c, versions.get(str(c.get("id")), ()), of.get(str(c.get("id")), []), now),
        )
        if entry.problems:
            attention.append(entry)
        start = _bucket_start(entry.not_after, by) if entry.not_after is not None else None
        buckets.setdefault(start, []).append(entry)
    ordered = sorted(s for s in buckets if s is not None)
    result = [Bucket(_bucket_label(s, by), s, sorted(buckets[s], key=lambda e: e.not_after or now)) for s in ordered]
    if None in buckets:
        result.append(Bucket("no issued version", None, buckets[None]))
    attention.sort(key=lambda e: e.not_after or now)
    return attention, result


# -- the association map and the CA tree ----------------------------------------------------------------------


@dataclass
class MapRow:
    certificate: Item | None
    listeners: list[Item]
    acm: list[Item]
    hosts: list[Item]
    other: list[Item]


def association_map(certificates: Sequence[Item], associations: Sequence[Item]) -> list[MapRow]:
    """Each certificate with what uses it: load balancer listeners, ACM copies and hosts (and CA bundles' users)."""
    by_id = {str(c.get("id")): c for c in certificates}
    rows: dict[str, MapRow] = {}
    for a in associations:
        key = str(a.get("certificateId") or f"bundle:{a.get('caBundleId')}")
        row = rows.setdefault(key, MapRow(by_id.get(str(a.get("certificateId"))), [], [], [], []))
        kind = a.get("associationType")
        target = row.listeners if kind == LISTENER else row.acm if kind == ACM else row.hosts if kind == HOST else None
        (target if target is not None and a.get("certificateId") else row.other).append(a)
    return sorted(rows.values(), key=lambda r: str((r.certificate or {}).get("name") or "~"))


@dataclass
class TreeNode:
    authority: Item
    children: list[TreeNode]


def ca_tree(authorities: Sequence[Item]) -> list[TreeNode]:
    """Roots first, each CA under its issuer (a CA whose issuer is not visible is shown as a root)."""
    nodes = {str(a.get("id")): TreeNode(a, []) for a in authorities}
    roots: list[TreeNode] = []
    for a in sorted(authorities, key=lambda a: str(a.get("name"))):
        node = nodes[str(a.get("id"))]
        parent = nodes.get(str(a.get("issuerCertificateAuthorityId")))
        (parent.children if parent is not None and parent is not node else roots).append(node)
    return roots


# -- CRLs ---------------------------------------------------------------------------------------------------


@dataclass
class CrlState:
    url: str
    this_update: datetime | None = None
    next_update: datetime | None = None
    revoked: int = 0
    error: str | None = None
    serials: frozenset[str] = frozenset()  # the revoked serial numbers it lists, lower-case hex

    def lists(self, serial: str | None) -> bool:
        return bool(serial) and normal_serial(str(serial)) in self.serials

    def freshness(self, now: datetime) -> str:
        if self.error:
            return "unreadable"
        if self.next_update is None:
            return "unknown"
        return "fresh" if self.next_update > now else "stale"


# -- blast radius -----------------------------------------------------------------------------------------------

ACTIONS = ("renew", "promote", "rollback", "revoke")


@dataclass
class BlastRadius:
    action: str
    listeners: list[Item]
    acm: list[Item]
    hosts: list[Item]
    idle: list[Item]  # associations not deployed to (pending confirmation, suspended)
    redeploys: bool
    summary: str


def blast_radius(action: str, certificate: Item, version: int | None, associations: Sequence[Item]) -> BlastRadius:
    """Who an action on `certificate` touches, and whether its users get a new version deployed."""
    active = [a for a in associations if a.get("state") == "ACTIVE"]
    idle = [a for a in associations if a.get("state") != "ACTIVE"]
    current = (certificate.get("currentVersion") or {}).get("versionNumber")
    name = certificate.get("name")
    users = f"{len(active)} association(s)"
    if action == "renew":
        redeploys, summary = bool(active), f"a new version of {name} becomes CURRENT and is deployed to {users}"
    elif action in ("promote", "rollback"):
        redeploys = bool(active) and version != current
        summary = f"version {version} of {name} becomes CURRENT (now {current}) and is deployed to {users}"
    else:
        is_current = version == current
        redeploys = is_current and bool(active)
        summary = f"version {version} of {name} is revoked and listed on its CA's next CRL" + (
            f"; it is CURRENT, so a replacement version is issued and deployed to {users}"
            if redeploys
            else "; nothing is redeployed (it is not CURRENT or nothing uses it)"
        )
    return BlastRadius(
        action,
        [a for a in active if a.get("associationType") == LISTENER],
        [a for a in active if a.get("associationType") == ACM],
        [a for a in active if a.get("associationType") == HOST],
        idle,
        redeploys,
        summary,
    )

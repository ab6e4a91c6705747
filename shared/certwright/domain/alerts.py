"""Alerts people read: a domain event becomes a short message naming the resource, the cause and what to do; pure.

Free text that reaches a message (an error, a reason) is cleaned first: control characters go, anything that
looks like a PEM block is cut out, and it is shortened. Subjects are ASCII and at most 100 characters (SNS).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from certwright.domain.sweep import FIRST_BACKOFF, MAX_BACKOFF
from certwright.events import (
    AssociationSuspended,
    CertificateExpired,
    CertificateExpiring,
    CrlStale,
    DeploymentFailed,
    DomainEvent,
    EndpointHealthy,
    EndpointUnhealthy,
    RenewalFailed,
    RenewalOverdue,
)

MAX_SUBJECT = 100
MAX_CAUSE = 400
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(-----END [A-Z0-9 ]+-----|$)", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(frozen=True)
class Alert:
    event_type: str
    resource_id: str  # the certificate or CA the alert is about (subscribers filter on it)
    subject: str
    message: str
    extra_attributes: tuple[tuple[str, str], ...] = ()


def clean(text: str, limit: int = MAX_CAUSE) -> str:
    """Free text fit for a message: no PEM blocks, no control characters, at most `limit` characters."""
    text = _PEM.sub("[PEM removed]", text)
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def subject_line(text: str) -> str:
    """An SNS subject: printable ASCII only, one line, at most 100 characters."""
    ascii_text = "".join(c if 32 <= ord(c) < 127 else "?" for c in _CONTROL.sub(" ", text)).strip()
    return ascii_text if len(ascii_text) <= MAX_SUBJECT else ascii_text[: MAX_SUBJECT - 3].rstrip() + "..."


def humanize(delta: timedelta) -> str:
    """`7 days`, `1 hour`, `4 min`: exact units first, otherwise the largest unit that fits twice."""
    seconds = int(delta.total_seconds())
    units = (("day", 86400), ("hour", 3600), ("min", 60))
    chosen = next(((u, n) for u, n in units if seconds >= n and seconds % n == 0), None)
    chosen = chosen or next(((u, n) for u, n in units if seconds >= 2 * n), None)
    if chosen is None:
        return f"{seconds} s"
    unit, size = chosen
    count = seconds // size
    return f"{count} {unit}" if unit == "min" or count == 1 else f"{count} {unit}s"


def duration_text(iso: str) -> str:
    """`P7D` → `7 days`, `PT900S` → `15 min`; anything else is shown as given."""
    match = _DURATION.match(iso)
    if not match:
        return clean(iso, 40)
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return humanize(timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds))


def renewal_retry_in(attempt: int) -> timedelta:
    """When the sweep tries again after `attempt` failures (the backoff of domain/sweep.after_failure)."""
    return min(FIRST_BACKOFF * (1 << max(attempt - 1, 0)), MAX_BACKOFF)


def _named(kind: str, name: str, resource_id: str) -> str:
    return f"{kind} '{clean(name, 120)}' ({resource_id})" if name else f"{kind} {resource_id}"


def _expiring(e: CertificateExpiring) -> Alert:
    who = _named("Certificate", e.certificate_name, e.resource_id)
    within = duration_text(e.threshold)
    if e.renews_itself:
        action = (
            "It renews itself, but that renewal has not happened yet: look for RenewalFailed alerts and check that "
            "the issuing CA is ACTIVE and valid; to renew now, POST /certificates/"
            f"{e.resource_id}/versions."
        )
    else:
        action = (
            f"It does not renew itself: issue or import a new version (POST /certificates/{e.resource_id}/versions) "
            "before then; associated load balancers follow the new CURRENT version."
        )
    message = f"{who} expires within {within}: version {e.version_number} is valid until {e.not_after}. {action}"
    subject = f"Certwright: certificate '{e.certificate_name}' expires within {within}"
    return Alert(e.detail_type, e.resource_id, subject_line(subject), message)


def _expired(e: CertificateExpired) -> Alert:
    who = _named("Certificate", e.certificate_name, e.resource_id)
    renew = f"POST /certificates/{e.resource_id}/versions"
    if e.renews_itself:
        action = (
            "It renews itself, but its renewal did not happen in time: look for RenewalFailed alerts and check that "
            f"the issuing CA is ACTIVE and valid, then renew now ({renew})."
        )
    else:
        action = f"It does not renew itself: issue or import a new version now ({renew})."
    message = (
        f"{who} has expired: version {e.version_number}, its CURRENT version, was valid until {e.not_after}. "
        "Clients that check validity now reject it wherever it is served. "
        f"{action} Associated load balancers follow the new CURRENT version."
    )
    subject = f"Certwright: certificate '{e.certificate_name}' has expired"
    return Alert(e.detail_type, e.resource_id, subject_line(subject), message)


def _renewal_failed(e: RenewalFailed) -> Alert:
    who = _named("certificate", e.certificate_name, e.resource_id)
    times = "once" if e.attempt == 1 else f"{e.attempt} times"
    message = (
        f"Renewal of {who} failed {times}: {clean(e.reason) or 'no reason recorded'}. "
        f"Certwright retries in {humanize(renewal_retry_in(e.attempt))}; if it keeps failing check the issuing CA "
        "(lifecycle state, validity, its KMS key) and the certificate's renewal rule. The CURRENT version keeps "
        "serving until it expires."
    )
    subject = f"Certwright: renewal of '{e.certificate_name}' failed ({e.attempt}x)"
    return Alert(e.detail_type, e.resource_id, subject_line(subject), message)


def _overdue(e: RenewalOverdue) -> Alert:
    who = _named("Certificate", e.certificate_name, e.resource_id)
    message = (
        f"{who} was due for renewal at {e.due_at} and has no new version yet (CURRENT is version "
        f"{e.current_version}). Check for RenewalFailed alerts and that the renewal sweep runs; if the renewal rule "
        f"makes new versions PENDING, promote the waiting one; to renew now, POST /certificates/{e.resource_id}/versions."
    )
    subject = f"Certwright: renewal of '{e.certificate_name}' is overdue"
    return Alert(e.detail_type, e.resource_id, subject_line(subject), message)


def _deployment_failed(e: DeploymentFailed) -> Alert:
    who = _named("certificate", e.certificate_name, e.certificate_id)
    serving = (
        f"It still serves version {e.deployed_version}."
        if e.deployed_version
        else "No version of this certificate is deployed there yet."
    )
    message = (
        f"Deployment of {who} version {e.desired_version} to {clean(e.associated_resource_id, 300)} failed: "
        f"{clean(e.error) or 'no reason recorded'}. {serving} Certwright retries with backoff; check that the "
        f"resource exists and that the deployer role may update it (association {e.resource_id})."
    )
    subject = f"Certwright: deployment of '{e.certificate_name}' v{e.desired_version} failed"
    return Alert(
        e.detail_type,
        e.certificate_id or e.resource_id,
        subject_line(subject),
        message,
        (("associationId", e.resource_id),),
    )


def _crl_stale(e: CrlStale) -> Alert:
    who = _named("certificate authority", e.name, e.resource_id)
    part = f" (partition {e.partition})" if e.partition else ""
    message = (
        f"The CRL of {who}{part} could not be refreshed: {clean(e.reason) or 'no reason recorded'}. "
        f"The published CRL is valid until {e.next_update}; after that, relying parties that check CRLs reject "
        "certificates of this CA. Check the CRL publisher's errors and its access to the CA's KMS key and the "
        "CRL bucket."
    )
    subject = f"Certwright: CRL of CA '{e.name}' is going stale"
    return Alert(e.detail_type, e.resource_id, subject_line(subject), message)


def _suspended(e: AssociationSuspended) -> Alert:
    who = _named("certificate", e.certificate_name, e.certificate_id)
    target = clean(e.associated_resource_id, 300)
    message = (
        f"Association {e.resource_id} of {who} with {target} is SUSPENDED: the target's owner no longer consents "
        f"({clean(e.reason) or 'no reason recorded'}). Certwright deploys nothing there and nobody reads the "
        "private key through it; what the target serves now stays as it is. Check with the target's owner: if "
        "consent was withdrawn on purpose, delete the association; otherwise restore the certwright:consent tag "
        "naming the certificate, and Certwright resumes at its next deployment attempt."
    )
    subject = f"Certwright: association of '{e.certificate_name}' suspended (consent withdrawn)"
    return Alert(
        e.detail_type,
        e.certificate_id or e.resource_id,
        subject_line(subject),
        message,
        (("associationId", e.resource_id),),
    )


def _endpoint_unhealthy(e: EndpointUnhealthy) -> Alert:
    who = _named("certificate", e.certificate_name, e.certificate_id)
    where = clean(e.endpoint, 300)
    served = f"it serves serial {clean(e.served_serial, 80)}" if e.served_serial else "no certificate could be read"
    expected = f" (CURRENT is serial {clean(e.expected_serial, 80)})" if e.expected_serial else ""
    found = "; ".join(clean(f, 300) for f in e.findings[:5]) or "no finding recorded"
    message = (
        f"Endpoint {where} of association {e.resource_id} ({who}, {clean(e.associated_resource_id, 300)}) is "
        f"unhealthy: {served}{expected}. Findings: {found}. Check it with `certwright diagnose {where}` (causes "
        "and fixes); Certwright tells you again only when the endpoint is healthy (EndpointHealthy)."
    )
    subject = f"Certwright: endpoint {e.endpoint} of '{e.certificate_name}' is unhealthy"
    return Alert(
        e.detail_type,
        e.certificate_id or e.resource_id,
        subject_line(subject),
        message,
        (("associationId", e.resource_id),),
    )


def _endpoint_healthy(e: EndpointHealthy) -> Alert:
    who = _named("certificate", e.certificate_name, e.certificate_id)
    where = clean(e.endpoint, 300)
    served = f", serving serial {clean(e.served_serial, 80)}" if e.served_serial else ""
    message = (
        f"Endpoint {where} of association {e.resource_id} ({who}, {clean(e.associated_resource_id, 300)}) is "
        f"healthy again{served}: the last probe found no error. Nothing to do; check the probe's details with "
        f"GET /associations/{e.resource_id}."
    )
    subject = f"Certwright: endpoint {e.endpoint} of '{e.certificate_name}' is healthy again"
    return Alert(
        e.detail_type,
        e.certificate_id or e.resource_id,
        subject_line(subject),
        message,
        (("associationId", e.resource_id),),
    )


_FORMATTERS: dict[type[DomainEvent], Callable[[DomainEvent], Alert]] = {
    CertificateExpiring: _expiring,  # type: ignore[dict-item]
    CertificateExpired: _expired,  # type: ignore[dict-item]
    RenewalFailed: _renewal_failed,  # type: ignore[dict-item]
    RenewalOverdue: _overdue,  # type: ignore[dict-item]
    DeploymentFailed: _deployment_failed,  # type: ignore[dict-item]
    CrlStale: _crl_stale,  # type: ignore[dict-item]
    AssociationSuspended: _suspended,  # type: ignore[dict-item]
    EndpointUnhealthy: _endpoint_unhealthy,  # type: ignore[dict-item]
    EndpointHealthy: _endpoint_healthy,  # type: ignore[dict-item]
}

ALERT_TYPES = tuple(cls.detail_type for cls in _FORMATTERS)


def alert_for(event: DomainEvent) -> Alert | None:
    """The alert `event` stands for, or None when it is not one people are told about."""
    formatter = _FORMATTERS.get(type(event))
    return formatter(event) if formatter else None

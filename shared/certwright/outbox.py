"""The outbox: a table change (the row before and after, typed) becomes the domain events it stands for; pure.

The table is the only place state is written; this translation, run on the table's stream, is the only place
events come from. It never reads the storage format: the adapters decode each stream image with the codec that
wrote the row (certwright.adapters.dynamodb_images) into one of the `Row` types below, or into None when the
record has no image (an insert's missing old one, a removal's missing new one) or holds a row that stands for
no event. `events_for` then compares domain values, so a change in one record yields every event it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from certwright.acme.resources import Authorization, Status
from certwright.domain.association import Association, AssociationState, DeploymentState
from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.ca_bundle import CaBundleVersion
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion
from certwright.domain.crl import CrlState
from certwright.domain.revocation import Revocation
from certwright.domain.stages import Stage
from certwright.errors import CorruptRowError
from certwright.events import (
    AcmeChallengeRequested,
    AssociationCreated,
    AssociationDeleted,
    AssociationResumed,
    AssociationSuspended,
    CaBundleVersionCreated,
    CertificateAuthorityCreated,
    CertificateAuthorityCrlSettingsChanged,
    CertificateAuthorityDeleted,
    CertificateAuthorityVersionCreated,
    CertificateAuthorityVersionRevoked,
    CertificateDeleted,
    CertificateExpired,
    CertificateExpiring,
    CertificateVersionCreated,
    CertificateVersionFailed,
    CertificateVersionRevoked,
    CertificateVersionStageChanged,
    CrlPublished,
    CrlStale,
    DeploymentFailed,
    DeploymentSucceeded,
    DomainEvent,
    EndpointHealthy,
    EndpointUnhealthy,
    RenewalFailed,
    RenewalOverdue,
)

# -- the rows the outbox reads: a domain object and the row version it was stored at ---------------------------


@dataclass(frozen=True)
class AuthorityRow:
    authority: CertificateAuthority
    row_version: int


@dataclass(frozen=True)
class CertificateRow:
    certificate: Certificate
    row_version: int


@dataclass(frozen=True)
class CertificateVersionRow:
    version: CertificateVersion
    row_version: int
    # Why a reserved version was failed (the row keeps it beside the version; empty when none was recorded).
    failure_reason: str = ""


@dataclass(frozen=True)
class AssociationRow:
    association: Association
    row_version: int


@dataclass(frozen=True)
class CrlRow:
    state: CrlState
    row_version: int


@dataclass(frozen=True)
class CaBundleVersionRow:
    version: CaBundleVersion
    # The bundle's name when the version was written (the version row carries it for the event).
    bundle_name: str
    row_version: int


@dataclass(frozen=True)
class AcmeAuthorizationRow:
    authorization: Authorization
    row_version: int


Row = (
    AuthorityRow
    | CertificateRow
    | CertificateVersionRow
    | AssociationRow
    | CrlRow
    | CaBundleVersionRow
    | AcmeAuthorizationRow
)

R = TypeVar(
    "R",
    AuthorityRow,
    CertificateRow,
    CertificateVersionRow,
    AssociationRow,
    CrlRow,
    CaBundleVersionRow,
    AcmeAuthorizationRow,
)


def events_for(record_id: str, before: Row | None, after: Row | None) -> list[DomainEvent]:
    """The events one stream record stands for; `record_id` (the stream's eventID) makes event ids stable.

    `after` None is a removal (a delete, or a TTL expiry); `before` None is an insertion. Both rows of one record
    are of one kind (one key holds one kind of row); anything else is a corrupt record (CorruptRowError).
    """
    row = after if after is not None else before
    if row is None:
        return []
    if before is not None and after is not None and type(before) is not type(after):
        raise CorruptRowError(f"stream record {record_id} changes a {_kind(before)} into a {_kind(after)}")
    version = row.row_version
    produced: list[DomainEvent]
    if isinstance(row, AuthorityRow):
        old_ca, new_ca = _as(before, AuthorityRow), _as(after, AuthorityRow)
        produced = _authority(old_ca, new_ca, version) + _authority_crl_settings(old_ca, new_ca, version)
    elif isinstance(row, CertificateRow):
        produced = _certificate(_as(before, CertificateRow), _as(after, CertificateRow), version)
    elif isinstance(row, CertificateVersionRow):
        produced = _certificate_version(_as(before, CertificateVersionRow), _as(after, CertificateVersionRow), version)
    elif isinstance(row, AssociationRow):
        produced = _association(_as(before, AssociationRow), _as(after, AssociationRow), version)
    elif isinstance(row, CrlRow):
        produced = _crl(_as(before, CrlRow), _as(after, CrlRow), version)
    elif isinstance(row, AcmeAuthorizationRow):
        produced = _acme_authorization(_as(before, AcmeAuthorizationRow), _as(after, AcmeAuthorizationRow), version)
    else:
        produced = _ca_bundle_version(_as(before, CaBundleVersionRow), _as(after, CaBundleVersionRow), version)
    return [replace(event, event_id=f"{record_id}:{index}") for index, event in enumerate(produced)]


def _as(row: Row | None, kind: type[R]) -> R | None:
    return row if isinstance(row, kind) else None


def _kind(row: Row) -> str:
    return type(row).__name__


def _iso_revoked(revocation: Revocation) -> str:
    return revocation.revoked_at.isoformat()


def _stages(stages: frozenset[Stage]) -> tuple[str, ...]:
    # As the row lists them (sorted), so an event compares equal however often the row was written.
    return tuple(sorted(stage.value for stage in stages))


# -- authorities -----------------------------------------------------------------------------------------------


def _authority(before: AuthorityRow | None, after: AuthorityRow | None, version: int) -> list[DomainEvent]:
    if after is None:
        return []
    old = before.authority if before is not None else None
    ca = after.authority
    current = ca.current_version
    if current is not None and current.revocation is not None:
        was_revoked = old is not None and old.current_version is not None and old.current_version.revocation
        if not was_revoked:
            if ca.issuer_id is None:
                raise CorruptRowError(f"root CA {ca.id} is stored revoked; only subordinate CAs are revocable")
            return [
                CertificateAuthorityVersionRevoked(
                    "",
                    ca.id,
                    version,
                    version_number=current.version_number,
                    serial_number=current.serial_number,
                    issuer_ca_id=ca.issuer_id,
                    reason=current.revocation.reason.value,
                    revoked_at=_iso_revoked(current.revocation),
                    name=ca.name,
                )
            ]
    old_number = old.current_version.version_number if old is not None and old.current_version else 0
    # A new CURRENT version, or a promoted / rolled-back one: bundles and CRLs follow whichever is CURRENT now.
    if old_number and current is not None and current.version_number != old_number:
        return [
            CertificateAuthorityVersionCreated(
                "", ca.id, version, version_number=current.version_number, serial_number=current.serial_number
            )
        ]
    old_state = old.lifecycle_state if old is not None else None
    if ca.lifecycle_state is LifecycleState.DELETED and old_state is not LifecycleState.DELETED:
        return [CertificateAuthorityDeleted("", ca.id, version, name=ca.name)]
    # Only the first activation creates it: a cancelled deletion also returns a CA to ACTIVE.
    if ca.lifecycle_state is not LifecycleState.ACTIVE or old_state not in (
        None,
        LifecycleState.CREATING,
        LifecycleState.PENDING_ACTIVATION,
    ):
        return []
    if current is None:
        raise CorruptRowError(f"CA {ca.id} is stored ACTIVE without a certificate")
    return [CertificateAuthorityCreated("", ca.id, version, name=ca.name, serial_number=current.serial_number)]


def _authority_crl_settings(before: AuthorityRow | None, after: AuthorityRow | None, version: int) -> list[DomainEvent]:
    """Changed crlSettings of a CA that stays (beside whatever else the same write announces)."""
    if before is None or after is None:
        return []
    ca = after.authority
    if before.authority.crl_settings == ca.crl_settings or ca.lifecycle_state is LifecycleState.DELETED:
        return []
    return [
        CertificateAuthorityCrlSettingsChanged("", ca.id, version, name=ca.name, crl_enabled=ca.crl_settings.enabled)
    ]


# -- certificate versions --------------------------------------------------------------------------------------


def _certificate_version(
    before: CertificateVersionRow | None, after: CertificateVersionRow | None, version: int
) -> list[DomainEvent]:
    if after is None:
        return []
    old = before.version if before is not None else None
    new = after.version
    certificate_id, number = new.certificate_id, new.version_number
    if new.revocation is not None and (old is None or old.revocation is None):
        if new.issuer_ca_id is None:
            raise CorruptRowError(f"version {number} of {certificate_id} is stored revoked without an issuer")
        return [
            CertificateVersionRevoked(
                "",
                certificate_id,
                version,
                version_number=number,
                serial_number=new.serial_number,
                issuer_ca_id=new.issuer_ca_id,
                reason=new.revocation.reason.value,
                revoked_at=_iso_revoked(new.revocation),
            )
        ]
    old_stages = _stages(old.stages) if old is not None else ()
    new_stages = _stages(new.stages)
    if new_stages == (Stage.FAILED.value,) and old_stages != new_stages:
        return [
            CertificateVersionFailed("", certificate_id, version, version_number=number, reason=after.failure_reason)
        ]
    published_before = old is not None and bool(old.certificate_pem)
    if new.certificate_pem and not published_before:
        return [
            CertificateVersionCreated(
                "",
                certificate_id,
                version,
                version_number=number,
                serial_number=new.serial_number,
                stages=new_stages,
                not_after=new.validity.not_after.isoformat(),
            )
        ]
    if published_before and old_stages != new_stages:
        return [
            CertificateVersionStageChanged(
                "", certificate_id, version, version_number=number, old_stages=old_stages, new_stages=new_stages
            )
        ]
    return []


# -- associations ----------------------------------------------------------------------------------------------


def _association(before: AssociationRow | None, after: AssociationRow | None, version: int) -> list[DomainEvent]:
    if after is None:
        if before is None:
            return []
        gone = before.association
        return [
            AssociationDeleted(
                "",
                gone.id,
                version,
                certificate_id=gone.certificate_id,
                associated_resource_id=gone.associated_resource_id,
                association_type=gone.association_type.value,
                listener_role=gone.listener_role.value,
                deployed_version=gone.deployment.deployed_version,
                deployed_acm_arn=gone.deployment.deployed_acm_arn,
            )
        ]
    new = after.association
    if before is None:
        return [
            AssociationCreated(
                "",
                new.id,
                version,
                certificate_id=new.certificate_id,
                associated_resource_id=new.associated_resource_id,
                association_type=new.association_type.value,
            )
        ]
    # Consent, deployment and the endpoint's health are separate facts: a write that changed several announces
    # each, consent first.
    old = before.association
    return [
        *_association_consent(old, new, version),
        *_deployment(old, new, version),
        *_association_probe(old, new, version),
    ]


def _association_consent(old: Association, new: Association, version: int) -> list[DomainEvent]:
    """An association whose target's consent went away (SUSPENDED) or came back / was confirmed (ACTIVE)."""
    if new.state is old.state:
        return []
    if new.state is AssociationState.SUSPENDED:
        return [
            AssociationSuspended(
                "",
                new.id,
                version,
                certificate_id=new.certificate_id,
                certificate_name=new.certificate_name,
                associated_resource_id=new.associated_resource_id,
                association_type=new.association_type.value,
                reason=new.state_reason or "",
            )
        ]
    if new.state is AssociationState.ACTIVE:
        return [
            AssociationResumed(
                "",
                new.id,
                version,
                certificate_id=new.certificate_id,
                associated_resource_id=new.associated_resource_id,
                previous_state=old.state.value,
            )
        ]
    return []


def _deployment(old: Association, new: Association, version: int) -> list[DomainEvent]:
    was, now = old.deployment, new.deployment
    if now.state is DeploymentState.DEPLOYED and (
        was.state is not DeploymentState.DEPLOYED or was.deployed_version != now.deployed_version
    ):
        if now.deployed_version is None:
            raise CorruptRowError(f"association {new.id} is stored DEPLOYED without a deployed version")
        return [
            DeploymentSucceeded(
                "",
                new.id,
                version,
                certificate_id=new.certificate_id,
                associated_resource_id=new.associated_resource_id,
                deployed_version=now.deployed_version,
                serial_number=now.deployed_serial_number,
            )
        ]
    if now.state is DeploymentState.FAILED and (
        was.state is not DeploymentState.FAILED or was.last_error != now.last_error
    ):
        return [
            DeploymentFailed(
                "",
                new.id,
                version,
                certificate_id=new.certificate_id,
                certificate_name=new.certificate_name,
                associated_resource_id=new.associated_resource_id,
                desired_version=now.desired_version,
                deployed_version=now.deployed_version,
                error=now.last_error or "",
            )
        ]
    return []


def _association_probe(old: Association, new: Association, version: int) -> list[DomainEvent]:
    """A change of the endpoint's health (services/probes.py): once per change, never on every probe."""
    was, now = old.probe, new.probe
    if now is None or (was is not None and was.healthy == now.healthy):
        return []
    endpoint = new.endpoint.address if new.endpoint is not None else ""
    if not now.healthy:
        return [
            EndpointUnhealthy(
                "",
                new.id,
                version,
                certificate_id=new.certificate_id,
                certificate_name=new.certificate_name,
                associated_resource_id=new.associated_resource_id,
                endpoint=endpoint,
                served_serial=now.served_serial,
                expected_serial=now.expected_serial,
                findings=tuple(f"{f.code}: {f.message}" for f in now.findings if f.severity == "error"),
            )
        ]
    if was is None:
        return []  # healthy from its first probe: nothing recovered
    return [
        EndpointHealthy(
            "",
            new.id,
            version,
            certificate_id=new.certificate_id,
            certificate_name=new.certificate_name,
            associated_resource_id=new.associated_resource_id,
            endpoint=endpoint,
            served_serial=now.served_serial,
        )
    ]


# -- certificates: the sweep's bookkeeping and scheduled deletion ----------------------------------------------


def _certificate(before: CertificateRow | None, after: CertificateRow | None, version: int) -> list[DomainEvent]:
    if before is None or after is None:
        return []
    old, new = before.certificate, after.certificate
    if new.lifecycle_state is LifecycleState.DELETED:
        # The sweep carried out a scheduled deletion; nothing else is announced for a tombstone.
        deleted = old.lifecycle_state is not LifecycleState.DELETED
        return [CertificateDeleted("", new.id, version, name=new.name)] if deleted else []
    was, now = old.sweep, new.sweep
    renews_itself = new.renewal_rule is not None and new.config_type is CertificateConfigType.ISSUED_BY_INTERNAL_CA
    produced: list[DomainEvent] = [
        CertificateExpiring(
            "",
            new.id,
            version,
            certificate_name=new.name,
            version_number=alert.version_number,
            not_after=alert.not_after,
            threshold=alert.threshold,
            renews_itself=renews_itself,
        )
        for alert in now.expiry_alerts
        if alert.announced and alert not in was.expiry_alerts
    ]
    expired = now.expired_alert
    if expired is not None and expired != was.expired_alert:
        produced.append(
            CertificateExpired(
                "",
                new.id,
                version,
                certificate_name=new.name,
                version_number=expired.version_number,
                not_after=expired.not_after,
                renews_itself=renews_itself,
            )
        )
    if now.renewal_failures > was.renewal_failures:
        produced.append(
            RenewalFailed(
                "",
                new.id,
                version,
                certificate_name=new.name,
                attempt=now.renewal_failures,
                reason=now.last_error or "",
            )
        )
    if now.overdue_alerted_for and now.overdue_alerted_for != was.overdue_alerted_for:
        produced.append(
            RenewalOverdue(
                "",
                new.id,
                version,
                certificate_name=new.name,
                due_at=now.overdue_alerted_for,
                current_version=new.current_version_number,
            )
        )
    return produced


# -- CRLs and CA bundles ---------------------------------------------------------------------------------------


def _crl(before: CrlRow | None, after: CrlRow | None, version: int) -> list[DomainEvent]:
    """CRL state rows: a newer CRL in S3, or one going stale unrefreshed."""
    if after is None:
        return []
    old, new = (before.state if before is not None else None), after.state
    produced: list[DomainEvent] = []
    if new.published_crl_number > (old.published_crl_number if old is not None else 0):
        if new.this_update is None or new.next_update is None:
            raise CorruptRowError(f"CRL {new.published_crl_number} of CA {new.ca_id} is stored without its times")
        produced.append(
            CrlPublished(
                "",
                new.ca_id,
                version,
                partition=new.partition,
                crl_number=new.published_crl_number,
                this_update=new.this_update.isoformat(),
                next_update=new.next_update.isoformat(),
                object_key=new.object_key,
                serials=new.serials,
                serial_count=new.serial_count,
            )
        )
    stale = new.stale_alerted_for
    if stale and stale != (old.stale_alerted_for if old is not None else None):
        produced.append(
            CrlStale(
                "",
                new.ca_id,
                version,
                name=new.ca_name,
                partition=new.partition,
                next_update=stale,
                reason=new.last_error,
            )
        )
    return produced


def _ca_bundle_version(
    before: CaBundleVersionRow | None, after: CaBundleVersionRow | None, version: int
) -> list[DomainEvent]:
    # Only the version's first write creates it; later writes change its stages (CURRENT -> PREVIOUS ...).
    if after is None or before is not None:
        return []
    return [
        CaBundleVersionCreated(
            "", after.version.bundle_id, version, version_number=after.version.version_number, name=after.bundle_name
        )
    ]


def _acme_authorization(
    before: AcmeAuthorizationRow | None, after: AcmeAuthorizationRow | None, version: int
) -> list[DomainEvent]:
    """A challenge that became processing (the client asked for it) is to be validated."""
    if after is None:
        return []
    was = {c.type: c.status for c in before.authorization.challenges} if before is not None else {}
    z = after.authorization
    return [
        AcmeChallengeRequested("", z.id, version, challenge_type=c.type.value, identifier=z.identifier)
        for c in z.challenges
        if c.status is Status.PROCESSING and was.get(c.type) is not Status.PROCESSING
    ]

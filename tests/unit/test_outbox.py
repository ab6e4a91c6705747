"""The outbox's translation, pure: typed rows before and after one change become exactly the events it stands for.

Rows are built from domain objects (no table, no JSON); tests/outbox/test_stream_images.py proves that moto's own
stream records decode into these very rows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from certwright.acme.resources import Authorization, Challenge, Status
from certwright.domain.association import (
    AssociationState,
    DeploymentState,
    Endpoint,
    Probe,
    ProbeFinding,
)
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import (
    Revocation,
    RevocationReason,
)
from certwright.domain.crl import CrlState
from certwright.domain.crl_settings import CrlSettings
from certwright.domain.durations import Duration
from certwright.domain.renewal import RenewalRule
from certwright.domain.stages import Stage
from certwright.domain.sweep import ExpiredAlert, ExpiryAlert, SweepState
from certwright.errors import CorruptRowError
from certwright.events import (
    EVENT_TYPES,
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
    DeploymentFailed,
    DeploymentSucceeded,
    DomainEvent,
    EndpointHealthy,
    EndpointUnhealthy,
    RenewalFailed,
    RenewalOverdue,
    from_detail,
)
from certwright.outbox import (
    AcmeAuthorizationRow,
    AssociationRow,
    AuthorityRow,
    Row,
    events_for,
)
from certwright.ports.acme_challenges import ChallengeType

from tests.unit.outbox_rows import (
    CERT_ID,
    COPY,
    LISTENER,
    NOW,
    PEM,
    association_row,
    authority_row,
    bundle_version_row,
    certificate_row,
    crl_row,
    published,
    version_row,
)


def only(events: list[DomainEvent]) -> DomainEvent:
    assert len(events) == 1, events
    return events[0]


# -- authorities -------------------------------------------------------------------------------------------------


def test_the_first_activation_of_an_authority_is_its_creation() -> None:
    created = only(events_for("r1", authority_row(LifecycleState.CREATING, 1), authority_row(LifecycleState.ACTIVE, 2)))
    assert created == CertificateAuthorityCreated("r1:0", "ca-1", 2, name="issuing", serial_number="ca5e1")
    assert events_for("r0", None, authority_row(LifecycleState.CREATING, 1)) == []


@pytest.mark.parametrize("before", [LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION])
def test_an_authority_that_was_active_before_is_not_created_again(before: LifecycleState) -> None:
    # PENDING_DELETION -> ACTIVE is a cancelled deletion, not a new authority.
    assert events_for("r2", authority_row(before, 3), authority_row(LifecycleState.ACTIVE, 4)) == []


def test_an_authority_renewal_revocation_and_deletion() -> None:
    active = authority_row(LifecycleState.ACTIVE, 3)
    renewed = only(events_for("v1", active, authority_row(LifecycleState.ACTIVE, 4, version=2)))
    assert renewed == CertificateAuthorityVersionCreated("v1:0", "ca-1", 4, version_number=2, serial_number="ca5e2")

    revoked_row = authority_row(LifecycleState.ACTIVE, 5, revoked=True)
    revoked = only(events_for("v2", active, revoked_row))
    assert revoked == CertificateAuthorityVersionRevoked(
        "v2:0", "ca-1", 5, 1, "ca5e1", "root-1", "KEY_COMPROMISE", NOW.isoformat(), "issuing"
    )
    assert events_for("v3", revoked_row, replace(revoked_row, row_version=6)) == [], "revoked once"

    deleted = only(events_for("v4", active, authority_row(LifecycleState.DELETED, 7)))
    assert deleted == CertificateAuthorityDeleted("v4:0", "ca-1", 7, name="issuing")
    assert events_for("v5", active, None) == [], "a removed row is no event"


def with_crls(row: AuthorityRow, row_version: int, settings: CrlSettings) -> AuthorityRow:
    return AuthorityRow(replace(row.authority, crl_settings=settings, row_version=row_version), row_version)


def test_changed_crl_settings_are_announced_for_the_crl_publisher() -> None:
    active = authority_row(LifecycleState.ACTIVE, 3)
    off = with_crls(active, 4, CrlSettings(enabled=False))
    assert only(events_for("s1", active, off)) == CertificateAuthorityCrlSettingsChanged(
        "s1:0", "ca-1", 4, name="issuing", crl_enabled=False
    )
    shorter = with_crls(active, 4, CrlSettings(validity=Duration.parse("PT6H")))
    assert only(events_for("s2", active, shorter)).crl_enabled is True  # type: ignore[attr-defined]
    assert events_for("s3", off, replace(off, row_version=5)) == [], "unchanged settings are no event"
    gone = with_crls(authority_row(LifecycleState.DELETED, 5), 5, CrlSettings(enabled=False))
    assert only(events_for("s4", active, gone)) == CertificateAuthorityDeleted("s4:0", "ca-1", 5, name="issuing")
    # One write that activates the CA and changes its settings announces both (neither hides the other).
    creating = with_crls(authority_row(LifecycleState.PENDING_ACTIVATION, 1), 1, CrlSettings(enabled=False))
    both = events_for("s5", creating, authority_row(LifecycleState.ACTIVE, 2))
    assert [e.detail_type for e in both] == ["CertificateAuthorityCreated", "CertificateAuthorityCrlSettingsChanged"]
    assert [e.event_id for e in both] == ["s5:0", "s5:1"]


def test_impossible_authority_rows_are_corrupt_not_silent() -> None:
    with pytest.raises(CorruptRowError, match="root CA"):
        events_for(
            "c1",
            authority_row(LifecycleState.ACTIVE, 1),
            authority_row(LifecycleState.ACTIVE, 2, revoked=True, issuer=None),
        )
    active_without_certificate = replace(authority_row(LifecycleState.ACTIVE, 2).authority, current_version=None)
    with pytest.raises(CorruptRowError, match="without a certificate"):
        events_for("c2", authority_row(LifecycleState.CREATING, 1), AuthorityRow(active_without_certificate, 2))


# -- certificate versions ----------------------------------------------------------------------------------------


def test_a_reserved_version_says_nothing_and_its_publication_says_created() -> None:
    reserved = version_row(1)
    assert events_for("r1", None, reserved) == []
    event = only(events_for("r2", reserved, published(2)))
    assert event == CertificateVersionCreated(
        "r2:0", CERT_ID, 2, 2, "5eed", ("CURRENT", "LATEST"), (NOW + timedelta(days=30)).isoformat()
    )


def test_a_stage_change_of_a_published_version_is_one_stage_changed() -> None:
    previous = version_row(3, certificate_pem=PEM, stages=frozenset({Stage.PREVIOUS}))
    event = only(events_for("r3", published(2), previous))
    assert event == CertificateVersionStageChanged("r3:0", CERT_ID, 3, 2, ("CURRENT", "LATEST"), ("PREVIOUS",))


def test_a_failed_reservation_is_one_version_failed_with_its_reason() -> None:
    failed = version_row(2, stages=frozenset({Stage.FAILED}), failure_reason="TransientError: KMS Sign")
    event = only(events_for("r4", version_row(1), failed))
    assert event == CertificateVersionFailed("r4:0", CERT_ID, 2, 2, "TransientError: KMS Sign")
    # Written again unchanged (a retried write): nothing new happened.
    assert events_for("r5", failed, failed) == []


def test_a_revoked_version_names_its_issuer_reason_and_time() -> None:
    revoked = published(3, revocation=Revocation(RevocationReason.SUPERSEDED, NOW))
    event = only(events_for("r6", published(2), revoked))
    assert event == CertificateVersionRevoked("r6:0", CERT_ID, 3, 2, "5eed", "ca-1", "SUPERSEDED", NOW.isoformat())
    assert events_for("r7", revoked, replace(revoked, row_version=4)) == []
    with pytest.raises(CorruptRowError, match="without an issuer"):
        events_for(
            "r8", published(2), published(3, issuer_ca_id=None, revocation=Revocation(RevocationReason.SUPERSEDED, NOW))
        )


def test_changes_that_are_no_state_change_say_nothing() -> None:
    assert events_for("r9", published(2), published(3)) == []
    assert events_for("r10", published(2), None) == []


# -- associations ------------------------------------------------------------------------------------------------


def test_association_insert_and_removal() -> None:
    created = only(events_for("a1", None, association_row(1)))
    assert created == AssociationCreated("a1:0", "assoc-1", 1, CERT_ID, LISTENER, "LOAD_BALANCER_LISTENER")
    deployed = association_row(4, deployed_version=1, state=DeploymentState.DEPLOYED, deployed_acm_arn=COPY)
    deleted = only(events_for("a2", deployed, None))
    assert deleted == AssociationDeleted(
        "a2:0",
        "assoc-1",
        4,
        CERT_ID,
        LISTENER,
        "LOAD_BALANCER_LISTENER",
        "SNI",
        deployed_version=1,
        deployed_acm_arn=COPY,
    )
    assert events_for("a3", None, None) == []


def test_deployment_outcomes_are_announced_once_per_change() -> None:
    pending = association_row(1)
    deploying = association_row(2, state=DeploymentState.DEPLOYING, attempts=1)
    assert events_for("d1", pending, deploying) == []

    deployed = association_row(3, state=DeploymentState.DEPLOYED, deployed_version=1, deployed_serial_number="5eed")
    succeeded = only(events_for("d2", deploying, deployed))
    assert succeeded == DeploymentSucceeded("d2:0", "assoc-1", 3, CERT_ID, LISTENER, 1, "5eed")
    verified_again = association_row(4, state=DeploymentState.DEPLOYED, deployed_version=1, verified_at=NOW)
    assert events_for("d3", deployed, verified_again) == []

    failed = association_row(5, **_failed("x"))
    assert only(events_for("d4", deployed, failed)) == DeploymentFailed(
        "d4:0", "assoc-1", 5, CERT_ID, "web", LISTENER, desired_version=2, deployed_version=1, error="x"
    )
    assert events_for("d5", failed, association_row(6, **_failed("x"))) == [], "the same failure again"
    assert isinstance(only(events_for("d6", failed, association_row(6, **_failed("y")))), DeploymentFailed)


def _failed(error: str) -> dict[str, Any]:
    return {"state": DeploymentState.FAILED, "desired_version": 2, "deployed_version": 1, "last_error": error}


def test_consent_going_and_coming_back() -> None:
    suspended = association_row(2, consent=AssociationState.SUSPENDED)
    event = only(events_for("k1", association_row(1), suspended))
    assert event == AssociationSuspended(
        "k1:0", "assoc-1", 2, CERT_ID, "web", LISTENER, "LOAD_BALANCER_LISTENER", "the consent tag is gone"
    )
    resumed = only(events_for("k2", suspended, association_row(3)))
    assert resumed == AssociationResumed("k2:0", "assoc-1", 3, CERT_ID, LISTENER, previous_state="SUSPENDED")
    pending = association_row(1, consent=AssociationState.PENDING_CONFIRMATION)
    assert isinstance(only(events_for("k3", pending, association_row(2))), AssociationResumed), "a host confirmed"


def test_one_write_that_changed_consent_and_deployment_announces_both() -> None:
    """The old translator returned the consent event alone and lost the deployment's outcome."""
    pending_host = association_row(1, consent=AssociationState.PENDING_CONFIRMATION)
    confirmed_and_deployed = association_row(
        2, state=DeploymentState.DEPLOYED, deployed_version=1, deployed_serial_number="5eed"
    )
    events = events_for("b1", pending_host, confirmed_and_deployed)
    assert [type(e) for e in events] == [AssociationResumed, DeploymentSucceeded]
    assert [e.event_id for e in events] == ["b1:0", "b1:1"]

    deployed = association_row(3, state=DeploymentState.DEPLOYED, deployed_version=1)
    suspended_and_failed = replace(
        association_row(4, consent=AssociationState.SUSPENDED, **_failed("no consent")), row_version=4
    )
    assert [type(e) for e in events_for("b2", deployed, suspended_and_failed)] == [
        AssociationSuspended,
        DeploymentFailed,
    ]


# -- certificates: the sweep's bookkeeping and deletion ----------------------------------------------------------


def test_expiry_alerts_announce_only_the_announced_ones_once() -> None:
    quiet = ExpiryAlert("P30D", 1, (NOW + timedelta(days=5)).isoformat(), announced=False)
    loud = ExpiryAlert("P7D", 1, (NOW + timedelta(days=5)).isoformat())
    after = certificate_row(4, sweep=SweepState(expiry_alerts=(quiet, loud)))
    event = only(events_for("s1", certificate_row(3), after))
    assert event == CertificateExpiring("s1:0", CERT_ID, 4, "web", 1, loud.not_after, "P7D", renews_itself=False)
    assert events_for("s2", after, certificate_row(5, sweep=SweepState(expiry_alerts=(quiet, loud)))) == []


def test_renews_itself_is_reported_for_certificates_with_a_renewal_rule() -> None:
    rule = RenewalRule(Duration.parse("P20D"), Duration.parse("P5D"))
    alert = ExpiryAlert("P7D", 1, NOW.isoformat())
    before = certificate_row(3, renewal_rule=rule)
    event = only(events_for("s3", before, certificate_row(4, renewal_rule=rule, sweep=SweepState((alert,)))))
    assert isinstance(event, CertificateExpiring)
    assert event.renews_itself is True


def test_an_expired_current_version_is_announced_once() -> None:
    expired = certificate_row(4, sweep=SweepState(expired_alert=ExpiredAlert(1, NOW.isoformat())))
    event = only(events_for("x1", certificate_row(3), expired))
    assert event == CertificateExpired("x1:0", CERT_ID, 4, "web", 1, NOW.isoformat(), renews_itself=False)
    assert events_for("x2", expired, replace(expired, row_version=5)) == []


def test_renewal_failures_and_overdue_renewals() -> None:
    before = certificate_row(3)
    failing = certificate_row(4, sweep=SweepState(renewal_failures=1, last_error="ServiceUnavailable: KMS"))
    failed = only(events_for("f1", before, failing))
    assert failed == RenewalFailed("f1:0", CERT_ID, 4, "web", attempt=1, reason="ServiceUnavailable: KMS")
    assert events_for("f2", failing, certificate_row(5, sweep=SweepState())) == [], "a success is no alert"

    due = NOW.isoformat()
    overdue = certificate_row(6, sweep=SweepState(overdue_alerted_for=due))
    event = only(events_for("f3", before, overdue))
    assert event == RenewalOverdue("f3:0", CERT_ID, 6, "web", due_at=due, current_version=1)
    assert events_for("f4", overdue, certificate_row(7, sweep=SweepState(overdue_alerted_for=due))) == []


def test_a_lease_or_a_new_check_time_is_no_event() -> None:
    leased = certificate_row(4, sweep=SweepState(lease_owner="sweep-a", lease_until=NOW), next_check_at=NOW)
    assert events_for("l1", certificate_row(3), leased) == []
    assert events_for("l2", None, certificate_row(3)) == [], "a new certificate row carries no bookkeeping yet"


def test_a_carried_out_deletion_is_one_certificate_deleted() -> None:
    pending = certificate_row(3, lifecycle_state=LifecycleState.PENDING_DELETION)
    tombstone = certificate_row(4, lifecycle_state=LifecycleState.DELETED)
    assert only(events_for("z1", pending, tombstone)) == CertificateDeleted("z1:0", CERT_ID, 4, name="web")
    assert events_for("z2", tombstone, certificate_row(5, lifecycle_state=LifecycleState.DELETED)) == []


# -- CRLs and CA bundles -----------------------------------------------------------------------------------------


def test_a_newer_crl_is_published_with_its_times_and_key() -> None:
    before = CrlState("ca-1", 0, "issuing", last_crl_number=3, published_crl_number=2, row_version=4)
    after = replace(before, published_crl_number=3, this_update=NOW, next_update=NOW + timedelta(days=1), row_version=5)
    event = only(events_for("c1", crl_row(before), crl_row(after)))
    assert event == CrlPublished(
        "c1:0", "ca-1", 5, 0, 3, NOW.isoformat(), (NOW + timedelta(days=1)).isoformat(), "crl/ca-1/0.crl", (), 0
    )
    with pytest.raises(CorruptRowError, match="without its times"):
        events_for("c2", crl_row(before), crl_row(replace(after, this_update=None)))


def test_a_new_ca_bundle_version_is_one_event_and_stage_changes_are_none() -> None:
    current = bundle_version_row(frozenset({Stage.CURRENT, Stage.LATEST}))
    assert only(events_for("rec-1", None, current)) == CaBundleVersionCreated(
        "rec-1:0", "cabundle-1", 1, version_number=2, name="trust"
    )
    assert events_for("rec-2", current, bundle_version_row(frozenset({Stage.PREVIOUS}), 2)) == []
    assert events_for("rec-3", current, None) == []


# -- one record, one kind; ids and the wire ----------------------------------------------------------------------


def test_a_record_whose_rows_are_of_two_kinds_is_corrupt() -> None:
    with pytest.raises(CorruptRowError, match="CertificateRow into a AssociationRow"):
        events_for("m1", certificate_row(3), association_row(4))


def test_event_ids_are_stable_per_record_and_distinct_within_one() -> None:
    after = certificate_row(
        4,
        sweep=SweepState(
            expiry_alerts=(ExpiryAlert("P7D", 1, NOW.isoformat()),), renewal_failures=1, overdue_alerted_for="t"
        ),
    )
    first, again = events_for("rec-9", certificate_row(3), after), events_for("rec-9", certificate_row(3), after)
    assert first == again, "a redelivered stream record yields the very same events"
    assert [e.event_id for e in first] == ["rec-9:0", "rec-9:1", "rec-9:2"]
    assert [type(e) for e in first] == [CertificateExpiring, RenewalFailed, RenewalOverdue]


def _probed(row_version: int, *, healthy: bool) -> AssociationRow:
    """A deployed association with an endpoint and its last probe (services/probes.py records it)."""
    row = association_row(row_version, state=DeploymentState.DEPLOYED, deployed_version=1)
    findings = () if healthy else (ProbeFinding("DEPLOYMENT_DRIFT", "error", "serving v1, CURRENT is v2"),)
    probe = Probe(NOW, "ab", healthy, findings, expected_serial="cd")
    return AssociationRow(replace(row.association, endpoint=Endpoint("10.0.0.7", 443), probe=probe), row_version)


def test_a_change_of_endpoint_health_is_announced_once() -> None:
    unhealthy = only(events_for("p1", _probed(2, healthy=True), _probed(3, healthy=False)))
    assert isinstance(unhealthy, EndpointUnhealthy)
    assert (unhealthy.endpoint, unhealthy.served_serial, unhealthy.expected_serial) == ("10.0.0.7:443", "ab", "cd")
    assert events_for("p2", _probed(3, healthy=False), _probed(4, healthy=False)) == []
    assert isinstance(only(events_for("p3", _probed(4, healthy=False), _probed(5, healthy=True))), EndpointHealthy)


def _authz_row(row_version: int, challenge: Status) -> AcmeAuthorizationRow:
    challenges = (Challenge(ChallengeType.HTTP_01, "t1", challenge), Challenge(ChallengeType.DNS_01, "t2"))
    z = Authorization("authz-1", "acct-1", "www.example.com", NOW + timedelta(days=7), challenges)
    return AcmeAuthorizationRow(z, row_version)


def test_a_challenge_asked_for_is_requested_once() -> None:
    (requested,) = events_for("z1", _authz_row(1, Status.PENDING), _authz_row(2, Status.PROCESSING))
    assert isinstance(requested, AcmeChallengeRequested)
    assert (requested.resource_id, requested.challenge_type, requested.identifier) == (
        "authz-1",
        "http-01",
        "www.example.com",
    )
    # Still processing (a retry recorded an attempt), decided, or a new authorization: nothing to validate.
    assert events_for("z2", _authz_row(2, Status.PROCESSING), _authz_row(3, Status.PROCESSING)) == []
    assert events_for("z3", _authz_row(3, Status.PROCESSING), _authz_row(4, Status.VALID)) == []
    assert events_for("z4", None, _authz_row(1, Status.PENDING)) == []
    assert events_for("z5", _authz_row(1, Status.PENDING), None) == []


ALL_CHANGES: list[tuple[Row | None, Row | None]] = [
    (authority_row(LifecycleState.CREATING, 1), authority_row(LifecycleState.ACTIVE, 2)),
    (authority_row(LifecycleState.ACTIVE, 2), authority_row(LifecycleState.ACTIVE, 3, version=2)),
    (authority_row(LifecycleState.ACTIVE, 2), authority_row(LifecycleState.ACTIVE, 3, revoked=True)),
    (authority_row(LifecycleState.ACTIVE, 2), authority_row(LifecycleState.DELETED, 3)),
    (
        authority_row(LifecycleState.ACTIVE, 2),
        with_crls(authority_row(LifecycleState.ACTIVE, 3), 3, CrlSettings(False)),
    ),
    (version_row(1), published(2)),
    (published(2), version_row(3, certificate_pem=PEM, stages=frozenset({Stage.PREVIOUS}))),
    (version_row(1), version_row(2, stages=frozenset({Stage.FAILED}), failure_reason="boom")),
    (published(2), published(3, revocation=Revocation(RevocationReason.SUPERSEDED, NOW))),
    (None, association_row(1)),
    (association_row(2, deployed_acm_arn=COPY, deployed_version=1), None),
    (
        association_row(1, consent=AssociationState.PENDING_CONFIRMATION),
        association_row(2, state=DeploymentState.DEPLOYED, deployed_version=1),
    ),
    (association_row(2), association_row(3, consent=AssociationState.SUSPENDED, **_failed("gone"))),
    (
        certificate_row(3),
        certificate_row(
            4,
            sweep=SweepState(
                expiry_alerts=(ExpiryAlert("P7D", 1, NOW.isoformat()),),
                renewal_failures=1,
                last_error="x",
                overdue_alerted_for="t",
                expired_alert=ExpiredAlert(1, NOW.isoformat()),
            ),
        ),
    ),
    (certificate_row(3), certificate_row(4, lifecycle_state=LifecycleState.DELETED)),
    (
        crl_row(CrlState("ca-1", 1, "issuing", row_version=1)),
        crl_row(
            CrlState(
                "ca-1",
                1,
                "issuing",
                1,
                1,
                NOW,
                NOW + timedelta(days=1),
                serials=("0a",),
                serial_count=1,
                stale_alerted_for=NOW.isoformat(),
                last_error="AccessDenied",
                row_version=2,
            )
        ),
    ),
    (None, bundle_version_row(frozenset({Stage.CURRENT}))),
    (_probed(2, healthy=True), _probed(3, healthy=False)),
    (_probed(3, healthy=False), _probed(4, healthy=True)),
    (_authz_row(1, Status.PENDING), _authz_row(2, Status.PROCESSING)),
]


def test_every_event_type_is_made_from_typed_rows_and_survives_eventbridge_json() -> None:
    produced = [e for index, (before, after) in enumerate(ALL_CHANGES) for e in events_for(f"w{index}", before, after)]
    assert {e.detail_type for e in produced} == set(EVENT_TYPES), "every event type has a change above"
    for event in produced:
        assert from_detail(event.detail_type, json.loads(json.dumps(event.to_detail()))) == event
        # A real value in every field the rows hold one for: no placeholder left by the translation.
        assert event.event_id and event.resource_id and event.row_version > 0

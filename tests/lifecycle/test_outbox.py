"""The outbox: each table change becomes exactly the domain events it stands for, with stable ids, and no secrets."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from certwright.adapters import dynamodb_codec as codec
from certwright.domain.association import Association, AssociationType, Deployment, DeploymentState, ListenerRole
from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion, Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.renewal import RenewalRule
from certwright.domain.stages import Stage
from certwright.domain.sweep import ExpiryAlert, SweepState
from certwright.events import (
    EVENT_TYPES,
    AssociationCreated,
    AssociationDeleted,
    CertificateAuthorityCreated,
    CertificateExpiring,
    CertificateVersionCreated,
    CertificateVersionFailed,
    CertificateVersionStageChanged,
    DeploymentFailed,
    DeploymentSucceeded,
    DomainEvent,
    RenewalFailed,
    RenewalOverdue,
    from_detail,
)
from certwright.outbox import events_for

from tests.conftest import ApiClient, Hierarchy, leaf_body
from tests.lifecycle.table_stream import StreamRecord, TableStream

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CERT_ID = "cert-outbox"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
COPY = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

Image = dict[str, Any]


# -- row images shaped like the table's (pk, sk, kind, data as JSON text, row_version as DynamoDB numbers) --------


def image(kind: str, pk: str, sk: str, data: dict[str, Any], row_version: int) -> Image:
    return {"pk": pk, "sk": sk, "kind": kind, "data": json.dumps(data), "row_version": Decimal(row_version)}


def version_image(row_version: int = 1, **changes: Any) -> Image:
    version = CertificateVersion(
        certificate_id=CERT_ID,
        version_number=2,
        stages=frozenset(),
        serial_number="5eed",
        validity=Validity(NOW, NOW + timedelta(days=30)),
        subject=Subject("www.example.com"),
        sans=(SubjectAlternativeName(SanType.DNS, "www.example.com"),),
        certificate_pem="",
        chain_pems=(),
        created_at=NOW,
        has_private_key=True,
    )
    data = codec.version_to_data(replace(version, **changes))
    return image("CERT_VERSION", f"CERT#{CERT_ID}", "V#00000002", data, row_version)


def certificate_image(row_version: int = 3, **changes: Any) -> Image:
    certificate = Certificate(
        id=CERT_ID,
        name="web",
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id="ca-1",
        subject=Subject("www.example.com"),
        sans=(SubjectAlternativeName(SanType.DNS, "www.example.com"),),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=Duration.parse("P30D"),
        renewal_rule=None,
        lifecycle_state=LifecycleState.ACTIVE,
        created_by="arn:aws:iam::123456789012:user/tester",
        created_at=NOW,
        current_version_number=1,
        latest_version_number=1,
    )
    return image(
        "CERT", f"CERT#{CERT_ID}", "C", codec.certificate_to_data(replace(certificate, **changes)), row_version
    )


def association_image(row_version: int = 1, **deployment: Any) -> Image:
    association = Association(
        id="assoc-1",
        certificate_id=CERT_ID,
        associated_resource_id=LISTENER,
        association_type=AssociationType.LOAD_BALANCER_LISTENER,
        created_by="arn:aws:iam::123456789012:user/tester",
        created_at=NOW,
        deployment=replace(Deployment(desired_version=1), **deployment),
        listener_role=ListenerRole.SNI,
        certificate_name="web",
    )
    return image("ASSOC", "ASSOC#assoc-1", "A", codec.association_to_data(association), row_version)


def authority_image(state: str, row_version: int) -> Image:
    data = {"id": "ca-1", "name": "issuing", "lifecycleState": state, "currentVersion": None}
    if state != "CREATING":
        data["currentVersion"] = {"versionNumber": 1, "serialNumber": "ca5e"}
    return image("CA", "CA#ca-1", "A", data, row_version)


def published_stages() -> frozenset[Stage]:
    return frozenset({Stage.CURRENT, Stage.LATEST})


def only(events: list[DomainEvent]) -> DomainEvent:
    assert len(events) == 1, events
    return events[0]


# -- authorities -------------------------------------------------------------------------------------------------


def test_the_first_activation_of_an_authority_is_its_creation() -> None:
    event = only(events_for("r1", authority_image("CREATING", 1), authority_image("ACTIVE", 2)))
    assert event == CertificateAuthorityCreated("r1:0", "ca-1", 2, "issuing", "ca5e")
    assert events_for("r0", None, authority_image("CREATING", 1)) == []


@pytest.mark.parametrize("before", ["ACTIVE", "PENDING_DELETION"])
def test_an_authority_that_was_active_before_is_not_created_again(before: str) -> None:
    # PENDING_DELETION -> ACTIVE is a cancelled deletion, not a new authority.
    assert events_for("r2", authority_image(before, 3), authority_image("ACTIVE", 4)) == []


# -- certificate versions ----------------------------------------------------------------------------------------


def test_a_reserved_version_says_nothing_and_its_publication_says_created() -> None:
    reserved = version_image(1)
    assert events_for("r1", None, reserved) == []
    published = version_image(2, certificate_pem=PEM, stages=published_stages())
    event = only(events_for("r2", reserved, published))
    assert isinstance(event, CertificateVersionCreated)
    assert (event.resource_id, event.version_number, event.serial_number) == (CERT_ID, 2, "5eed")
    assert event.stages == ("CURRENT", "LATEST")
    assert event.not_after == (NOW + timedelta(days=30)).isoformat()
    assert event.row_version == 2


def test_a_stage_change_of_a_published_version_is_one_stage_changed() -> None:
    current = version_image(2, certificate_pem=PEM, stages=published_stages())
    previous = version_image(3, certificate_pem=PEM, stages=frozenset({Stage.PREVIOUS}))
    event = only(events_for("r3", current, previous))
    assert isinstance(event, CertificateVersionStageChanged)
    assert (event.old_stages, event.new_stages, event.version_number) == (("CURRENT", "LATEST"), ("PREVIOUS",), 2)


def test_a_failed_reservation_is_one_version_failed() -> None:
    reserved = version_image(1)
    failed = image(
        "CERT_VERSION",
        reserved["pk"],
        reserved["sk"],
        {**json.loads(reserved["data"]), "stages": ["FAILED"], "failureReason": "TransientError: KMS Sign"},
        2,
    )
    event = only(events_for("r4", reserved, failed))
    assert isinstance(event, CertificateVersionFailed)
    assert (event.version_number, event.reason) == (2, "TransientError: KMS Sign")
    # Written again unchanged (a retried write): nothing new happened.
    assert events_for("r5", failed, failed) == []


def test_changes_that_are_no_state_change_say_nothing() -> None:
    published = version_image(2, certificate_pem=PEM, stages=published_stages())
    assert events_for("r6", published, version_image(3, certificate_pem=PEM, stages=published_stages())) == []
    assert events_for("r7", published, None) == []


# -- associations ------------------------------------------------------------------------------------------------


def test_association_insert_and_removal() -> None:
    created = only(events_for("a1", None, association_image(1)))
    assert created == AssociationCreated("a1:0", "assoc-1", 1, CERT_ID, LISTENER, "LOAD_BALANCER_LISTENER")
    deployed = association_image(4, deployed_version=1, state=DeploymentState.DEPLOYED, deployed_acm_arn=COPY)
    deleted = only(events_for("a2", deployed, None))
    assert isinstance(deleted, AssociationDeleted)
    assert (deleted.listener_role, deleted.deployed_version, deleted.deployed_acm_arn) == ("SNI", 1, COPY)
    assert deleted.row_version == 4


def test_a_removal_as_powertools_decodes_it_is_a_removal() -> None:
    # Powertools hands a REMOVE record's missing new image (and an INSERT's missing old one) as {}, not None.
    deployed = association_image(4, deployed_version=1, state=DeploymentState.DEPLOYED, deployed_acm_arn=COPY)
    deleted = only(events_for("a3", deployed, {}))
    assert isinstance(deleted, AssociationDeleted)
    assert (deleted.resource_id, deleted.deployed_acm_arn, deleted.row_version) == ("assoc-1", COPY, 4)
    assert events_for("a4", {}, association_image(1)) == events_for("a4", None, association_image(1))


@pytest.mark.parametrize(
    "row",
    [
        authority_image("ACTIVE", 2),
        version_image(2, certificate_pem=PEM, stages=published_stages()),
        certificate_image(3),
        association_image(2),
        image("CRL", "CRL#ca-1", "P#0", {"caId": "ca-1", "partition": 0, "publishedCrlNumber": 3}, 4),
        image("CA_BUNDLE_VERSION", "BUNDLE#b-1", "V#00000001", {"bundleId": "b-1", "versionNumber": 1}, 1),
    ],
    ids=lambda row: str(row["kind"]),
)
def test_every_kind_reads_an_empty_image_as_no_image(row: Image) -> None:
    """Removals (a delete or a TTL expiry) and insertions mean the same whether the missing image is None or {}."""
    assert events_for("e1", row, {}) == events_for("e1", row, None)
    assert events_for("e2", {}, row) == events_for("e2", None, row)


def test_deployment_outcomes_are_announced_once_per_change() -> None:
    pending = association_image(1)
    deploying = association_image(2, state=DeploymentState.DEPLOYING, attempts=1)
    assert events_for("d1", pending, deploying) == []

    deployed = association_image(3, state=DeploymentState.DEPLOYED, deployed_version=1, deployed_serial_number="5eed")
    succeeded = only(events_for("d2", deploying, deployed))
    assert isinstance(succeeded, DeploymentSucceeded)
    assert (succeeded.deployed_version, succeeded.serial_number) == (1, "5eed")
    verified_again = association_image(4, state=DeploymentState.DEPLOYED, deployed_version=1, verified_at=NOW)
    assert events_for("d3", deployed, verified_again) == []

    failed = association_image(5, state=DeploymentState.FAILED, desired_version=2, deployed_version=1, last_error="x")
    event = only(events_for("d4", verified_again, failed))
    assert isinstance(event, DeploymentFailed)
    assert (event.desired_version, event.deployed_version, event.error, event.certificate_name) == (2, 1, "x", "web")
    assert events_for("d5", failed, association_image(6, **_failed("x"))) == [], "the same failure again"
    assert isinstance(only(events_for("d6", failed, association_image(6, **_failed("y")))), DeploymentFailed)


def _failed(error: str) -> dict[str, Any]:
    return {"state": DeploymentState.FAILED, "desired_version": 2, "deployed_version": 1, "last_error": error}


# -- the sweep's bookkeeping -------------------------------------------------------------------------------------


def test_expiry_alerts_announce_only_the_announced_ones_once() -> None:
    quiet = ExpiryAlert("P30D", 1, (NOW + timedelta(days=5)).isoformat(), announced=False)
    loud = ExpiryAlert("P7D", 1, (NOW + timedelta(days=5)).isoformat())
    before = certificate_image(3)
    after = certificate_image(4, sweep=SweepState(expiry_alerts=(quiet, loud)))
    event = only(events_for("s1", before, after))
    assert isinstance(event, CertificateExpiring)
    assert (event.threshold, event.version_number, event.renews_itself) == ("P7D", 1, False)
    assert events_for("s2", after, certificate_image(5, sweep=SweepState(expiry_alerts=(quiet, loud)))) == []


def test_renews_itself_is_reported_for_certificates_with_a_renewal_rule() -> None:
    rule = RenewalRule(Duration.parse("P20D"), Duration.parse("P5D"))
    alert = ExpiryAlert("P7D", 1, NOW.isoformat())
    before = certificate_image(3, renewal_rule=rule)
    event = only(events_for("s3", before, certificate_image(4, renewal_rule=rule, sweep=SweepState((alert,)))))
    assert isinstance(event, CertificateExpiring)
    assert event.renews_itself is True


def test_renewal_failures_and_overdue_renewals() -> None:
    before = certificate_image(3)
    failing = certificate_image(4, sweep=SweepState(renewal_failures=1, last_error="ServiceUnavailable: KMS"))
    failed = only(events_for("f1", before, failing))
    assert isinstance(failed, RenewalFailed)
    assert (failed.attempt, failed.reason, failed.certificate_name) == (1, "ServiceUnavailable: KMS", "web")
    assert events_for("f2", failing, certificate_image(5, sweep=SweepState())) == [], "a success is no alert"

    due = NOW.isoformat()
    overdue = certificate_image(6, sweep=SweepState(overdue_alerted_for=due))
    event = only(events_for("f3", before, overdue))
    assert isinstance(event, RenewalOverdue)
    assert (event.due_at, event.current_version) == (due, 1)
    assert events_for("f4", overdue, certificate_image(7, sweep=SweepState(overdue_alerted_for=due))) == []


def test_a_lease_or_a_new_check_time_is_no_event() -> None:
    before = certificate_image(3)
    leased = certificate_image(4, sweep=SweepState(lease_owner="sweep-a", lease_until=NOW), next_check_at=NOW)
    assert events_for("l1", before, leased) == []
    assert events_for("l2", None, before) == [], "a new certificate row carries no bookkeeping yet"


# -- rows that are no state of their own -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "pk", "sk", "data"),
    [
        ("AUDIT", "AUDIT#cert-1", "2026-03-01T12:00:00+00:00#abc", {"action": "CreateCertificate"}),
        ("SERIAL", "SERIAL#ca-1#5eed", "S", {"issuer": "ca-1", "serialNumber": "5eed"}),
        ("ACM_COPY", f"CERT#{CERT_ID}", "ACM#00000001", {"arn": COPY}),
        ("CA_VERSION", "CA#ca-1", "V#00000001", {"versionNumber": 1, "stages": ["CURRENT"]}),
    ],
)
def test_bookkeeping_rows_say_nothing(kind: str, pk: str, sk: str, data: dict[str, Any]) -> None:
    row = image(kind, pk, sk, data, 1)
    assert events_for("x1", None, row) == []
    assert events_for("x2", row, None) == []


# -- ids and the wire --------------------------------------------------------------------------------------------


def test_event_ids_are_stable_per_record_and_distinct_within_one() -> None:
    before = certificate_image(3)
    after = certificate_image(
        4,
        sweep=SweepState(
            expiry_alerts=(ExpiryAlert("P7D", 1, NOW.isoformat()),), renewal_failures=1, overdue_alerted_for="t"
        ),
    )
    first, again = events_for("rec-9", before, after), events_for("rec-9", before, after)
    assert first == again, "a redelivered stream record yields the very same events"
    assert [e.event_id for e in first] == ["rec-9:0", "rec-9:1", "rec-9:2"]
    assert [type(e) for e in first] == [CertificateExpiring, RenewalFailed, RenewalOverdue]
    assert {e.event_id for e in events_for("rec-10", before, after)}.isdisjoint(e.event_id for e in first)


def test_every_event_survives_the_trip_through_eventbridge_json() -> None:
    produced = [
        *events_for("w1", authority_image("CREATING", 1), authority_image("ACTIVE", 2)),
        *events_for("w2", version_image(1), version_image(2, certificate_pem=PEM, stages=published_stages())),
        *events_for("w3", None, association_image(1)),
        *events_for("w4", association_image(2, deployed_acm_arn=COPY, deployed_version=1), None),
    ]
    assert {e.detail_type for e in produced} == {
        "CertificateAuthorityCreated",
        "CertificateVersionCreated",
        "AssociationCreated",
        "AssociationDeleted",
    }
    for event in produced:
        assert event.detail_type in EVENT_TYPES
        assert from_detail(event.detail_type, json.loads(json.dumps(event.to_detail()))) == event


# -- from real store writes, read back from the table's stream --------------------------------------------------


def translate(records: list[StreamRecord]) -> list[DomainEvent]:
    return [event for record in records for event in events_for(record.event_id, record.old, record.new)]


def of_type(events: list[DomainEvent], kind: type[DomainEvent]) -> list[DomainEvent]:
    return [e for e in events if isinstance(e, kind)]


def test_an_issuance_is_exactly_one_version_created(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    stream.skip()
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    events = translate(stream.read())
    created = only(events)
    assert isinstance(created, CertificateVersionCreated)
    assert (created.resource_id, created.version_number) == (cert["id"], 1)
    assert created.serial_number == cert["currentVersion"]["serialNumber"]
    assert created.stages == ("CURRENT", "LATEST")
    assert created.not_after == cert["currentVersion"]["validity"]["notAfter"]


def test_a_renewal_is_one_created_and_one_stage_change_of_the_old_version(
    api: ApiClient, hierarchy: Hierarchy, stream: TableStream
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    stream.skip()
    renewed = api.post(f"/certificates/{cert['id']}/versions", {}).body
    events = translate(stream.read())
    assert sorted(e.detail_type for e in events) == ["CertificateVersionCreated", "CertificateVersionStageChanged"]
    created = only(of_type(events, CertificateVersionCreated))
    assert isinstance(created, CertificateVersionCreated)
    assert (created.version_number, created.serial_number) == (2, renewed["serialNumber"])
    changed = only(of_type(events, CertificateVersionStageChanged))
    assert isinstance(changed, CertificateVersionStageChanged)
    assert (changed.version_number, changed.old_stages, changed.new_stages) == (1, ("CURRENT", "LATEST"), ("PREVIOUS",))


def test_authorities_are_created_once_and_a_cancelled_deletion_creates_nothing(
    api: ApiClient, stream: TableStream, hierarchy: Hierarchy
) -> None:
    created = of_type(translate(stream.read()), CertificateAuthorityCreated)
    assert sorted(e.resource_id for e in created) == sorted([hierarchy.root["id"], hierarchy.issuing["id"]])
    ca = hierarchy.issuing["id"]
    assert api.post(f"/certificate-authorities/{ca}/actions/schedule-deletion", {}).status == 200
    assert api.post(f"/certificate-authorities/{ca}/actions/cancel-deletion", {}).status == 200
    records = stream.read()
    assert any(r.keys == (f"CA#{ca}", "A") for r in records), "the stream saw both writes"
    assert translate(records) == []


def test_an_association_is_created_and_deleted_once(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    stream.skip()
    role = "arn:aws:iam::123456789012:role/web-host"
    association = api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": role}).body
    created = only(translate(stream.read()))
    assert created == AssociationCreated(created.event_id, association["id"], 1, cert["id"], role, "HOST_PRINCIPAL")
    assert api.call("DELETE", f"/associations/{association['id']}").status == 204
    deleted = only(translate(stream.read()))
    assert isinstance(deleted, AssociationDeleted)
    assert (deleted.resource_id, deleted.certificate_id) == (association["id"], cert["id"])


def test_no_private_key_material_reaches_any_event(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    api.post(f"/certificates/{cert['id']}/versions", {})
    api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": "arn:aws:iam::123456789012:role/h"})
    records = stream.read()
    secrets = {bytes(r.new["secret"]) for r in records if r.new and r.new.get("secret")}
    assert len(secrets) == 2, "both versions' sealed keys went through the stream"
    details = [json.dumps(e.to_detail()) for e in translate(records)]
    assert len(details) >= 4
    for text in details:
        assert "PRIVATE KEY" not in text
        assert '"secret"' not in text
        for secret in secrets:
            assert base64.b64encode(secret).decode() not in text
            assert secret.hex() not in text
            assert base64.b64encode(secret[:24]).decode() not in text


def test_the_same_record_translated_twice_gives_the_same_event_ids(
    api: ApiClient, hierarchy: Hierarchy, stream: TableStream
) -> None:
    api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    records = stream.read()
    first, again = translate(records), translate(records)
    assert first == again
    assert len({e.event_id for e in first}) == len(first), "ids are unique across records"

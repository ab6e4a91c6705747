"""Scheduled deletion: the guards (CA in use, certificate in use, serving versions), and the sweep carrying out
what is due - sealed keys destroyed, ACM copies deleted, KMS key scheduled, DELETED tombstones, audit records,
events from the stream - found through the index, never a scan; cancel before due keeps everything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.adapters.dynamodb_store import DELETION_PARTITION
from certwright.adapters.kms import KmsCaKeys
from certwright.domain.authority import LifecycleState
from certwright.events import CertificateAuthorityDeleted, CertificateDeleted

from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body, root_ca_body
from tests.consenting import consent
from tests.lifecycle.conftest import placeholder_certificate
from tests.lifecycle.handlers import LambdaContext, load_function
from tests.lifecycle.table_stream import TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged


def when(clock: Clock, **delta: float) -> dict[str, str]:
    return {"timeOfDeletion": (clock.now + timedelta(**delta)).isoformat()}


def items_of(aws: Aws, pk: str) -> list[dict[str, Any]]:
    return [i for i in aws.table_items() if i["pk"]["S"] == pk]


def secrets_of(aws: Aws, certificate_id: str) -> dict[str, bool]:
    """Version row → whether it still holds a sealed private key."""
    return {
        i["sk"]["S"]: "secret" in i for i in items_of(aws, f"CERT#{certificate_id}") if i["sk"]["S"].startswith("V#")
    }


def audit_actions(api: ApiClient, resource_id: str) -> list[tuple[str, str, str]]:
    answer = api.get(f"/audit-events?resourceId={resource_id}")
    assert answer.status == 200, answer.body
    return [(r["action"], r["caller"], r["result"]) for r in answer.body["items"]]


def issue(api: ApiClient, issuer_id: str, **overrides: Any) -> dict[str, Any]:
    answer = api.post("/certificates", leaf_body(issuer_id, **overrides))
    assert answer.status == 201, answer.body
    return answer.body


def renew(api: ApiClient, certificate_id: str) -> dict[str, Any]:
    answer = api.post(f"/certificates/{certificate_id}/versions", {})
    assert answer.status == 201, answer.body
    return answer.body


def acm_copy(aws: Aws, container: bootstrap.Container, certificate_id: str, version: int) -> str:
    """An ACM copy of a version, recorded as the deployer records it."""
    cert_pem, key_pem = placeholder_certificate(f"v{version}.example.com")
    arn = aws.session.client("acm").import_certificate(Certificate=cert_pem.encode(), PrivateKey=key_pem.encode())[
        "CertificateArn"
    ]
    return container.store.record_acm_copy(certificate_id, version, arn)


def acm_arns(aws: Aws) -> set[str]:
    return {c["CertificateArn"] for c in aws.session.client("acm").list_certificates()["CertificateSummaryList"]}


@pytest.fixture
def sweep(container: bootstrap.Container, aws: Aws) -> Iterator[Any]:
    """Run the deletion sweep and return its report; asserts it read through the index (Query) and never scanned."""

    def run() -> dict[str, Any]:
        before = (aws.calls["dynamodb.Scan"], aws.calls["dynamodb.Query"])
        report = container.deletion.run()
        assert aws.calls["dynamodb.Scan"] == before[0], "the deletion sweep must not scan the table"
        assert aws.calls["dynamodb.Query"] > before[1]
        return report

    yield run


# -- guards ---------------------------------------------------------------------------------------------


def test_a_certificate_with_an_association_cannot_be_scheduled(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    cert_pem, key_pem = placeholder_certificate("keep-in-sync.example")
    acm = aws.session.client("acm")
    target = acm.import_certificate(Certificate=cert_pem.encode(), PrivateKey=key_pem.encode())["CertificateArn"]
    consent(aws.session, target, leaf["id"])
    association = api.post("/associations", {"certificateId": leaf["id"], "associatedResourceId": target})
    assert association.status == 201, association.body
    answer = api.post(f"/certificates/{leaf['id']}/actions/schedule-deletion", {})
    assert answer.status == 409 and answer.body["code"] == "CertificateInUse"
    assert api.get(f"/certificates/{leaf['id']}").body["lifecycleState"] == "ACTIVE"


# -- the sweep: certificates ----------------------------------------------------------------------------


def test_a_due_certificate_loses_its_keys_and_acm_copies_and_becomes_a_tombstone(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, aws: Aws, clock: Clock, sweep: Any
) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    renew(api, leaf["id"])
    copies = {acm_copy(aws, container, leaf["id"], 1), acm_copy(aws, container, leaf["id"], 2)}
    assert secrets_of(aws, leaf["id"]) == {"V#00000001": True, "V#00000002": True}
    stream = TableStream(aws)
    stream.skip()

    scheduled = api.post(f"/certificates/{leaf['id']}/actions/schedule-deletion", when(clock, days=1, hours=1))
    assert scheduled.status == 200 and scheduled.body["lifecycleState"] == "PENDING_DELETION"
    (row,) = [i for i in items_of(aws, f"CERT#{leaf['id']}") if i["sk"]["S"] == "C"]
    assert row["renewal_pk"]["S"] == DELETION_PARTITION  # in the index the sweep queries
    assert sweep()["certificates_deleted"] == 0  # not due yet
    assert secrets_of(aws, leaf["id"]) == {"V#00000001": True, "V#00000002": True}

    clock.advance(days=1, hours=2)
    report = sweep()
    assert (report["certificates_deleted"], report["failed"]) == (1, 0)

    assert secrets_of(aws, leaf["id"]) == {"V#00000001": False, "V#00000002": False}
    assert not copies & acm_arns(aws)
    assert container.store.acm_copies(leaf["id"]) == set()
    (row,) = [i for i in items_of(aws, f"CERT#{leaf['id']}") if i["sk"]["S"] == "C"]
    assert "renewal_pk" not in row  # out of the index: never looked at again
    assert container.store.get_certificate(leaf["id"]).lifecycle_state.value == "DELETED"  # type: ignore[union-attr]
    assert api.get(f"/certificates/{leaf['id']}").status == 404
    assert api.get(f"/certificates/{leaf['id']}/bundle?includePrivateKey=true").status == 404
    actions = audit_actions(api, leaf["id"])
    assert actions[0] == ("DeleteCertificate", "certwright-sweep", "SUCCEEDED")
    assert ("ScheduleCertificateDeletion", api.caller, "SUCCEEDED") in actions

    events = [e for r in stream.read() for e in r.events()]
    deleted = [e for e in events if isinstance(e, CertificateDeleted)]
    assert [(e.resource_id, e.name) for e in deleted] == [(leaf["id"], "web")]
    assert sweep()["examined"] == 0  # nothing left to do; a second run changes nothing


def test_a_deletion_cancelled_before_it_is_due_keeps_everything(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, aws: Aws, clock: Clock, sweep: Any
) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    copy = acm_copy(aws, container, leaf["id"], 1)
    assert api.post(f"/certificates/{leaf['id']}/actions/schedule-deletion", when(clock, days=2)).status == 200
    clock.advance(days=1)
    cancelled = api.post(f"/certificates/{leaf['id']}/actions/cancel-deletion")
    assert cancelled.status == 200 and cancelled.body["lifecycleState"] == "ACTIVE"
    assert cancelled.body["timeOfDeletion"] is None
    clock.advance(days=5)
    assert sweep()["examined"] == 0
    assert secrets_of(aws, leaf["id"]) == {"V#00000001": True}
    assert copy in acm_arns(aws)
    assert api.get(f"/certificates/{leaf['id']}").body["lifecycleState"] == "ACTIVE"
    bundle = api.get(f"/certificates/{leaf['id']}/bundle")
    assert bundle.status == 200


def test_the_renewal_sweep_handler_also_runs_due_deletions(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, clock: Clock
) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    assert api.post(f"/certificates/{leaf['id']}/actions/schedule-deletion", {}).status == 200  # default grace
    clock.advance(days=29)
    handler = load_function("renewal_sweep").lambda_handler
    scheduled = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    assert handler(scheduled, LambdaContext("renewal-sweep"))["deletion"]["certificates_deleted"] == 0
    clock.advance(days=1, minutes=1)
    result = handler(scheduled, LambdaContext("renewal-sweep"))
    assert result["deletion"]["certificates_deleted"] == 1
    assert api.get(f"/certificates/{leaf['id']}").status == 404


# -- the sweep: CAs -------------------------------------------------------------------------------------


def test_a_due_ca_has_its_kms_key_scheduled_for_deletion_and_becomes_a_tombstone(
    api: ApiClient, container: bootstrap.Container, aws: Aws, clock: Clock, sweep: Any
) -> None:
    root = api.post("/certificate-authorities", root_ca_body(name="retired-root"))
    assert root.status == 201, root.body
    ca_id, key_id = root.body["id"], root.body["kmsKeyId"]
    stream = TableStream(aws)
    stream.skip()
    assert api.post(f"/certificate-authorities/{ca_id}/actions/schedule-deletion", when(clock, days=7)).status == 200
    clock.advance(days=7, seconds=1)
    report = sweep()
    assert report["authorities_deleted"] == 1

    kms = aws.session.client("kms")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert api.get(f"/certificate-authorities/{ca_id}").status == 404
    assert audit_actions(api, ca_id)[0] == ("DeleteCertificateAuthority", "certwright-sweep", "SUCCEEDED")
    events = [e for r in stream.read() for e in r.events()]
    assert [(type(e), e.resource_id) for e in events if isinstance(e, CertificateAuthorityDeleted)] == [
        (CertificateAuthorityDeleted, ca_id)
    ]
    # Scheduling the key again (a retried deletion) is not an error.
    KmsCaKeys(kms).schedule_key_deletion(key_id)


def test_a_ca_that_gained_a_live_certificate_is_not_deleted_when_due(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, aws: Aws, clock: Clock, sweep: Any
) -> None:
    """A certificate issued in the moment before the schedule (a race the guard cannot see) keeps its CA."""
    issuing = hierarchy.issuing["id"]
    assert api.post(f"/certificate-authorities/{issuing}/actions/schedule-deletion", when(clock, days=2)).status == 200
    ca = container.store.get_authority(issuing)
    assert ca is not None
    container.store.save_authority(replace(ca, lifecycle_state=LifecycleState.ACTIVE))
    leaf = issue(api, issuing)
    container.store.save_authority(replace(ca, row_version=ca.row_version + 1))  # back to PENDING_DELETION
    clock.advance(days=3)
    report = sweep()
    assert (report["authorities_deleted"], report["blocked"]) == (0, 1)
    assert api.get(f"/certificate-authorities/{issuing}").body["lifecycleState"] == "PENDING_DELETION"
    assert audit_actions(api, issuing)[0] == ("DeleteCertificateAuthority", "certwright-sweep", "FAILED")
    assert api.get(f"/certificates/{leaf['id']}").status == 200
    key = aws.session.client("kms").describe_key(KeyId=ca.kms_key_id)["KeyMetadata"]["KeyState"]
    assert key == "Enabled"
    assert sweep()["examined"] == 0  # tried again an hour later, not on every run


# -- versions -------------------------------------------------------------------------------------------


def test_a_previous_version_can_be_scheduled_and_is_deleted_when_due(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, clock: Clock, sweep: Any
) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    renew(api, leaf["id"])
    base = f"/certificates/{leaf['id']}/versions"
    refused = api.post(f"{base}/2/actions/schedule-deletion", {})
    assert refused.status == 409 and refused.body["code"] == "VersionInUse"
    scheduled = api.post(f"{base}/1/actions/schedule-deletion", when(clock, days=3))
    assert scheduled.status == 200, scheduled.body
    assert scheduled.body["lifecycleState"] == "PENDING_DELETION"
    assert scheduled.body["stages"] == ["PREVIOUS"]  # the stage stays
    assert api.get(f"{base}/1").body["timeOfDeletion"] == scheduled.body["timeOfDeletion"]
    again = api.post(f"{base}/1/actions/schedule-deletion", {})
    assert again.status == 409 and again.body["code"] == "InvalidState"

    clock.advance(days=3, minutes=1)
    assert sweep()["versions_deleted"] == 1
    assert secrets_of(aws, leaf["id"]) == {"V#00000001": False, "V#00000002": True}
    assert api.get(f"{base}/1").body["lifecycleState"] == "DELETED"
    assert api.get(f"{base}/2").body["lifecycleState"] == "ACTIVE"
    assert api.get(f"/certificates/{leaf['id']}/bundle?versionNumber=2").status == 200
    actions = audit_actions(api, leaf["id"])
    assert actions[0] == ("DeleteCertificateVersion", "certwright-sweep", "SUCCEEDED")
    assert api.post(f"{base}/1/actions/cancel-deletion").status == 409  # too late


def test_a_version_deletion_can_be_cancelled_and_is_called_off_if_the_version_serves_again(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, clock: Clock, sweep: Any
) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    renew(api, leaf["id"])
    base = f"/certificates/{leaf['id']}/versions"
    assert api.post(f"{base}/1/actions/schedule-deletion", when(clock, days=2)).status == 200
    cancelled = api.post(f"{base}/1/actions/cancel-deletion")
    assert cancelled.status == 200 and cancelled.body["lifecycleState"] == "ACTIVE"
    assert api.post(f"{base}/1/actions/schedule-deletion", when(clock, days=2)).status == 200
    rolled_back = api.post(f"{base}/1/actions/promote")
    assert rolled_back.status == 200, rolled_back.body
    clock.advance(days=3)
    report = sweep()
    assert (report["versions_deleted"], report["blocked"]) == (0, 1)
    assert secrets_of(aws, leaf["id"]) == {"V#00000001": True, "V#00000002": True}
    assert api.get(f"{base}/1").body["lifecycleState"] == "ACTIVE"


# -- the audit API --------------------------------------------------------------------------------------

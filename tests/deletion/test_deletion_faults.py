"""Deletion under faults injected at botocore's HTTP layer: a sweep stopped mid-deletion, a lost KMS answer and a
throttled ACM delete all leave the resource due, and the next run finishes the job exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from certwright import bootstrap

from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body, root_ca_body
from tests.deletion.test_deletion import acm_arns, acm_copy, audit_actions, secrets_of
from tests.lifecycle.faults import Fault, Faults, LambdaTimeout, json_error

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged


def schedule(api: ApiClient, path: str, clock: Clock) -> None:
    answer = api.post(
        f"{path}/actions/schedule-deletion", {"timeOfDeletion": (clock.now + timedelta(days=2)).isoformat()}
    )
    assert answer.status == 200, answer.body


def test_a_sweep_stopped_mid_deletion_is_finished_by_the_next_run(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, aws: Aws, clock: Clock, faults: Faults
) -> None:
    leaf = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    copy = acm_copy(aws, container, leaf["id"], 1)
    schedule(api, f"/certificates/{leaf['id']}", clock)
    clock.advance(days=3)

    faults.arm(Fault("DeleteCertificate", crash=True, times=1))
    with pytest.raises(LambdaTimeout):
        container.deletion.run()
    # Stopped after the keys went and before the ACM copy did: still due, still PENDING_DELETION.
    assert secrets_of(aws, leaf["id"]) == {"V#00000001": False}
    assert copy in acm_arns(aws)
    assert api.get(f"/certificates/{leaf['id']}").body["lifecycleState"] == "PENDING_DELETION"

    report = container.deletion.run()
    assert report["certificates_deleted"] == 1
    assert copy not in acm_arns(aws)
    assert api.get(f"/certificates/{leaf['id']}").status == 404
    deletions = [a for a in audit_actions(api, leaf["id"]) if a[0] == "DeleteCertificate"]
    assert deletions == [("DeleteCertificate", "certwright-sweep", "SUCCEEDED")]


def test_a_throttled_acm_delete_leaves_the_certificate_due_and_the_next_run_deletes_it(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, aws: Aws, clock: Clock, faults: Faults
) -> None:
    leaf = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    copy = acm_copy(aws, container, leaf["id"], 1)
    schedule(api, f"/certificates/{leaf['id']}", clock)
    clock.advance(days=3)
    throttled = faults.arm(Fault("DeleteCertificate", answer=json_error("ThrottlingException")))
    report = container.deletion.run()
    assert (report["certificates_deleted"], report["failed"]) == (0, 1)
    assert throttled.hits >= 2  # botocore retried before we gave up for this run
    faults.disarm(throttled)
    assert container.deletion.run()["certificates_deleted"] == 1
    assert copy not in acm_arns(aws)


def test_a_lost_kms_answer_does_not_stop_the_ca_deletion(
    api: ApiClient, container: bootstrap.Container, aws: Aws, clock: Clock, faults: Faults
) -> None:
    root = api.post("/certificate-authorities", root_ca_body(name="lost-answer")).body
    schedule(api, f"/certificate-authorities/{root['id']}", clock)
    clock.advance(days=3)
    # KMS schedules the key but the answer is lost: the key's state says the work is done.
    lost = faults.arm(Fault("ScheduleKeyDeletion", answer=json_error("KMSInternalException"), lose_answer=True))
    assert container.deletion.run()["authorities_deleted"] == 1
    assert lost.hits >= 1
    state = aws.session.client("kms").describe_key(KeyId=root["kmsKeyId"])["KeyMetadata"]["KeyState"]
    assert state == "PendingDeletion"
    assert api.get(f"/certificate-authorities/{root['id']}").status == 404


def test_a_throttled_kms_leaves_the_ca_due_and_the_next_run_deletes_it(
    api: ApiClient, container: bootstrap.Container, aws: Aws, clock: Clock, faults: Faults
) -> None:
    root = api.post("/certificate-authorities", root_ca_body(name="throttled")).body
    schedule(api, f"/certificate-authorities/{root['id']}", clock)
    clock.advance(days=3)
    throttled = faults.arm(Fault("ScheduleKeyDeletion", answer=json_error("ThrottlingException")))
    assert container.deletion.run()["failed"] == 1
    kms = aws.session.client("kms")
    assert kms.describe_key(KeyId=root["kmsKeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert api.get(f"/certificate-authorities/{root['id']}").body["lifecycleState"] == "PENDING_DELETION"
    faults.disarm(throttled)
    assert container.deletion.run()["authorities_deleted"] == 1
    assert kms.describe_key(KeyId=root["kmsKeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # A deletion retried after success (a second sweep) finds nothing due and schedules nothing again.
    assert container.deletion.run()["examined"] == 0

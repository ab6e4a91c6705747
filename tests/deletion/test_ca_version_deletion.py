"""Scheduled deletion of DEPRECATED CA versions on the embedded AWS: only a DEPRECATED version may be scheduled, bad
input changes nothing, cancel before due, and the renewal sweep handler's deletion pass marks it DELETED (found
through the index) while the CA keeps issuing with its shared key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from certwright.adapters.dynamodb_store import DELETION_PARTITION

from tests.conftest import ApiClient, Aws, Clock, leaf_body, root_ca_body
from tests.lifecycle.handlers import LambdaContext, load_function

pytestmark = pytest.mark.staged

CA = "/certificate-authorities"
SCHEDULED = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def when(clock: Clock, **delta: float) -> dict[str, str]:
    return {"timeOfDeletion": (clock.now + timedelta(**delta)).isoformat()}


def three_versions(api: ApiClient) -> str:
    """A root with versions 1 (DEPRECATED), 2 (PREVIOUS) and 3 (CURRENT, LATEST)."""
    created = api.post(CA, root_ca_body(name="rotated-root"))
    assert created.status == 201, created.body
    ca_id = str(created.body["id"])
    for _ in range(2):
        renewed = api.post(f"{CA}/{ca_id}/versions", {})
        assert renewed.status in (200, 201), renewed.body
    return ca_id


def version_row(aws: Aws, ca_id: str, number: int) -> dict[str, Any]:
    return next(
        i
        for i in aws.table_items()
        if i["pk"]["S"] == f"CA#{ca_id}" and i["sk"]["S"].startswith("V#") and int(i["sk"]["S"][2:]) == number
    )


def audit(api: ApiClient, ca_id: str) -> list[tuple[str, str]]:
    answer = api.get(f"/audit-events?resourceId={ca_id}")
    assert answer.status == 200, answer.body
    return [(r["action"], r["result"]) for r in answer.body["items"]]


def test_only_a_deprecated_ca_version_is_scheduled_and_bad_input_changes_nothing(
    api: ApiClient, aws: Aws, clock: Clock
) -> None:
    ca_id = three_versions(api)
    stages = {v["versionNumber"]: v["stages"] for v in api.get(f"{CA}/{ca_id}/versions").body["items"]}
    assert stages == {1: ["DEPRECATED"], 2: ["PREVIOUS"], 3: ["CURRENT", "LATEST"]}
    before = aws.table_items()
    for number in (2, 3):
        refused = api.post(f"{CA}/{ca_id}/versions/{number}/actions/schedule-deletion", {})
        assert (refused.status, refused.body["code"]) == (409, "VersionNotDeprecated"), refused.body
    for body in ({"timeOfDeletion": "tomorrow"}, when(clock, hours=1), {"timeOfDeletion": "2030-01-01T00:00:00"}):
        bad = api.post(f"{CA}/{ca_id}/versions/1/actions/schedule-deletion", body)
        assert bad.status == 400, bad.body
    missing = api.post(f"{CA}/{ca_id}/versions/9/actions/schedule-deletion", {})
    assert missing.status == 404
    not_pending = api.post(f"{CA}/{ca_id}/versions/1/actions/cancel-deletion")
    assert (not_pending.status, not_pending.body["code"]) == (409, "InvalidState")
    assert aws.table_items() == before  # no side effect

    scheduled = api.post(f"{CA}/{ca_id}/versions/1/actions/schedule-deletion", when(clock, days=7))
    assert scheduled.status == 200, scheduled.body
    assert scheduled.body["lifecycleState"] == "PENDING_DELETION" and scheduled.body["timeOfDeletion"]
    assert version_row(aws, ca_id, 1)["renewal_pk"]["S"] == DELETION_PARTITION
    again = api.post(f"{CA}/{ca_id}/versions/1/actions/schedule-deletion", {})
    assert (again.status, again.body["code"]) == (409, "InvalidState")
    blocked = api.post(f"{CA}/{ca_id}/versions/1/actions/promote")
    assert (blocked.status, blocked.body["code"]) == (409, "InvalidState")

    cancelled = api.post(f"{CA}/{ca_id}/versions/1/actions/cancel-deletion")
    assert cancelled.status == 200, cancelled.body
    assert (cancelled.body["lifecycleState"], cancelled.body["timeOfDeletion"]) == ("ACTIVE", None)
    assert "renewal_pk" not in version_row(aws, ca_id, 1)
    assert sorted(a for a in audit(api, ca_id) if "VersionDeletion" in a[0]) == [
        ("CancelCertificateAuthorityVersionDeletion", "SUCCEEDED"),
        ("ScheduleCertificateAuthorityVersionDeletion", "SUCCEEDED"),
    ]


def test_the_sweep_handler_marks_a_due_ca_version_deleted_and_the_ca_keeps_issuing(
    api: ApiClient, aws: Aws, clock: Clock
) -> None:
    ca_id = three_versions(api)
    assert api.post(f"{CA}/{ca_id}/versions/1/actions/schedule-deletion", when(clock, days=7)).status == 200
    handler = load_function("renewal_sweep").lambda_handler
    assert handler(SCHEDULED, LambdaContext("renewal-sweep"))["deletion"]["versions_deleted"] == 0  # not due yet
    clock.advance(days=7, minutes=1)
    late = api.post(f"{CA}/{ca_id}/versions/1/actions/cancel-deletion")
    assert (late.status, late.body["code"]) == (409, "DeletionInProgress")

    result = handler(SCHEDULED, LambdaContext("renewal-sweep"))
    assert result["deletion"]["versions_deleted"] == 1
    deleted = api.get(f"{CA}/{ca_id}/versions/1").body
    assert (deleted["lifecycleState"], deleted["stages"]) == ("DELETED", ["DEPRECATED"])
    assert "renewal_pk" not in version_row(aws, ca_id, 1)  # out of the deletion queue
    assert ("DeleteCertificateAuthorityVersion", "SUCCEEDED") in audit(api, ca_id)
    assert handler(SCHEDULED, LambdaContext("renewal-sweep"))["deletion"]["examined"] == 0

    ca = api.get(f"{CA}/{ca_id}").body
    assert (ca["lifecycleState"], ca["currentVersion"]["versionNumber"]) == ("ACTIVE", 3)
    assert api.post("/certificates", leaf_body(ca_id)).status == 201  # the key is the CA's: it still signs
    refused = api.post(f"{CA}/{ca_id}/versions/1/actions/promote")
    assert (refused.status, refused.body["code"]) == (409, "InvalidState")
    assert api.post(f"{CA}/{ca_id}/versions/1/actions/schedule-deletion", {}).status == 409

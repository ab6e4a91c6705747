"""Scheduled deletion on the fakes, through the API: the guards (CA in use, certificate in use, serving versions,
the grace period, a deletion fallen due) and the audit trail (moved from tests/deletion, which keeps the sweep's
index reads, key destruction and ACM copies on the embedded AWS)."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiClient, Clock, Hierarchy, leaf_body
from tests.deletion.test_deletion import issue, when


def test_a_ca_with_a_live_certificate_or_subordinate_cannot_be_scheduled(
    api: ApiClient, hierarchy: Hierarchy, clock: Clock
) -> None:
    issuing, root = hierarchy.issuing["id"], hierarchy.root["id"]
    leaf = issue(api, issuing)
    for ca_id, blocker in ((issuing, leaf["id"]), (root, issuing)):
        answer = api.post(f"/certificate-authorities/{ca_id}/actions/schedule-deletion", {})
        assert answer.status == 409, answer.body
        assert answer.body["code"] == "CertificateAuthorityInUse"
        assert blocker in answer.body["message"]
        assert api.get(f"/certificate-authorities/{ca_id}").body["lifecycleState"] == "ACTIVE"


def test_a_ca_whose_certificates_are_revoked_can_be_scheduled_and_cancelled(
    api: ApiClient, hierarchy: Hierarchy, clock: Clock
) -> None:
    issuing = hierarchy.issuing["id"]
    leaf = issue(api, issuing)
    revoked = api.post(
        f"/certificates/{leaf['id']}/versions/1/actions/revoke", {"revocationReason": "CESSATION_OF_OPERATION"}
    )
    assert revoked.status == 200, revoked.body
    answer = api.post(f"/certificate-authorities/{issuing}/actions/schedule-deletion", when(clock, days=2))
    assert answer.status == 200, answer.body
    assert answer.body["lifecycleState"] == "PENDING_DELETION"
    # A CA pending deletion issues nothing.
    refused = api.post("/certificates", leaf_body(issuing, name="late"))
    assert refused.status == 409 and refused.body["code"] == "CertificateAuthorityNotActive"
    cancelled = api.post(f"/certificate-authorities/{issuing}/actions/cancel-deletion")
    assert cancelled.status == 200 and cancelled.body["lifecycleState"] == "ACTIVE"


def test_a_ca_whose_certificates_have_expired_can_be_scheduled(
    api: ApiClient, hierarchy: Hierarchy, clock: Clock
) -> None:
    issuing = hierarchy.issuing["id"]
    issue(api, issuing, validityDuration="P1D")
    assert api.post(f"/certificate-authorities/{issuing}/actions/schedule-deletion", {}).status == 409
    clock.advance(days=2)
    answer = api.post(f"/certificate-authorities/{issuing}/actions/schedule-deletion", {})
    assert answer.status == 200, answer.body


def test_the_grace_period_has_a_minimum(api: ApiClient, hierarchy: Hierarchy, clock: Clock) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    answer = api.post(f"/certificates/{leaf['id']}/actions/schedule-deletion", when(clock, hours=2))
    assert answer.status == 400


def test_unknown_certificates_and_versions_answer_404(api: ApiClient, hierarchy: Hierarchy) -> None:
    assert api.post("/certificates/cert-nope/versions/1/actions/schedule-deletion", {}).status == 404
    leaf = issue(api, hierarchy.issuing["id"])
    assert api.post(f"/certificates/{leaf['id']}/versions/9/actions/cancel-deletion").status == 404


def test_the_audit_trail_pages_newest_first_and_unknown_ids_are_404(
    api: ApiClient, hierarchy: Hierarchy, clock: Clock
) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    for n in range(4):
        clock.advance(minutes=1)
        assert api.call("PATCH", f"/certificates/{leaf['id']}", {"description": f"d{n}"}).status == 200
    seen: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(5):
        path = f"/audit-events?resourceId={leaf['id']}&limit=2" + (f"&nextToken={token}" if token else "")
        answer = api.get(path)
        assert answer.status == 200, answer.body
        assert len(answer.body["items"]) <= 2
        seen.extend(answer.body["items"])
        token = answer.body["nextToken"]
        if not token:
            break
    assert [r["action"] for r in seen] == ["UpdateCertificate"] * 4 + ["CreateCertificate"]
    times = [r["time"] for r in seen]
    assert times == sorted(times, reverse=True)
    first = seen[0]
    assert set(first) == {"resourceId", "action", "caller", "time", "result", "details"}
    assert first["caller"] == api.caller and first["result"] == "SUCCEEDED"
    assert first["details"] == {"fields": "description"}

    missing = api.get("/audit-events?resourceId=cert-doesnotexist")
    assert missing.status == 404 and missing.body["code"] == "NotFound"
    assert api.get("/audit-events").status == 400
    assert api.get(f"/audit-events?resourceId={leaf['id']}&limit=0").status == 400
    assert api.get(f"/audit-events?resourceId={leaf['id']}&nextToken=!!!").status == 400
    # A well-formed token from another resource's listing is refused too, not passed on to DynamoDB (a 502).
    other = api.get(f"/audit-events?resourceId={leaf['id']}&limit=1").body["nextToken"]
    foreign = api.get(f"/audit-events?resourceId={hierarchy.issuing['id']}&nextToken={other}")
    assert (foreign.status, foreign.body["code"]) == (400, "InvalidPageToken")
    ca = api.get(f"/audit-events?resourceId={hierarchy.issuing['id']}")
    assert ca.status == 200 and ca.body["items"][0]["action"] == "CreateCertificateAuthority"


def test_no_private_key_in_the_audit_trail(api: ApiClient, hierarchy: Hierarchy) -> None:
    leaf = issue(api, hierarchy.issuing["id"])
    assert api.get(f"/certificates/{leaf['id']}/bundle?includePrivateKey=true").status in (200, 404, 403)
    body = str(api.get(f"/audit-events?resourceId={leaf['id']}").body)
    assert "PRIVATE KEY" not in body


def test_a_deletion_that_has_fallen_due_can_no_longer_be_cancelled(
    api: ApiClient, hierarchy: Hierarchy, clock: Clock
) -> None:
    certificate = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    assert api.post(f"/certificates/{certificate['id']}/actions/schedule-deletion", {}).status == 200
    clock.advance(days=31)  # due: the sweep may already be destroying its keys
    late = api.post(f"/certificates/{certificate['id']}/actions/cancel-deletion", {})
    assert (late.status, late.body["code"]) == (409, "DeletionInProgress")

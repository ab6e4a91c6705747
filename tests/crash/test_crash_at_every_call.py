"""Crash at every AWS call of create, renew, revoke and deploy, before the call and after it, then the same request
again (same Idempotency-Key): I1-I7 hold after each, an idempotent retry returns the one result, and whatever a
crash left half-done is FAILED (visibly, and deletable) after one repair pass.

The call indices come from a recorded clean run of the same request, so a new AWS call is covered without editing
this file; each case names the call it died at."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.api.app import handle
from certwright.domain.repair import REPAIR_AFTER

from infra.api_events import api_event
from tests.conftest import Answer, Aws, Clock, Hierarchy, leaf_body
from tests.consenting import consent
from tests.crash.crashes import CrashHook, When, killed_at
from tests.crash.invariants import assert_invariants, orphans, published_versions, read_table
from tests.lifecycle.conftest import make_load_balancer

pytestmark = pytest.mark.fresh(reason="the crash hook hooks the session before the container's clients are made")

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"
REPAIRED = REPAIR_AFTER + timedelta(minutes=1)


class Context:
    """A Lambda context whose deadline has passed: an idempotency record it leaves INPROGRESS expires at once,
    as a crashed invocation's does once its deadline is behind it."""

    function_name = "issuance_api"
    aws_request_id = "crash-test"

    def get_remaining_time_in_millis(self) -> int:
        return 0


def call(method: str, path: str, body: Any = None, key: str | None = None) -> Answer:
    headers = {"Idempotency-Key": key} if key else None
    result = handle(api_event(method, path, body, headers=headers), Context())
    text = result.get("body") or ""
    return Answer(result["statusCode"], json.loads(text) if text else None, result.get("headers") or {})


def warmed(issuer: str) -> str:
    """`issuer`, once this process has issued from it: the planner caches it (as a warm Lambda container does),
    so every later create makes the same calls (a cold one adds the CA's read, which writes nothing)."""
    assert call("POST", "/certificates", leaf_body(issuer, name="warm-up")).status == 201
    return issuer


def cases(crash: CrashHook, request: Callable[[], object]) -> list[tuple[int, When]]:
    _, calls = crash.record(request)
    assert calls, "the clean run made no AWS call"
    return [(index, when) for when in When for index in range(len(calls))]


def repair_and_check(container: bootstrap.Container, aws: Aws, clock: Clock) -> None:
    """One repair pass (inside the sweep, once the reservations are old enough): nothing half-done is left."""
    clock.advance(seconds=REPAIRED.total_seconds())
    container.sweep.run()
    assert_invariants(aws, repaired=True, context="after one repair pass")


# -- create ---------------------------------------------------------------------------------------------------


def test_a_create_killed_at_any_call_and_retried_with_its_key_stores_one_certificate(
    crash: CrashHook, aws: Aws, clock: Clock, container: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    issuer = warmed(hierarchy.issuing["id"])
    for index, when in cases(crash, lambda: call("POST", "/certificates", leaf_body(issuer), key="reference")):
        name = f"c-{when}-{index}"
        body = leaf_body(issuer, name=name)
        signs = aws.calls["kms.Sign"]
        where = killed_at(crash, index, when, lambda b=body, k=name: call("POST", "/certificates", b, key=k))
        retried = call("POST", "/certificates", body, key=name)
        assert retried.status == 201, (where, retried.body)
        again = call("POST", "/certificates", body, key=name)
        assert (again.status, again.body["id"]) == (201, retried.body["id"]), where

        table = assert_invariants(aws, repaired=False, context=where)
        mine = [c for c in table.certificates.values() if c["name"] == name]
        assert [c["id"] for c in mine] == [retried.body["id"]], f"{where}: {len(mine)} certificates for one request"
        assert mine[0]["lifecycleState"] == "ACTIVE", where
        assert retried.body["currentVersion"]["versionNumber"] == mine[0]["currentVersionNumber"], where
        assert orphans(table) == [], f"{where}: the retry left {orphans(table)}"
        assert aws.calls["kms.Sign"] - signs <= 2, f"{where}: at most the crashed signature and the retry's"
    repair_and_check(container, aws, clock)


def test_a_create_killed_at_any_call_without_a_key_is_failed_by_the_repair_pass_and_deletable(
    crash: CrashHook, aws: Aws, clock: Clock, container: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    issuer = warmed(hierarchy.issuing["id"])
    for index, when in cases(crash, lambda: call("POST", "/certificates", leaf_body(issuer, name="reference"))):
        killed_at(crash, index, when, lambda i=index: call("POST", "/certificates", leaf_body(issuer, name=f"c-{i}")))
        assert_invariants(aws, repaired=False, context=f"{when} {index}")
    stuck = [c["id"] for c in read_table(aws).certificates.values() if c["lifecycleState"] == "CREATING"]
    assert stuck, "some crash left a certificate CREATING (otherwise this test proves nothing)"

    clock.advance(minutes=REPAIR_AFTER.total_seconds() / 60 - 1)
    container.sweep.run()
    assert all(read_table(aws).certificates[c]["lifecycleState"] == "CREATING" for c in stuck), "too early to act"
    repair_and_check(container, aws, clock)

    for cert_id in stuck:
        shown = call("GET", f"/certificates/{cert_id}").body
        assert shown["lifecycleState"] == "FAILED"
        audit = call("GET", f"/audit-events?resourceId={cert_id}").body["items"]
        assert any(a["action"] == "CreateCertificate" and a["result"] == "FAILED" for a in audit), audit
        when_ = (clock.now + timedelta(days=1)).isoformat()
        scheduled = call("POST", f"/certificates/{cert_id}/actions/schedule-deletion", {"timeOfDeletion": when_})
        assert (scheduled.status, scheduled.body["lifecycleState"]) == (200, "PENDING_DELETION"), scheduled.body
    clock.advance(days=2)
    assert container.deletion.run()["certificates_deleted"] == len(stuck)
    assert all(call("GET", f"/certificates/{c}").status == 404 for c in stuck)
    assert_invariants(aws, repaired=True)


# -- renew ----------------------------------------------------------------------------------------------------


def test_a_renewal_killed_at_any_call_and_retried_with_its_key_adds_one_version(
    crash: CrashHook, aws: Aws, clock: Clock, container: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    cert_id = call("POST", "/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    path = f"/certificates/{cert_id}/versions"
    for index, when in cases(crash, lambda: call("POST", path, {}, key="reference")):
        key = f"r-{when}-{index}"
        before = published_versions(read_table(aws), cert_id)
        where = killed_at(crash, index, when, lambda k=key: call("POST", path, {}, key=k))
        retried = call("POST", path, {}, key=key)
        assert retried.status == 201, (where, retried.body)
        assert call("POST", path, {}, key=key).body == retried.body, where

        table = assert_invariants(aws, repaired=False, context=where)
        added = [n for n in published_versions(table, cert_id) if n not in before]
        assert added == [retried.body["versionNumber"]], f"{where}: one request published {added}"
        assert table.certificates[cert_id]["currentVersionNumber"] == added[0], where
        assert orphans(table) == [], f"{where}: the retry left {orphans(table)}"
    repair_and_check(container, aws, clock)


def test_a_renewal_killed_at_any_call_without_a_key_leaves_nothing_unstaged_after_the_repair_pass(
    crash: CrashHook, aws: Aws, clock: Clock, container: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    cert_id = call("POST", "/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    path = f"/certificates/{cert_id}/versions"
    for index, when in cases(crash, lambda: call("POST", path, {})):
        killed_at(crash, index, when, lambda: call("POST", path, {}))
        assert_invariants(aws, repaired=False, context=f"{when} {index}")
    unstaged = orphans(read_table(aws))
    assert unstaged, "some crash left a version unstaged (otherwise this test proves nothing)"
    repair_and_check(container, aws, clock)
    versions = read_table(aws).versions[cert_id]
    failed = [n for n, v in versions.items() if v["stages"] == ["FAILED"]]
    assert len(failed) == len(unstaged)
    audit = call("GET", f"/audit-events?resourceId={cert_id}&limit=100").body["items"]
    repaired = [a for a in audit if a["caller"] == "certwright:repair"]
    assert len(repaired) == len(unstaged) and all(a["result"] == "FAILED" for a in repaired)
    # The certificate still renews.
    assert call("POST", path, {}).status == 201


# -- revoke ---------------------------------------------------------------------------------------------------


def test_a_revocation_killed_at_any_call_then_retried_keeps_every_invariant(
    crash: CrashHook, aws: Aws, clock: Clock, container: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    def in_use(name: str) -> str:
        cert_id = str(call("POST", "/certificates", leaf_body(hierarchy.issuing["id"], name=name)).body["id"])
        body = {"certificateId": cert_id, "associatedResourceId": f"{HOST_ROLE}-{name}"}
        assert call("POST", "/associations", body).status == 201
        return cert_id

    reference = in_use("reference")
    revoke = "/certificates/{}/versions/1/actions/revoke"
    for index, when in cases(crash, lambda: call("POST", revoke.format(reference), {})):
        cert_id = in_use(f"v-{when}-{index}")
        where = killed_at(crash, index, when, lambda c=cert_id: call("POST", revoke.format(c), {}))
        retried = call("POST", revoke.format(cert_id), {})
        assert (retried.status, (retried.body or {}).get("code")) in ((200, None), (409, "AlreadyRevoked")), where
        table = assert_invariants(aws, repaired=False, context=where)
        assert table.versions[cert_id][1].get("revocation"), f"{where}: the retried revocation did not stand"
        current = table.certificates[cert_id]["currentVersionNumber"]
        assert current > 1 and not table.versions[cert_id][current].get("revocation"), (
            f"{where}: the certificate is in use and still serves its revoked version (no replacement)"
        )
    repair_and_check(container, aws, clock)


# -- deploy ---------------------------------------------------------------------------------------------------


def test_a_deployment_killed_at_any_call_then_run_again_serves_the_current_version(
    crash: CrashHook,
    aws: Aws,
    container: bootstrap.Container,
    hierarchy: Hierarchy,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(container.deployment._acm, "_interval", 0.0)  # ACM's 1 import/s pacing: real sleeps
    lb = make_load_balancer(aws, listeners=1)
    acm = aws.session.client("acm")
    cert_id = call("POST", "/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    for arn in lb.listeners:
        consent(aws.session, arn, cert_id)  # the listener's owner consents (services/consent.py)
    associations = [
        call("POST", "/associations", {"certificateId": cert_id, "associatedResourceId": arn}).body["id"]
        for arn in lb.listeners
    ]
    container.deployment.reconcile_certificate(cert_id)

    def deploy() -> object:
        return container.deployment.reconcile_certificate(cert_id)

    def renew() -> None:
        assert call("POST", f"/certificates/{cert_id}/versions", {}).status == 201

    renew()
    for index, when in cases(crash, deploy):
        renew()
        where = killed_at(crash, index, when, deploy)
        # I3 right after the crash: every listener has a default certificate ACM still holds.
        held = {c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]}
        for listener in lb.listeners:
            assert lb.served(listener)[0] in held, f"{where}: {listener} serves a deleted certificate"
        deploy()  # the same event again
        current = call("GET", f"/certificates/{cert_id}").body["currentVersion"]
        for association in associations:
            state = call("GET", f"/associations/{association}").body["deployment"]
            assert (state["state"], state["deployedVersion"]) == ("DEPLOYED", current["versionNumber"]), where
        serials = [lb.serial(lb.served(listener)[0]) for listener in lb.listeners]
        assert serials == [current["serialNumber"].lstrip("0").lower()] * len(lb.listeners), where
        held = {c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]}
        copies = [lb.serial(arn) for arn in held - {lb.placeholder_arn}]
        assert len(copies) == len(set(copies)), f"{where}: two ACM copies of one version"
        assert_invariants(aws, repaired=False, context=where)
    repair_and_check(container, aws, clock)


@pytest.mark.parametrize("when", list(When))
def test_the_crash_hook_kills_at_the_call_it_is_armed_for(
    crash: CrashHook, aws: Aws, container: bootstrap.Container, when: When
) -> None:
    _, calls = crash.record(lambda: call("GET", "/certificates"))
    where = killed_at(crash, len(calls) - 1, when, lambda: call("GET", "/certificates"))
    assert where.startswith(f"{when} {calls[-1]}")

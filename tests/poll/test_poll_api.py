"""POST /bundles/poll and POST /associations/{id}/actions/report-deployment through the API handler (moto in-process).

A host polls once for every certificate it is associated with, sees only its own, never a key and never causes a
KMS call; If-None-Match answers 304 until something changes (a renewal changes the etag). The host, and only the
host, reports what it installed: DEPLOYED (verified or not) or FAILED with a reason; a report about a version that
is not CURRENT is stale (409), about an unknown one 404.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from certwright.api.app import handle
from certwright.bootstrap import Container

from infra.api_events import LOCAL_ADMIN, api_event
from tests.conftest import Answer, ApiClient, Aws, Hierarchy, leaf_body
from tests.consent.test_consent import records

ACCOUNT = "123456789012"
HOST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-host"
HOST = f"arn:aws:sts::{ACCOUNT}:assumed-role/web-host/i-0abc"
OTHER_HOST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/db-host"
OTHER_HOST = f"arn:aws:sts::{ACCOUNT}:assumed-role/db-host/i-0def"
STRANGER = f"arn:aws:sts::{ACCOUNT}:assumed-role/team-b/bob"


def poll(api: ApiClient, caller: str, body: Any = None, etag: str | None = None) -> Answer:
    """The poll as Lambda answers it (REST proxy: response headers in multiValueHeaders)."""
    headers = {"If-None-Match": etag} if etag else None
    result = handle(
        api_event("POST", "/bundles/poll", body if body is not None else {}, caller=caller, headers=headers), None
    )
    text = result.get("body") or ""
    multi = {k: v[0] for k, v in (result.get("multiValueHeaders") or {}).items() if v}
    return Answer(result["statusCode"], json.loads(text) if text else None, {**multi, **(result.get("headers") or {})})


def report(api: ApiClient, association_id: str, caller: str = HOST, **body: Any) -> Answer:
    return api.post(f"/associations/{association_id}/actions/report-deployment", body, caller=caller)


def kms_calls(aws: Aws) -> int:
    return sum(n for name, n in aws.calls.calls.items() if name.startswith("kms."))


def associate(api: ApiClient, certificate_id: str, role: str, confirm_as: str | None) -> dict[str, Any]:
    created = api.post("/associations", {"certificateId": certificate_id, "associatedResourceId": role})
    assert created.status == 201, created.body
    if confirm_as is None:
        return dict(created.body)
    confirmed = api.post(f"/associations/{created.body['id']}/actions/confirm", {}, caller=confirm_as)
    assert (confirmed.status, confirmed.body["state"]) == (200, "ACTIVE"), confirmed.body
    return dict(confirmed.body)


class Setup:
    def __init__(self, api: ApiClient, hierarchy: Hierarchy) -> None:
        issuing = hierarchy.issuing["id"]
        self.web = api.post("/certificates", leaf_body(issuing, name="web")).body
        self.api_cert = api.post("/certificates", leaf_body(issuing, name="api")).body
        self.db = api.post("/certificates", leaf_body(issuing, name="db")).body
        self.confirmed = associate(api, self.web["id"], HOST_ROLE, confirm_as=HOST)
        self.pending = associate(api, self.api_cert["id"], HOST_ROLE, confirm_as=None)
        self.other = associate(api, self.db["id"], OTHER_HOST_ROLE, confirm_as=OTHER_HOST)


@pytest.fixture
def setup(api: ApiClient, hierarchy: Hierarchy) -> Setup:
    return Setup(api, hierarchy)


def test_a_host_polls_every_certificate_it_is_associated_with_and_only_those(
    api: ApiClient, aws: Aws, setup: Setup
) -> None:
    before = kms_calls(aws)
    answer = poll(api, HOST)
    assert answer.status == 200, answer.body
    assert kms_calls(aws) == before, "a poll made a KMS call"
    assert "PRIVATE KEY" not in json.dumps(answer.body) and "privateKeyPem" not in json.dumps(answer.body)
    assert answer.headers["ETag"] == answer.body["etag"] and answer.body["etag"].startswith('"')
    assert answer.body["omitted"] == 0, "no unconfirmed association was left out"
    items = {i["certificateId"]: i for i in answer.body["items"]}
    assert set(items) == {setup.web["id"], setup.api_cert["id"]}
    web = items[setup.web["id"]]
    current = setup.web["currentVersion"]
    assert web == {
        "associationId": setup.confirmed["id"],
        "certificateId": setup.web["id"],
        "certificateName": "web",
        "associatedResourceId": HOST_ROLE,
        "hostnames": [],
        "consentState": "CONFIRMED",
        "versionNumber": 1,
        "serialNumber": current["serialNumber"],
        "notAfter": web["notAfter"],
        "etag": web["etag"],
        "deployment": setup.confirmed["deployment"],
    }
    assert web["notAfter"].endswith("Z") and web["notAfter"][:19] == current["validity"]["notAfter"][:19]
    assert items[setup.api_cert["id"]]["consentState"] == "PENDING_CONFIRMATION"

    other = poll(api, OTHER_HOST).body["items"]
    assert [i["associationId"] for i in other] == [setup.other["id"]]
    # A principal with no association (also one with many rights, like the admin) polls an empty list.
    for nobody in (STRANGER, LOCAL_ADMIN, "arn:aws:sts::999999999999:assumed-role/web-host/i-0abc"):
        empty = poll(api, nobody)
        assert (empty.status, empty.body["items"]) == (200, []), nobody
    # The role itself (not only its sessions) sees the same.
    assert poll(api, HOST_ROLE).body == answer.body


def test_the_poll_can_be_narrowed_to_some_certificates_and_refuses_bad_input(api: ApiClient, setup: Setup) -> None:
    narrowed = poll(api, HOST, {"certificateIds": [setup.web["id"], setup.db["id"]]})
    assert [i["certificateId"] for i in narrowed.body["items"]] == [setup.web["id"]]
    assert narrowed.body["etag"] != poll(api, HOST).body["etag"]
    for body, code in (
        ({"certificateIds": "cert-1"}, "InvalidParameter"),
        ({"certificateIds": [""]}, "InvalidParameter"),
        ({"certificateIds": ["c"] * 101}, "InvalidParameter"),
        ({"unknown": 1}, "UnknownField"),
    ):
        refused = poll(api, HOST, body)
        assert (refused.status, refused.body["code"]) == (400, code), body


def test_if_none_match_answers_304_until_a_renewal_changes_the_etag(api: ApiClient, aws: Aws, setup: Setup) -> None:
    first = poll(api, HOST)
    etag = first.body["etag"]
    again = poll(api, HOST, etag=etag)
    assert (again.status, again.body, again.headers["ETag"]) == (304, None, etag)
    assert poll(api, HOST, etag=f'W/{etag}, "something-else"').status == 304
    assert poll(api, HOST, etag='"not-the-etag"').status == 200
    assert poll(api, HOST).body["etag"] == etag, "the etag is stable while nothing changes"

    renewed = api.post(f"/certificates/{setup.web['id']}/versions", {})
    assert renewed.status == 201, renewed.body
    changed = poll(api, HOST, etag=etag)
    assert changed.status == 200 and changed.body["etag"] != etag
    items = {i["certificateId"]: i for i in changed.body["items"]}
    old = {i["certificateId"]: i for i in first.body["items"]}
    web = items[setup.web["id"]]
    assert (web["versionNumber"], web["serialNumber"]) == (2, renewed.body["serialNumber"])
    assert web["etag"] != old[setup.web["id"]]["etag"]
    assert items[setup.api_cert["id"]]["etag"] == old[setup.api_cert["id"]]["etag"], "an unchanged item keeps its tag"
    # The other host's poll did not change.
    assert poll(api, OTHER_HOST).status == 200


def test_the_host_reports_deployed_and_failed_and_the_association_shows_it(
    api: ApiClient, aws: Aws, setup: Setup, container: Container
) -> None:
    association = setup.confirmed["id"]
    etag = poll(api, HOST).body["etag"]
    before = kms_calls(aws)
    deployed = report(api, association, versionNumber=1, state="DEPLOYED", verified=True)
    assert deployed.status == 200, deployed.body
    assert kms_calls(aws) == before
    d = deployed.body["deployment"]
    assert (d["state"], d["deployedVersion"], d["desiredVersion"], d["lastError"]) == ("DEPLOYED", 1, 1, None)
    assert d["verifiedAt"] and d["deployedSerialNumber"] == setup.web["currentVersion"]["serialNumber"]
    assert api.get(f"/associations/{association}").body["deployment"] == d
    assert poll(api, HOST, etag=etag).status == 200, "the report shows in the next poll"
    repeated = report(api, association, versionNumber=1, state="DEPLOYED", verified=True)
    assert repeated.body == deployed.body, "a repeated report changes nothing"

    assert api.post(f"/certificates/{setup.web['id']}/versions", {}).status == 201
    failed = report(
        api, association, versionNumber=2, state="FAILED", reason="nginx -s reload failed:\nunknown directive"
    )
    assert failed.status == 200, failed.body
    f = failed.body["deployment"]
    assert (f["state"], f["deployedVersion"], f["desiredVersion"]) == ("FAILED", 1, 2)
    assert f["lastError"] == "nginx -s reload failed: unknown directive"
    unverified = report(api, association, versionNumber=2, state="DEPLOYED", verified=False)
    u = unverified.body["deployment"]
    assert (u["state"], u["deployedVersion"], u["verifiedAt"], u["lastError"]) == ("DEPLOYED", 2, None, None)

    trail = [r for r in records(aws, setup.web["id"]) if r["action"] == "ReportDeployment"]
    assert sorted((r["details"]["state"], r["details"]["versionNumber"]) for r in trail) == [
        ("DEPLOYED", "1"),
        ("DEPLOYED", "2"),
        ("FAILED", "2"),
    ]
    assert all(r["actor"] == HOST for r in trail)


def _rows(aws: Aws) -> set[tuple[str, str, str]]:
    return {(i["pk"]["S"], i["sk"]["S"], i.get("row_version", {}).get("N", "")) for i in aws.table_items()}


def test_stale_unknown_and_refused_reports_change_nothing(api: ApiClient, aws: Aws, setup: Setup) -> None:
    association = setup.confirmed["id"]
    assert api.post(f"/certificates/{setup.web['id']}/versions", {}).status == 201
    rows = _rows(aws)
    for body, status, code in (
        ({"versionNumber": 1, "state": "DEPLOYED"}, 409, "StaleDeploymentReport"),
        ({"versionNumber": 99, "state": "DEPLOYED"}, 404, "NotFound"),
        ({"versionNumber": 2, "state": "FAILED"}, 400, "InvalidParameter"),
        ({"versionNumber": 2, "state": "FAILED", "reason": "bad\x1b[31m"}, 400, "InvalidParameter"),
        ({"versionNumber": 2, "state": "DEPLOYED", "reason": "why"}, 400, "InvalidParameter"),
        ({"versionNumber": 2, "state": "INSTALLED"}, 400, "InvalidParameter"),
        ({"versionNumber": "2", "state": "DEPLOYED"}, 400, "InvalidParameter"),
        ({"versionNumber": 2, "state": "DEPLOYED", "extra": True}, 400, "UnknownField"),
    ):
        answer = report(api, association, **body)
        assert (answer.status, answer.body["code"]) == (status, code), (body, answer.body)
    assert _rows(aws) == rows, "a refused report wrote something"
    pending = report(api, setup.pending["id"], versionNumber=1, state="DEPLOYED")
    assert (pending.status, pending.body["code"]) == (409, "AssociationNotActive")
    assert _rows(aws) == rows

    # Someone who cannot see the association: as if it did not exist. Its certificate's admin: 403, audited.
    hidden = report(api, association, caller=STRANGER, versionNumber=2, state="DEPLOYED")
    assert (hidden.status, hidden.body["code"]) == (404, "NotFound")
    other_host = report(api, association, caller=OTHER_HOST, versionNumber=2, state="DEPLOYED")
    assert (other_host.status, other_host.body["code"]) == (404, "NotFound")
    admin = report(api, association, caller=LOCAL_ADMIN, versionNumber=2, state="DEPLOYED")
    assert (admin.status, admin.body["code"]) == (403, "NotAuthorized")
    denied = [r for r in records(aws, setup.web["id"]) if r["action"] == "ReportDeployment"]
    assert [(r["result"], r["details"]["reason"]) for r in denied] == [("DENIED", "NOT_THE_ASSOCIATED_PRINCIPAL")]
    assert api.get(f"/associations/{association}").body["deployment"]["state"] == "PENDING"

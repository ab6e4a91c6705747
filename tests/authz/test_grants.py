"""Grants: only the owner or an admin gives and takes roles; each is audited; a role does what it says."""

from __future__ import annotations

import pytest

from tests.authz.conftest import ADMIN, GRANTEE, GRANTEE_ROLE, OTHER, OTHER_ROLE, OWNER, World, created
from tests.conftest import ApiClient, Aws, leaf_body

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged


def test_an_issuer_grant_lets_a_team_issue_and_taking_it_back_stops_it(api: ApiClient, world: World) -> None:
    body = leaf_body(world.issuing, name="b-web")
    assert api.post("/certificates", body, caller=OTHER).status == 404
    grant = created(
        api.post("/grants", {"resourceId": world.issuing, "principalArn": OTHER, "role": "ISSUER"}, caller=OWNER)
    )
    # A session ARN names its role.
    assert grant["principalArn"] == OTHER_ROLE
    issued = created(api.post("/certificates", body, caller=OTHER))
    # B owns what it issued; the CA's owner does not manage B's certificate by owning the CA.
    assert api.call("PATCH", f"/certificates/{issued['id']}", {"name": "x"}, caller=OWNER).status == 404
    assert api.call("PATCH", f"/certificates/{issued['id']}", {"name": "b-web2"}, caller=OTHER).status == 200
    assert api.call("DELETE", f"/grants/{grant['id']}", caller=OWNER).status == 204
    assert api.post("/certificates", leaf_body(world.issuing, name="again"), caller=OTHER).status == 404


def test_only_the_owner_or_an_admin_grants(api: ApiClient, world: World) -> None:
    body = {"resourceId": world.certificate, "principalArn": OTHER_ROLE, "role": "READER"}
    assert api.post("/grants", body, caller=GRANTEE).status == 403  # a manager, not the owner
    assert api.post("/grants", body, caller=OTHER).status == 404
    assert api.post("/grants", body, caller=ADMIN).status == 201
    assert api.post("/grants", body, caller=OWNER).status == 409  # the same role twice


def test_grants_are_listed_and_audited(api: ApiClient, aws: Aws, world: World) -> None:
    listed = api.get(f"/grants?resourceId={world.certificate}", caller=OWNER).body["items"]
    assert [(g["principalArn"], g["role"]) for g in listed] == [(GRANTEE_ROLE, "MANAGER")]
    assert api.call("DELETE", f"/grants/{listed[0]['id']}", caller=OWNER).status == 204
    trail = api.get(f"/audit-events?resourceId={world.certificate}", caller=OWNER).body["items"]
    actions = [(r["action"], r["details"].get("role")) for r in trail if "Grant" in r["action"]]
    assert sorted(actions) == [("CreateGrant", "MANAGER"), ("DeleteGrant", "MANAGER")]
    # The grantee lost its role: the certificate is invisible to it again.
    assert api.get(f"/certificates/{world.certificate}", caller=GRANTEE).status == 404


def test_bad_grants_are_refused(api: ApiClient, world: World) -> None:
    def grant(resource: str, principal: str, role: str) -> tuple[int, str]:
        answer = api.post("/grants", {"resourceId": resource, "principalArn": principal, "role": role}, caller=OWNER)
        return answer.status, answer.body["code"]

    assert grant(world.certificate, OTHER_ROLE, "ISSUER") == (400, "InvalidRole")
    assert grant(world.certificate, "AROAEXAMPLE:bob", "READER") == (400, "InvalidParameter")
    assert grant("assoc-123", OTHER_ROLE, "READER") == (400, "InvalidParameter")
    assert grant(world.certificate, OTHER_ROLE, "OWNER")[0] == 400
    assert api.call("DELETE", "/grants/grant-missing", caller=OWNER).status == 404

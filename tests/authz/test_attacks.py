"""Each attack from issue 9, tried by B (another principal of the same account) or X (another account) on A's
resources: every one is refused with no side effect but the audit record of the denial.
"""

from __future__ import annotations

import pytest
from certwright.bootstrap import Container

from tests.authz.conftest import (
    FOREIGN,
    GRANTEE_ROLE,
    OTHER,
    OTHER_ROLE,
    OWNER,
    OWNER_ROLE,
    World,
    assert_only_a_denial_audit,
    created,
    snapshot,
)
from tests.conftest import ApiClient, Aws, leaf_body, root_ca_body, sub_ca_body

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

B_SESSION = OTHER


def refused(aws: Aws, api: ApiClient, method: str, path: str, body: object = None, caller: str = B_SESSION) -> int:
    before = snapshot(aws)
    answer = assert_only_a_denial_audit(aws, before, lambda: api.call(method, path, body, caller=caller))
    assert answer.status in (403, 404), answer.body
    return int(answer.status)


def test_b_cannot_issue_from_a_ca(api: ApiClient, aws: Aws, world: World) -> None:
    assert refused(aws, api, "POST", "/certificates", leaf_body(world.issuing, name="evil")) == 404


def test_b_cannot_create_a_subordinate_under_a_root(api: ApiClient, aws: Aws, world: World) -> None:
    body = sub_ca_body(world.root, name="evil-sub")
    assert refused(aws, api, "POST", "/certificate-authorities", body) == 404


def test_b_cannot_rename_renew_or_revoke_a_certificate(api: ApiClient, aws: Aws, world: World) -> None:
    c = f"/certificates/{world.certificate}"
    assert refused(aws, api, "PATCH", c, {"name": "renamed"}) == 404
    assert refused(aws, api, "POST", f"{c}/versions", {}) == 404
    assert refused(aws, api, "POST", f"{c}/versions/1/actions/revoke", {"revocationReason": "KEY_COMPROMISE"}) == 404
    assert api.get(c, caller=OWNER).body["name"] == "web"


def test_b_cannot_revoke_a_subordinate_ca(api: ApiClient, aws: Aws, world: World) -> None:
    path = f"/certificate-authorities/{world.issuing}/versions/1/actions/revoke"
    assert refused(aws, api, "POST", path, {"revocationReason": "KEY_COMPROMISE"}) == 404


def test_b_cannot_delete_an_association(api: ApiClient, aws: Aws, world: World) -> None:
    assert refused(aws, api, "DELETE", f"/associations/{world.host_association}") == 404
    assert api.get(f"/associations/{world.host_association}", caller=OWNER).status == 200


def test_b_cannot_delete_a_ca_bundle(api: ApiClient, aws: Aws, world: World) -> None:
    assert refused(aws, api, "DELETE", f"/ca-bundles/{world.bundle}") == 404


def test_b_cannot_put_its_root_into_a_bundle(api: ApiClient, aws: Aws, world: World) -> None:
    b_root = created(api.post("/certificate-authorities", root_ca_body(name="b-root"), caller=B_SESSION))["id"]
    body = {"certificateAuthorityIds": [world.issuing, b_root]}
    assert refused(aws, api, "POST", f"/ca-bundles/{world.bundle}/versions", body) == 404
    # Even a reader of the bundle may not change it.
    grant = {"resourceId": world.bundle, "principalArn": OTHER_ROLE, "role": "READER"}
    assert api.post("/grants", grant, caller=OWNER).status == 201
    assert refused(aws, api, "POST", f"/ca-bundles/{world.bundle}/versions", body) == 403
    assert api.get(f"/ca-bundles/{world.bundle}", caller=OWNER).body["certificateAuthorityIds"] == [world.issuing]


def test_b_cannot_associate_itself_with_a_certificate_and_read_its_key(api: ApiClient, aws: Aws, world: World) -> None:
    body = {"certificateId": world.certificate, "associatedResourceId": OTHER_ROLE}
    assert refused(aws, api, "POST", "/associations", body) == 404
    key = f"/certificates/{world.certificate}/bundle?includePrivateKey=true"
    decrypts = aws.calls["kms.Decrypt"]
    assert refused(aws, api, "GET", key) == 404
    assert aws.calls["kms.Decrypt"] == decrypts


def test_a_manager_cannot_associate_itself_and_read_the_key_it_cannot_read_before(
    api: ApiClient, aws: Aws, world: World, container: Container
) -> None:
    """The grantee manages the certificate: it may associate, but even so an association it makes to itself
    does not let it read the key unless the key service agrees (consent); the decision point alone
    only lets the associated principal ask."""
    key = f"/certificates/{world.certificate}/bundle?includePrivateKey=true"
    assert refused(aws, api, "GET", key, caller=world.callers["granted"]) == 403


def test_a_principal_from_another_account_does_nothing(api: ApiClient, aws: Aws, world: World) -> None:
    assert refused(aws, api, "POST", "/certificate-authorities", root_ca_body(name="x"), caller=FOREIGN) == 403
    assert refused(aws, api, "POST", "/certificates", leaf_body(world.issuing), caller=FOREIGN) == 404
    assert refused(aws, api, "GET", f"/certificates/{world.certificate}", caller=FOREIGN) == 404
    listed = api.get("/certificates", caller=FOREIGN)
    assert (listed.status, listed.body["items"]) == (200, [])


def test_a_manager_cannot_name_itself_as_the_host_confirm_and_read_the_key(
    api: ApiClient, aws: Aws, world: World
) -> None:
    """The grantee manages the certificate, so it may associate it — but not with its own role: it would then
    confirm as that host and become the key reader (key access is given on behalf of a host, never taken)."""
    before = snapshot(aws)
    body = {"certificateId": world.certificate, "associatedResourceId": GRANTEE_ROLE}
    answer = api.post("/associations", body, caller=world.callers["granted"])
    assert (answer.status, answer.body["code"]) == (403, "SelfAssociation"), answer.body
    after = snapshot(aws)
    assert after.kms == before.kms
    added = after.items - before.items
    assert len(added) == 1 and next(iter(added))[0].startswith("AUDIT#"), added


def test_the_owner_cannot_be_made_the_host_of_its_own_certificate_even_by_an_admin(
    api: ApiClient, aws: Aws, world: World
) -> None:
    body = {"certificateId": world.certificate, "associatedResourceId": OWNER_ROLE}
    answer = api.post("/associations", body, caller=world.callers["admin"])
    assert (answer.status, answer.body["code"]) == (403, "SelfAssociation"), answer.body


def test_a_host_that_has_not_confirmed_is_no_key_reader(api: ApiClient, aws: Aws, world: World) -> None:
    """A PENDING_CONFIRMATION host may read its certificate and association (to confirm), not the key."""
    pending_host = "arn:aws:iam::123456789012:role/pending-host"
    body = {"certificateId": world.certificate, "associatedResourceId": pending_host}
    created = api.post("/associations", body, caller=world.callers["owner"])
    assert (created.status, created.body["state"]) == (201, "PENDING_CONFIRMATION"), created.body
    decrypts = aws.calls["kms.Decrypt"]
    session = "arn:aws:sts::123456789012:assumed-role/pending-host/i-9"
    key = api.get(f"/certificates/{world.certificate}/bundle?includePrivateKey=true", caller=session)
    assert key.status == 403, key.body
    assert aws.calls["kms.Decrypt"] == decrypts
    assert api.get(f"/associations/{created.body['id']}", caller=session).status == 200

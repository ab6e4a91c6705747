"""Identity: only requestContext.identity.userArn names the caller; sessions normalize to their role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from certwright.api.app import handle
from certwright.authorization.identity import normalize_arn, principal_from_arn
from certwright.domain.association import principal_arn
from certwright.errors import AccessDeniedError

from infra.api_events import api_event
from tests.authz.conftest import OWNER, World, assert_only_a_denial_audit, snapshot
from tests.conftest import ApiClient, Aws, root_ca_body


def test_an_assumed_role_session_is_its_role_and_keeps_its_session_name() -> None:
    p = principal_from_arn("arn:aws:sts::123456789012:assumed-role/web-host/i-0abc")
    assert (p.arn, p.account, p.kind, p.name, p.session_name) == (
        "arn:aws:iam::123456789012:role/web-host",
        "123456789012",
        "role",
        "web-host",
        "i-0abc",
    )
    assert p.caller_arn == "arn:aws:sts::123456789012:assumed-role/web-host/i-0abc"
    # A role ARN with a path matches by name: session ARNs carry no path.
    assert normalize_arn("arn:aws:iam::123456789012:role/team/web-host") == "arn:aws:iam::123456789012:role/web-host"
    assert (
        principal_arn("arn:aws:sts::123456789012:assumed-role/web-host/x") == "arn:aws:iam::123456789012:role/web-host"
    )
    assert normalize_arn("arn:aws:iam::123456789012:user/alice") == "arn:aws:iam::123456789012:user/alice"


@pytest.mark.parametrize(
    "value",
    ["", "AROAEXAMPLEID:i-0abc", "alice", "arn:aws:s3:::bucket", "arn:aws:iam::12345:role/short-account"],
)
def test_what_is_not_an_iam_arn_identifies_nobody(value: str) -> None:
    with pytest.raises(AccessDeniedError):
        principal_from_arn(value)


def _call(identity: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    event = api_event(method, path, body)
    event["requestContext"]["identity"] = identity
    result = handle(event, None)
    return result["statusCode"], json.loads(result["body"]) if result["body"] else None


def test_identity_caller_is_never_taken_as_the_caller(api: ApiClient, aws: Aws) -> None:
    before = snapshot(aws)
    status, body = _call({"caller": OWNER, "sourceIp": "127.0.0.1"}, "POST", "/certificate-authorities", root_ca_body())
    assert (status, body["code"]) == (403, "NotAuthorized")
    after = snapshot(aws)
    assert (after.kms, after.writes, after.items) == (before.kms, before.writes, before.items)


def test_a_request_without_identity_is_refused_even_for_reads(api: ApiClient, world: World) -> None:
    status, body = _call({}, "GET", f"/certificates/{world.certificate}")
    assert (status, body["code"]) == (403, "NotAuthorized")
    status, _ = _call({}, "GET", "/certificates")
    assert status == 403


def test_the_audit_keeps_the_session_and_ownership_is_the_role(api: ApiClient, aws: Aws, world: World) -> None:
    other_session = "arn:aws:sts::123456789012:assumed-role/team-a/another-session"
    # Another session of the same role is the same owner.
    assert api.get(f"/certificates/{world.certificate}", caller=other_session).status == 200
    records = api.get(f"/audit-events?resourceId={world.certificate}", caller=other_session).body["items"]
    assert {r["caller"] for r in records if r["action"] == "CreateCertificate"} == {OWNER}
    # A denial is audited with the caller's session ARN too.
    b = "arn:aws:sts::123456789012:assumed-role/team-b/bob"
    before = snapshot(aws)
    assert_only_a_denial_audit(aws, before, lambda: api.get(f"/certificates/{world.certificate}", caller=b))
    denied = [
        r for r in api.get(f"/audit-events?resourceId={world.certificate}").body["items"] if r["result"] == "DENIED"
    ]
    assert (denied[0]["caller"], denied[0]["details"]["principal"]) == (b, "arn:aws:iam::123456789012:role/team-b")

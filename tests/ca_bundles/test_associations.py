"""Associations to a CA bundle: a listener or host that trusts it; records that block deletion, never deployed."""

from __future__ import annotations

from typing import Any

from certwright import bootstrap
from certwright.events import AssociationCreated, AssociationDeleted

from tests.ca_bundles.pems import ca_pem
from tests.conftest import ApiClient, Aws, Hierarchy
from tests.functions.test_bad_input import assert_rejected
from tests.lifecycle.handlers import LambdaContext, eventbridge_envelope, load_function

LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
HOST = "arn:aws:iam::123456789012:role/edge-proxy"
ACM = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def _bundle(api: ApiClient) -> str:
    answer = api.post("/ca-bundles", {"name": "clients", "caBundlePem": ca_pem("Client Root")})
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def test_bad_bundle_associations_are_refused_without_side_effect(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy
) -> None:
    bundle_id = _bundle(api)
    assert api.post("/associations", {"caBundleId": bundle_id, "associatedResourceId": HOST}).status == 201
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"caBundleId": bundle_id, "certificateId": "cert-x", "associatedResourceId": HOST}, 400, "InvalidParameter"),
        ({"associatedResourceId": HOST}, 400, "InvalidParameter"),
        ({"caBundleId": bundle_id, "associatedResourceId": ACM}, 400, "UnsupportedAssociationTarget"),
        (
            {"caBundleId": bundle_id, "associatedResourceId": LISTENER, "hostnames": ["www.example.com"]},
            400,
            "UnsupportedAssociationTarget",
        ),
        ({"caBundleId": bundle_id, "associatedResourceId": HOST}, 409, "AssociationExists"),
        ({"caBundleId": "cabundle-nope", "associatedResourceId": HOST}, 404, "NotFound"),
        ({"caBundleId": bundle_id, "associatedResourceId": "not-an-arn"}, 400, "InvalidParameter"),
    ]
    for body, status, code in cases:
        assert_rejected(aws, lambda body=body: api.post("/associations", body), status, code)


def test_association_events_for_a_bundle_deploy_nothing(
    api: ApiClient, aws: Aws, container: bootstrap.Container
) -> None:
    bundle_id = _bundle(api)
    association = api.post("/associations", {"caBundleId": bundle_id, "associatedResourceId": LISTENER}).body
    handler = load_function("association_change").lambda_handler
    before = dict(aws.calls.calls)

    created = AssociationCreated("evt-1", association["id"], 1, "", LISTENER, "LOAD_BALANCER_LISTENER")
    result = handler(eventbridge_envelope(created), LambdaContext())
    assert result == {"association": association["id"], "state": "PENDING"}
    deleted = AssociationDeleted(
        "evt-2", association["id"], 2, "", LISTENER, "LOAD_BALANCER_LISTENER", "DEFAULT", None, None
    )
    handler(eventbridge_envelope(deleted), LambdaContext())

    touched = {k for k, v in aws.calls.calls.items() if v != before.get(k)}
    assert not {k for k in touched if k.split(".")[0] in ("acm", "elasticloadbalancingv2", "elbv2", "kms")}

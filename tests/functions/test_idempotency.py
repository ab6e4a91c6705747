"""Idempotency-Key on create calls: a repeat answers the first answer and creates nothing; a reused key is a 409."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from certwright.api import request as api_request
from certwright.api.app import app, handle, openapi_document

from infra.api_events import api_event
from tests.conftest import Answer, ApiClient, Aws, Hierarchy, leaf_body, root_ca_body, sub_ca_body
from tests.functions.test_bad_input import CONSTRAINTS, assert_rejected, side_effects

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"
OTHER_ADMIN = "arn:aws:iam::123456789012:user/second-admin"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def certificates_of(api: ApiClient) -> list[str]:
    return sorted(c["id"] for c in api.get("/certificates").body["items"])


# -- a repeat creates nothing -----------------------------------------------------------------------------------


def test_a_repeated_certificate_request_is_answered_once(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    signs, encrypts = aws.calls["kms.Sign"], aws.calls["kms.Encrypt"]
    first = api.post("/certificates", body, headers=keyed("cert-1"))
    assert first.status == 201, first.body
    after_first = side_effects(aws)
    again = [api.post("/certificates", body, headers=keyed("cert-1")) for _ in range(3)]
    assert [(a.status, a.body) for a in again] == [(201, first.body)] * 3
    assert side_effects(aws) == after_first
    assert (aws.calls["kms.Sign"], aws.calls["kms.Encrypt"]) == (signs + 1, encrypts + 1)
    assert certificates_of(api) == [first.body["id"]]


def test_a_repeated_ca_request_creates_one_key(api: ApiClient, aws: Aws) -> None:
    keys, signs = aws.calls["kms.CreateKey"], aws.calls["kms.Sign"]
    first = api.post("/certificate-authorities", root_ca_body(), headers=keyed("root-1"))
    assert first.status == 201, first.body
    second = api.post("/certificate-authorities", root_ca_body(), headers=keyed("root-1"))
    assert (second.status, second.body["id"]) == (201, first.body["id"])
    assert (aws.calls["kms.CreateKey"], aws.calls["kms.Sign"]) == (keys + 1, signs + 1)
    assert [ca["id"] for ca in api.get("/certificate-authorities").body["items"]] == [first.body["id"]]


def test_a_repeated_renewal_adds_one_version(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    signs = aws.calls["kms.Sign"]
    first = api.post(f"/certificates/{cert_id}/versions", {}, headers=keyed("renew-1"))
    second = api.post(f"/certificates/{cert_id}/versions", {}, headers=keyed("renew-1"))
    assert first.status == second.status == 201
    assert second.body == first.body and first.body["versionNumber"] == 2
    assert aws.calls["kms.Sign"] == signs + 1
    assert [v["versionNumber"] for v in api.get(f"/certificates/{cert_id}/versions").body["items"]] == [1, 2]


def test_a_repeated_association_is_not_a_conflict(api: ApiClient, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    body = {"certificateId": cert_id, "associatedResourceId": HOST_ROLE}
    first = api.post("/associations", body, headers=keyed("assoc-1"))
    second = api.post("/associations", body, headers=keyed("assoc-1"))
    assert (first.status, second.status, second.body) == (201, 201, first.body)
    assert api.get(f"/certificates/{cert_id}").body["associationCount"] == 1
    # Without the key the same request is the conflict it really is.
    assert api.post("/associations", body).body["code"] == "AssociationExists"


def test_the_order_of_fields_does_not_make_a_different_body(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    first = api.post("/certificates", body, headers=keyed("ordered"))
    reordered = json.dumps(dict(reversed(list(body.items()))))
    second = api.post("/certificates", reordered, headers=keyed("ordered"))
    assert (second.status, second.body["id"]) == (201, first.body["id"])


@pytest.mark.parametrize("header", ["idempotency-key", "IDEMPOTENCY-KEY", "Idempotency-key"])
def test_the_header_name_is_case_insensitive(api: ApiClient, aws: Aws, hierarchy: Hierarchy, header: str) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    first = api.post("/certificates", body, headers=keyed("case"))
    signs = aws.calls["kms.Sign"]
    second = api.post("/certificates", body, headers={header: "case"})
    assert (second.status, second.body["id"]) == (201, first.body["id"])
    assert aws.calls["kms.Sign"] == signs


# -- a reused key with another body is refused ------------------------------------------------------------------

OTHER_BODIES: list[tuple[str, Callable[[str], dict[str, Any]], Callable[[str], dict[str, Any]]]] = [
    ("/certificates", lambda ca: leaf_body(ca), lambda ca: leaf_body(ca, name="web-2")),
    ("/certificates", lambda ca: leaf_body(ca), lambda ca: leaf_body(ca, validityDuration="P31D")),
    (
        "/certificates",
        lambda ca: leaf_body(ca),
        lambda ca: leaf_body(ca, subjectAlternativeNames=[{"type": "DNS", "value": "www.example.com"}]),
    ),
    ("/certificates", lambda ca: leaf_body(ca), lambda ca: leaf_body(ca, keyAlgorithm="ECDSA_P384")),
    ("/certificate-authorities", lambda ca: sub_ca_body(ca), lambda ca: sub_ca_body(ca, name="issuing-2")),
    ("/certificate-authorities", lambda ca: sub_ca_body(ca), lambda ca: sub_ca_body(ca, keyAlgorithm="RSA2048")),
]


@pytest.mark.parametrize(("path", "first", "other"), OTHER_BODIES)
def test_the_same_key_with_a_different_body_is_refused_without_side_effect(
    api: ApiClient,
    aws: Aws,
    hierarchy: Hierarchy,
    path: str,
    first: Callable[[str], dict[str, Any]],
    other: Callable[[str], dict[str, Any]],
) -> None:
    issuer = hierarchy.issuing["id"] if path == "/certificates" else hierarchy.root["id"]
    original = api.post(path, first(issuer), headers=keyed("reused"))
    assert original.status == 201, original.body
    assert_rejected(aws, lambda: api.post(path, other(issuer), headers=keyed("reused")), 409, "IdempotencyKeyReused")
    # The first answer is still the one the key stands for.
    assert api.post(path, first(issuer), headers=keyed("reused")).body["id"] == original.body["id"]


def test_a_new_version_with_the_key_of_another_body_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    assert api.post(f"/certificates/{cert_id}/versions", {}, headers=keyed("v")).status == 201
    other = {"stage": "PENDING"}
    path = f"/certificates/{cert_id}/versions"
    assert_rejected(aws, lambda: api.post(path, other, headers=keyed("v")), 409, "IdempotencyKeyReused")


# -- what a key is scoped to ------------------------------------------------------------------------------------


def test_keys_belong_to_their_caller(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    # Since issue 9 a second principal needs the ISSUER role on the CA to issue from it at all.
    grant = {"resourceId": hierarchy.issuing["id"], "principalArn": OTHER_ADMIN, "role": "ISSUER"}
    assert api.post("/grants", grant).status == 201
    mine = api.post("/certificates", body, headers=keyed("shared-key"))
    theirs = api.post("/certificates", body, headers=keyed("shared-key"), caller=OTHER_ADMIN)
    assert mine.status == theirs.status == 201
    assert theirs.body["id"] != mine.body["id"], "another caller's key must not replay someone else's answer"
    assert theirs.body["createdBy"] == OTHER_ADMIN
    assert (
        api.post("/certificates", body, headers=keyed("shared-key"), caller=OTHER_ADMIN).body["id"] == theirs.body["id"]
    )
    # A different body under the other caller's key is only a conflict for that caller's own key.
    different = leaf_body(hierarchy.issuing["id"], name="other")
    assert api.post("/certificates", different, headers=keyed("shared-key"), caller=OTHER_ADMIN).status == 409


def test_keys_belong_to_their_operation(api: ApiClient, hierarchy: Hierarchy) -> None:
    first = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    second = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="second")).body["id"]
    renewed = [api.post(f"/certificates/{c}/versions", {}, headers=keyed("renew")) for c in (first, second)]
    assert [(r.status, r.body["certificateId"], r.body["versionNumber"]) for r in renewed] == [
        (201, first, 2),
        (201, second, 2),
    ]
    ca = api.post("/certificate-authorities", sub_ca_body(hierarchy.root["id"], name="k"), headers=keyed("same"))
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="k"), headers=keyed("same"))
    assert (
        (ca.status, cert.status) == (201, 201)
        and ca.body["id"].startswith("ca-")
        and cert.body["id"].startswith("cert-")
    )


# -- refused requests do not burn the key -----------------------------------------------------------------------


def test_a_refused_request_leaves_its_key_unused(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    created = api.post(
        "/certificate-authorities", sub_ca_body(hierarchy.root["id"], rules={"nameConstraint": CONSTRAINTS})
    )
    ca_id = created.body["id"]
    outside = leaf_body(ca_id, subjectAlternativeNames=[{"type": "DNS", "value": "www.example.org"}])
    for _ in range(2):
        assert_rejected(
            aws, lambda: api.post("/certificates", outside, headers=keyed("k1")), 422, "NameConstraintViolation"
        )
    fixed = api.post("/certificates", leaf_body(ca_id), headers=keyed("k1"))
    assert fixed.status == 201, fixed.body
    assert api.post("/certificates", leaf_body(ca_id), headers=keyed("k1")).body["id"] == fixed.body["id"]


@pytest.mark.parametrize("key", ["", "k" * 256, "bell\x07", "new\nline", "tab\tkey", "caf\u00e9"])
def test_malformed_keys_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, key: str) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    assert_rejected(aws, lambda: api.post("/certificates", body, headers=keyed(key)), 400, "InvalidParameter")


def test_the_longest_key_is_accepted(api: ApiClient, hierarchy: Hierarchy) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    first = api.post("/certificates", body, headers=keyed("k" * 255))
    assert first.status == 201
    assert api.post("/certificates", body, headers=keyed("k" * 255)).body["id"] == first.body["id"]


# -- an invocation that dies mid-request ------------------------------------------------------------------------


class LambdaTimeout(BaseException):
    """What the Lambda runtime does to a handler at its deadline: nothing below gets to catch it."""


class FakeLambdaContext:
    def __init__(self, remaining_millis: int) -> None:
        self.remaining_millis = remaining_millis
        self.function_name = "issuance_api"
        self.aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@pytest.fixture
def sign_dies(aws: Aws) -> Iterator[list[bool]]:
    """Arm with `sign_dies[0] = True`: the next KMS Sign request is cut off as a Lambda timeout would."""
    armed = [False]

    def cut_off(event_name: str, **_: Any) -> None:
        if armed[0] and event_name == "before-send.kms.Sign":
            armed[0] = False
            raise LambdaTimeout

    assert aws.hooks is not None  # the module is staged: the container's clients exist, the stage forwards
    aws.hooks.append((("kms",), cut_off))
    yield armed


def _invoke(body: dict[str, Any], key: str, context: FakeLambdaContext) -> Answer:
    result = handle(api_event("POST", "/certificates", body, headers=keyed(key)), context)
    return Answer(result["statusCode"], json.loads(result["body"]), result.get("headers") or {})


def test_a_request_cut_off_at_the_deadline_can_be_retried_with_its_key(
    sign_dies: list[bool], api: ApiClient, hierarchy: Hierarchy
) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    sign_dies[0] = True
    with pytest.raises(LambdaTimeout):
        _invoke(body, "deadline", FakeLambdaContext(remaining_millis=0))
    retried = _invoke(body, "deadline", FakeLambdaContext(remaining_millis=30_000))
    assert retried.status == 201, retried.body
    assert _invoke(body, "deadline", FakeLambdaContext(30_000)).body["id"] == retried.body["id"]


def test_a_request_still_running_is_not_run_twice(
    sign_dies: list[bool], api: ApiClient, aws: Aws, hierarchy: Hierarchy
) -> None:
    body = leaf_body(hierarchy.issuing["id"])
    sign_dies[0] = True
    with pytest.raises(LambdaTimeout):
        _invoke(body, "busy", FakeLambdaContext(remaining_millis=60_000))
    signs = aws.calls["kms.Sign"]
    concurrent = _invoke(body, "busy", FakeLambdaContext(remaining_millis=60_000))
    assert (concurrent.status, concurrent.body["code"]) == (409, "RequestInProgress")
    assert aws.calls["kms.Sign"] == signs


# -- the header in the OpenAPI document ---------------------------------------------------------------------------


def _honouring() -> set[tuple[str, str]]:
    """The operations that honour the key, from the code: the routes whose function calls the create wrapper."""
    found = set()
    for route in (*app._static_routes, *app._dynamic_routes):
        code = route.func.__code__
        if any(route.func.__globals__.get(name) is api_request.create for name in code.co_names):
            found.add((route.method, route.openapi_path))
    return found


def test_the_document_declares_the_header_on_exactly_the_operations_that_honour_it() -> None:
    honouring = _honouring()
    assert ("POST", "/certificates") in honouring and ("POST", "/acme/eab-keys") not in honouring
    document = json.loads(openapi_document())
    declared: set[tuple[str, str]] = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
            for header in headers:
                if header["name"].lower() != "idempotency-key":
                    continue
                declared.add((method.upper(), path))
                assert header.get("required", False) is False
                string = next(s for s in header["schema"]["anyOf"] if s.get("type") == "string")
                assert (string["minLength"], string["maxLength"], string["pattern"]) == (1, 255, "^[ -~]+$")
                assert "IdempotencyKeyReused" in header["description"]
    assert declared == honouring


def _bodies(api: ApiClient, hierarchy: Hierarchy) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """A valid request for every operation that honours the key (so only the key can make it a 400)."""
    root, issuing = hierarchy.root["id"], hierarchy.issuing["id"]
    cert = api.post("/certificates", leaf_body(issuing, name="keyed")).body["id"]
    bundle = api.post("/ca-bundles", {"name": "keyed", "certificateAuthorityIds": [root]}).body["id"]
    ca, c, b = "/certificate-authorities", "/certificates", "/ca-bundles"
    return {
        ("POST", ca): (ca, root_ca_body(name="keyed-root")),
        ("POST", ca + "/{ca_id}/versions"): (f"{ca}/{root}/versions", {}),
        ("POST", c): (c, leaf_body(issuing, name="keyed-2")),
        ("POST", c + "/{certificate_id}/versions"): (f"{c}/{cert}/versions", {}),
        ("POST", "/associations"): ("/associations", {"certificateId": cert, "associatedResourceId": HOST_ROLE}),
        ("POST", b): (b, {"name": "keyed-2", "certificateAuthorityIds": [root]}),
        ("POST", b + "/{bundle_id}/versions"): (f"{b}/{bundle}/versions", {"certificateAuthorityIds": [issuing]}),
        ("POST", "/grants"): ("/grants", {"resourceId": cert, "principalArn": OTHER_ADMIN, "role": "READER"}),
    }


@pytest.mark.parametrize("key", ["", "k" * 256, "new\nline", "caf\u00e9"])
def test_a_malformed_key_is_refused_on_every_operation_that_honours_it(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, key: str
) -> None:
    bodies = _bodies(api, hierarchy)
    assert set(bodies) == _honouring(), "give a valid request for each operation that honours Idempotency-Key"
    for path, body in bodies.values():
        refused = assert_rejected(aws, lambda: api.post(path, body, headers=keyed(key)), 400, "InvalidParameter")  # noqa: B023
        assert "idempotency-key" in refused.body["message"].lower(), refused.body
    # The same requests with a good key are created: the key alone was wrong.
    for path, body in bodies.values():
        created = api.post(path, body, headers=keyed("good"))
        assert created.status == 201, (path, created.body)

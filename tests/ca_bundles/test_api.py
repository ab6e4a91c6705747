"""CA bundles through the API: create from PEMs and CA ids, versions, retrieval, idempotency, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.ca_bundles.pems import ca_pem, fingerprint
from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body
from tests.functions.test_bad_input import assert_rejected

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged


def _create(api: ApiClient, **body: Any) -> dict[str, Any]:
    answer = api.post("/ca-bundles", {"name": "trust", **body})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def _bundle_pem(api: ApiClient, bundle_id: str, query: str = "") -> dict[str, Any]:
    answer = api.get(f"/ca-bundles/{bundle_id}/bundle{query}")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def test_create_from_pems_keeps_the_given_order_and_serves_the_concatenation(api: ApiClient) -> None:
    first, second = ca_pem("Partner Root A"), ca_pem("Partner Root B")
    bundle = _create(api, caBundlePem=first + second, description="partners")

    assert bundle["lifecycleState"] == "ACTIVE" and bundle["currentVersionNumber"] == 1
    version = bundle["currentVersion"]
    assert version["stages"] == ["CURRENT", "LATEST"]
    assert [c["sha256Fingerprint"] for c in version["certificates"]] == [fingerprint(first), fingerprint(second)]
    assert [c["source"] for c in version["certificates"]] == ["PEM", "PEM"]
    assert _bundle_pem(api, bundle["id"])["caBundlePem"] == first + second
    assert api.get(f"/ca-bundles/{bundle['id']}").body["currentVersion"] == version
    listed = api.get("/ca-bundles").body["items"]
    assert [b["id"] for b in listed] == [bundle["id"]]


def test_create_from_ca_ids_includes_each_chain_to_its_root_unless_told_not_to(
    api: ApiClient, hierarchy: Hierarchy
) -> None:
    issuing, root = hierarchy.issuing["id"], hierarchy.root["id"]
    with_chain = _create(api, certificateAuthorityIds=[issuing])
    subjects = [c["subject"] for c in with_chain["currentVersion"]["certificates"]]
    assert subjects[0].startswith("CN=Certwright Test Issuing CA") and subjects[1].startswith("CN=Certwright Test Root")
    assert [c["source"] for c in with_chain["currentVersion"]["certificates"]] == [issuing, issuing]

    alone = _create(api, certificateAuthorityIds=[issuing], includeCertificateAuthorityChain=False)
    assert len(alone["currentVersion"]["certificates"]) == 1

    # The root reached twice (given as a CA and as the issuing CA's chain) is there once, where first met.
    both = _create(api, certificateAuthorityIds=[root, issuing])
    assert [c["source"] for c in both["currentVersion"]["certificates"]] == [root, issuing]


def test_given_pems_and_ca_ids_combine(api: ApiClient, hierarchy: Hierarchy) -> None:
    partner = ca_pem("Partner Root")
    bundle = _create(api, caBundlePem=partner, certificateAuthorityIds=[hierarchy.root["id"]])
    assert [c["source"] for c in bundle["currentVersion"]["certificates"]] == ["PEM", hierarchy.root["id"]]


def test_new_versions_move_the_stages_and_every_version_stays_retrievable(api: ApiClient) -> None:
    pems = [ca_pem(f"Root {n}") for n in range(3)]
    bundle_id = _create(api, caBundlePem=pems[0])["id"]
    for pem in pems[1:]:
        answer = api.post(f"/ca-bundles/{bundle_id}/versions", {"caBundlePem": pem})
        assert answer.status == 201, answer.body

    versions = api.get(f"/ca-bundles/{bundle_id}/versions").body["items"]
    assert {v["versionNumber"]: v["stages"] for v in versions} == {
        1: ["DEPRECATED"],
        2: ["PREVIOUS"],
        3: ["CURRENT", "LATEST"],
    }
    assert _bundle_pem(api, bundle_id)["caBundlePem"] == pems[2]
    assert _bundle_pem(api, bundle_id, "?stage=PREVIOUS")["caBundlePem"] == pems[1]
    assert _bundle_pem(api, bundle_id, "?versionNumber=1")["caBundlePem"] == pems[0]
    assert api.get(f"/ca-bundles/{bundle_id}/versions/2").body["versionNumber"] == 2
    assert api.get(f"/ca-bundles/{bundle_id}").body["currentVersionNumber"] == 3


def test_a_version_with_the_same_certificates_is_refused(api: ApiClient, aws: Aws) -> None:
    pem = ca_pem()
    bundle_id = _create(api, caBundlePem=pem)["id"]
    assert_rejected(
        aws, lambda: api.post(f"/ca-bundles/{bundle_id}/versions", {"caBundlePem": pem}), 409, "CaBundleUnchanged"
    )


def test_retrieval_refuses_bad_selectors(api: ApiClient) -> None:
    bundle_id = _create(api, caBundlePem=ca_pem())["id"]
    for query, status in (
        ("?versionNumber=2", 404),
        ("?stage=PREVIOUS", 404),
        ("?stage=NOPE", 400),
        ("?versionNumber=x", 400),
        ("?versionNumber=1&stage=CURRENT", 400),
    ):
        assert api.get(f"/ca-bundles/{bundle_id}/bundle{query}").status == status, query
    assert api.get("/ca-bundles/cabundle-nope").status == 404


def test_the_same_idempotency_key_creates_one_bundle(api: ApiClient, aws: Aws) -> None:
    body = {"name": "trust", "caBundlePem": ca_pem()}
    key = {"Idempotency-Key": "bundle-1"}
    first = api.post("/ca-bundles", body, headers=key)
    again = api.post("/ca-bundles", body, headers=key)
    assert first.status == again.status == 201
    assert first.body == again.body
    assert len(api.get("/ca-bundles").body["items"]) == 1
    other = api.post("/ca-bundles", {**body, "name": "other"}, headers=key)
    assert (other.status, other.body["code"]) == (409, "IdempotencyKeyReused"), other.body


# -- bad input: a 4xx with a stable code, and nothing written -------------------------------------------------


def _expired_pem() -> str:
    return ca_pem("Old Root", not_after=datetime.now(UTC) - timedelta(days=1))


BAD_PEMS = {
    "garbage": ("not a certificate", 400, "InvalidCaBundlePem"),
    "empty-text": ("   ", 400, "InvalidCaBundlePem"),
    "not-base64": ("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n", 400, "InvalidCaBundlePem"),
    "not-x509": ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 400, "InvalidCaBundlePem"),
    "trailing-garbage": (None, 400, "InvalidCaBundlePem"),
    "private-key-block": (
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        400,
        "InvalidCaBundlePem",
    ),
    "leaf": (None, 400, "NotACaCertificate"),
    "ca-without-keyCertSign": (None, 400, "NotACaCertificate"),
    "expired": (None, 400, "CaCertificateExpired"),
    "duplicate": (None, 400, "DuplicateCertificate"),
    "bad-last-of-three": (None, 400, "NotACaCertificate"),
}


def _bad_pem(case: str) -> str:
    text = BAD_PEMS[case][0]
    if text is not None:
        return text
    good = ca_pem()
    return {
        "trailing-garbage": good + "trailing\n",
        "leaf": ca_pem("leaf", ca=False, key_cert_sign=False),
        "ca-without-keyCertSign": ca_pem("no signing", key_cert_sign=False),
        "expired": _expired_pem(),
        "duplicate": good + good,
        "bad-last-of-three": good + ca_pem("Second") + ca_pem("leaf", ca=False, key_cert_sign=False),
    }[case]


@pytest.mark.parametrize("case", sorted(BAD_PEMS))
def test_bad_pems_are_refused_without_side_effect(api: ApiClient, aws: Aws, case: str) -> None:
    _, status, code = BAD_PEMS[case]
    pem = _bad_pem(case)
    assert_rejected(aws, lambda: api.post("/ca-bundles", {"name": "bad", "caBundlePem": pem}), status, code)


def test_bad_pems_in_a_new_version_change_nothing(api: ApiClient, aws: Aws) -> None:
    bundle_id = _create(api, caBundlePem=ca_pem())["id"]
    assert_rejected(
        aws,
        lambda: api.post(f"/ca-bundles/{bundle_id}/versions", {"caBundlePem": _expired_pem()}),
        400,
        "CaCertificateExpired",
    )


def test_too_many_certificates_are_refused(api: ApiClient, aws: Aws) -> None:
    pem = ca_pem()
    # 101 copies: counted before anything else is looked at (the body stays under the size limit).
    assert_rejected(
        aws, lambda: api.post("/ca-bundles", {"name": "big", "caBundlePem": pem * 101}), 400, "TooManyCertificates"
    )


def test_bad_sources_are_refused_without_side_effect(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    issuing = hierarchy.issuing["id"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 400, "EmptyCaBundle"),
        ({"certificateAuthorityIds": []}, 400, "EmptyCaBundle"),
        ({"certificateAuthorityIds": ["ca-unknown"]}, 404, "NotFound"),
        ({"certificateAuthorityIds": [issuing, "ca-unknown"]}, 404, "NotFound"),
        ({"certificateAuthorityIds": [issuing, issuing]}, 400, "DuplicateCertificate"),
        ({"certificateAuthorityIds": [f"ca-{n}" for n in range(26)]}, 400, "InvalidParameter"),
        ({"certificateAuthorityIds": [issuing], "surprise": 1}, 400, "UnknownField"),
        ({"caBundlePem": ca_pem(), "name": "bad\u202ename"}, 400, "InvalidParameter"),
        ({"caBundlePem": ca_pem(), "name": ""}, 400, "InvalidParameter"),
    ]
    for extra, status, code in cases:
        body = {"name": "bad", **extra}
        assert_rejected(aws, lambda body=body: api.post("/ca-bundles", body), status, code)


def test_a_ca_pending_deletion_cannot_start_a_bundle(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    issuing = hierarchy.issuing["id"]
    assert api.post(f"/certificate-authorities/{issuing}/actions/schedule-deletion", {}).status == 200
    assert_rejected(
        aws,
        lambda: api.post("/ca-bundles", {"name": "x", "certificateAuthorityIds": [issuing]}),
        409,
        "CertificateAuthorityNotActive",
    )


def test_leaf_certificates_are_not_ca_ids(api: ApiClient, hierarchy: Hierarchy) -> None:
    leaf = api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    assert leaf.status == 201
    answer = api.post("/ca-bundles", {"name": "x", "certificateAuthorityIds": [leaf.body["id"]]})
    assert answer.status == 404

"""CA control through the API handler on the embedded AWS: PATCH, disable / enable issuance, GET a CA version."""

from __future__ import annotations

from typing import Any

from certwright import bootstrap

from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body, sub_ca_body

CA = "/certificate-authorities"


def _patch(api: ApiClient, ca_id: str, body: dict[str, Any]) -> Any:
    return api.call("PATCH", f"{CA}/{ca_id}", body)


def test_patch_renames_describes_and_moves_the_leaf_limit_both_ways(api: ApiClient, hierarchy: Hierarchy) -> None:
    ca_id = hierarchy.issuing["id"]
    answer = _patch(api, ca_id, {"name": "renamed", "description": "the web tier's CA"})
    assert answer.status == 200, answer.body
    assert (answer.body["name"], answer.body["description"]) == ("renamed", "the web tier's CA")

    tightened = _patch(api, ca_id, {"rules": {"leafCertificateMaxValidityDuration": "P10D"}})
    assert tightened.status == 200, tightened.body
    assert tightened.body["rules"]["leafCertificateMaxValidityDuration"] == "P10D"
    refused = api.post("/certificates", leaf_body(ca_id, validityDuration="P30D"))
    assert (refused.status, refused.body["code"]) == (422, "ValidityExceedsCaRule")

    loosened = _patch(api, ca_id, {"rules": {"leafCertificateMaxValidityDuration": "P90D"}})
    assert loosened.status == 200, loosened.body
    assert api.post("/certificates", leaf_body(ca_id, validityDuration="P30D")).status == 201
    removed = _patch(api, ca_id, {"rules": {"leafCertificateMaxValidityDuration": None}})
    assert "leafCertificateMaxValidityDuration" not in removed.body["rules"]
    assert api.get(f"{CA}/{ca_id}").body["name"] == "renamed"


def test_patch_refuses_embedded_rules_and_limits_beyond_the_cas_validity_with_no_side_effect(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws
) -> None:
    ca_id = hierarchy.issuing["id"]  # P5Y, path length 1 (inherited from the root's 2)
    before = aws.table_items()
    cases = [
        ({"rules": {"pathLengthConstraint": 0}}, 400, "RuleNotUpdatable"),
        ({"rules": {"nameConstraint": {"permittedDnsSubtrees": ["example.com"]}}}, 400, "RuleNotUpdatable"),
        ({"rules": {"leafCertificateMaxValidityDuration": "P6Y"}}, 422, "ValidityExceedsCaRule"),
        ({"rules": {"certificateAuthorityMaxValidityDuration": "nonsense"}}, 400, "InvalidParameter"),
        ({"kmsKeyId": "another"}, 400, "UnknownField"),
    ]
    for body, status, code in cases:
        answer = _patch(api, ca_id, body)
        assert (answer.status, answer.body["code"]) == (status, code), (body, answer.body)
    assert aws.table_items() == before
    assert _patch(api, "ca-unknown", {"name": "x"}).status == 404


def test_a_disabled_ca_issues_nothing_keeps_its_crls_and_issues_again_once_enabled(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, aws: Aws
) -> None:
    ca_id = hierarchy.issuing["id"]
    leaf = api.post("/certificates", leaf_body(ca_id)).body
    disabled = api.post(f"{CA}/{ca_id}/actions/disable")
    assert disabled.status == 200, disabled.body
    assert (disabled.body["lifecycleState"], disabled.body["issuanceState"]) == ("ACTIVE", "DISABLED")
    assert api.post(f"{CA}/{ca_id}/actions/disable").status == 200  # idempotent

    before = aws.table_items()
    for path, body in (
        ("/certificates", leaf_body(ca_id, name="refused")),
        (f"/certificates/{leaf['id']}/versions", {}),
        (CA, sub_ca_body(ca_id, name="below-disabled")),
    ):
        answer = api.post(path, body)
        assert (answer.status, answer.body["code"]) == (409, "CertificateAuthorityDisabled"), (path, answer.body)
    assert aws.table_items() == before

    # Still trusted and still publishing: its CRL and the revocation of what it issued keep working.
    report = container.crl_publisher.publish(ca_id)
    assert report.published and not report.failed, report
    assert api.post(f"/certificates/{leaf['id']}/versions/1/actions/revoke", {}).status == 200
    assert api.get(f"{CA}/{ca_id}/bundle").status == 200

    enabled = api.post(f"{CA}/{ca_id}/actions/enable")
    assert enabled.body["issuanceState"] == "ENABLED"
    assert api.post("/certificates", leaf_body(ca_id, name="again")).status == 201
    audit = api.get(f"/audit-events?resourceId={ca_id}")
    actions = [a["action"] for a in audit.body["items"]]
    assert actions.count("DisableCertificateAuthority") == 1 and actions.count("EnableCertificateAuthority") == 1


def test_get_a_ca_version(api: ApiClient, hierarchy: Hierarchy) -> None:
    ca_id = hierarchy.issuing["id"]
    api.post(f"{CA}/{ca_id}/versions", {})
    first = api.get(f"{CA}/{ca_id}/versions/1")
    assert first.status == 200, first.body
    assert (first.body["versionNumber"], first.body["stages"]) == (1, ["PREVIOUS"])
    assert api.get(f"{CA}/{ca_id}/versions/2").body["stages"] == ["CURRENT", "LATEST"]
    missing = api.get(f"{CA}/{ca_id}/versions/3")
    assert (missing.status, missing.body["code"]) == (404, "NotFound")
    assert api.get(f"{CA}/{ca_id}/versions/0").status == 400

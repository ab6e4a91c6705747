"""Associations to a CA bundle on the fakes, through the API: they block the bundle's deletion until removed, and
certificate associations still need a certificate (moved from tests/ca_bundles, which keeps the side-effect and
event checks on the embedded AWS)."""

from __future__ import annotations

from tests.ca_bundles.test_associations import HOST, LISTENER, _bundle
from tests.conftest import ApiClient, Hierarchy, leaf_body


def test_an_association_to_a_bundle_blocks_its_deletion_until_it_is_removed(api: ApiClient) -> None:
    bundle_id = _bundle(api)
    created = api.post("/associations", {"caBundleId": bundle_id, "associatedResourceId": LISTENER})
    assert created.status == 201, created.body
    association = created.body
    assert association["caBundleId"] == bundle_id and association["certificateId"] is None
    assert association["associationType"] == "LOAD_BALANCER_LISTENER"
    assert api.get(f"/associations/{association['id']}").body == association
    assert api.get(f"/ca-bundles/{bundle_id}").body["associationCount"] == 1
    listed = api.get(f"/ca-bundles/{bundle_id}/associations").body["items"]
    assert [a["id"] for a in listed] == [association["id"]]

    refused = api.call("DELETE", f"/ca-bundles/{bundle_id}")
    assert (refused.status, refused.body["code"]) == (409, "CaBundleInUse")
    assert api.get(f"/ca-bundles/{bundle_id}").status == 200

    assert api.call("DELETE", f"/associations/{association['id']}").status == 204
    assert api.get(f"/ca-bundles/{bundle_id}").body["associationCount"] == 0
    assert api.call("DELETE", f"/ca-bundles/{bundle_id}").status == 204
    assert api.get(f"/ca-bundles/{bundle_id}").status == 404
    assert api.get("/ca-bundles").body["items"] == []
    gone = api.post("/associations", {"caBundleId": bundle_id, "associatedResourceId": HOST})
    assert gone.status == 404


def test_certificate_associations_still_need_a_certificate(api: ApiClient, hierarchy: Hierarchy) -> None:
    leaf = api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    assert leaf.status == 201, leaf.body
    answer = api.post("/associations", {"certificateId": leaf.body["id"], "associatedResourceId": HOST})
    assert answer.status == 201, answer.body
    assert answer.body["caBundleId"] is None and answer.body["certificateId"] == leaf.body["id"]

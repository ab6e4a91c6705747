"""CA versions with stages through the API handler on the embedded AWS: a PENDING version waits, promote makes it
CURRENT (new leaves chain to it), and promoting an older version rolls back; what was issued keeps verifying."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from tests.conformance.pki import openssl_verify
from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body

CA = "/certificate-authorities"


def _stages(api: ApiClient, ca_id: str) -> list[tuple[int, list[str]]]:
    return [(v["versionNumber"], v["stages"]) for v in api.get(f"{CA}/{ca_id}/versions").body["items"]]


def _chain_serial(api: ApiClient, issuer_id: str, name: str) -> str:
    leaf = api.post("/certificates", leaf_body(issuer_id, name=name))
    assert leaf.status == 201, leaf.body
    chain = api.get(f"/certificates/{leaf.body['id']}/bundle").body["certChainPem"]
    return f"{x509.load_pem_x509_certificates(chain.encode())[0].serial_number:x}"


def test_a_pending_ca_version_waits_then_promote_and_roll_back(
    api: ApiClient, hierarchy: Hierarchy, tmp_path: Path
) -> None:
    ca_id = hierarchy.issuing["id"]
    first_serial = hierarchy.issuing["currentVersion"]["serialNumber"]
    pending = api.post(f"{CA}/{ca_id}/versions", {"stage": "PENDING", "validityDuration": "P2Y"})
    assert pending.status == 201, pending.body
    assert pending.body["currentVersion"]["versionNumber"] == 1
    assert _stages(api, ca_id) == [(1, ["CURRENT"]), (2, ["PENDING", "LATEST"])]
    assert _chain_serial(api, ca_id, "before") == first_serial
    second_serial = api.get(f"{CA}/{ca_id}/versions/2").body["serialNumber"]

    promoted = api.post(f"{CA}/{ca_id}/versions/2/actions/promote")
    assert promoted.status == 200, promoted.body
    assert promoted.body["currentVersion"]["versionNumber"] == 2
    assert _stages(api, ca_id) == [(1, ["PREVIOUS"]), (2, ["CURRENT", "LATEST"])]
    assert _chain_serial(api, ca_id, "after") == second_serial
    again = api.post(f"{CA}/{ca_id}/versions/2/actions/promote")
    assert (again.status, again.body["code"]) == (409, "AlreadyCurrent")

    rolled_back = api.post(f"{CA}/{ca_id}/versions/1/actions/promote")
    assert rolled_back.status == 200, rolled_back.body
    assert _stages(api, ca_id) == [(1, ["CURRENT"]), (2, ["PREVIOUS", "LATEST"])]
    leaf = api.post("/certificates", leaf_body(ca_id, name="rolled")).body
    bundle = api.get(f"/certificates/{leaf['id']}/bundle").body
    (tmp_path / "leaf.pem").write_text(bundle["certificatePem"])
    chain = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())
    assert f"{chain[0].serial_number:x}" == first_serial
    (tmp_path / "sub.pem").write_text(
        bundle["certChainPem"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    )
    root_pem = api.get(f"{CA}/{hierarchy.root['id']}/bundle").body["certificatePem"]
    (tmp_path / "root.pem").write_text(root_pem)
    verified = openssl_verify(tmp_path / "root.pem", tmp_path / "leaf.pem", tmp_path / "sub.pem")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # A new version after a roll back takes the next free number.
    third = api.post(f"{CA}/{ca_id}/versions", {})
    assert third.status == 201, third.body
    assert third.body["currentVersion"]["versionNumber"] == 3
    assert _stages(api, ca_id) == [(1, ["PREVIOUS"]), (2, ["DEPRECATED"]), (3, ["CURRENT", "LATEST"])]


def test_promote_refusals_change_nothing(api: ApiClient, hierarchy: Hierarchy, aws: Aws) -> None:
    ca_id = hierarchy.issuing["id"]
    before = aws.table_items()
    for number, status, code in ((1, 409, "AlreadyCurrent"), (7, 404, "NotFound")):
        answer = api.post(f"{CA}/{ca_id}/versions/{number}/actions/promote")
        assert (answer.status, answer.body["code"]) == (status, code), answer.body
    bad_stage = api.post(f"{CA}/{ca_id}/versions", {"stage": "DEPRECATED"})
    assert bad_stage.status == 400, bad_stage.body
    assert aws.table_items() == before

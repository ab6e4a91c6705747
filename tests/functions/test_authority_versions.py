"""CA versions: renewing a CA's certificate keeps its key and name, so what it issued keeps verifying."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509

from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body
from tests.lifecycle.table_stream import TableStream


def test_a_renewed_subordinate_is_current_and_still_verifies_what_it_issued(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, tmp_path: Path
) -> None:
    issuing = hierarchy.issuing
    leaf = api.post("/certificates", leaf_body(issuing["id"])).body
    stream = TableStream(aws)
    stream.skip()

    renewed = api.post(f"/certificate-authorities/{issuing['id']}/versions", {"validityDuration": "P2Y"})
    assert renewed.status == 201, renewed.body
    current = renewed.body["currentVersion"]
    assert current["versionNumber"] == 2 and current["serialNumber"] != issuing["currentVersion"]["serialNumber"]
    versions = api.get(f"/certificate-authorities/{issuing['id']}/versions").body["items"]
    assert [(v["versionNumber"], v["stages"]) for v in versions] == [(1, ["PREVIOUS"]), (2, ["CURRENT", "LATEST"])]

    events = [e for r in stream.read() for e in r.events()]
    assert [e.detail_type for e in events] == ["CertificateAuthorityVersionCreated"]

    bundle = api.get(f"/certificate-authorities/{issuing['id']}/bundle").body
    new_sub = x509.load_pem_x509_certificate(bundle["certificatePem"].encode())
    assert f"{new_sub.serial_number:x}" == current["serialNumber"]
    (tmp_path / "root.pem").write_text(bundle["certChainPem"])
    (tmp_path / "sub.pem").write_text(bundle["certificatePem"])
    leaf_pem = api.get(f"/certificates/{leaf['id']}/bundle").body["certificatePem"]
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "sub.pem", "leaf.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # New leaves chain to the new version.
    fresh = api.post("/certificates", leaf_body(issuing["id"], name="fresh")).body
    chain = api.get(f"/certificates/{fresh['id']}/bundle").body["certChainPem"]
    assert chain.startswith(bundle["certificatePem"])


def test_a_root_renews_itself_and_a_revoked_or_unknown_ca_does_not(api: ApiClient, hierarchy: Hierarchy) -> None:
    root = api.post(f"/certificate-authorities/{hierarchy.root['id']}/versions", {})
    assert root.status == 201, root.body
    assert root.body["currentVersion"]["versionNumber"] == 2
    revoke = api.post(f"/certificate-authorities/{hierarchy.issuing['id']}/versions/1/actions/revoke", {})
    assert revoke.status == 200
    refused = api.post(f"/certificate-authorities/{hierarchy.issuing['id']}/versions", {})
    assert (refused.status, refused.body["code"]) == (409, "CertificateAuthorityRevoked")
    assert api.post("/certificate-authorities/ca-nope/versions", {}).status == 404
    bad = api.post(f"/certificate-authorities/{hierarchy.root['id']}/versions", {"validityDuration": "forever"})
    assert bad.status == 400

"""What a bundle is for: `openssl verify -CAfile <bundle>` accepts leaves issued under a bundled CA, and only those."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ca_bundles.pems import ca_pem
from tests.conftest import ApiClient, Hierarchy, leaf_body

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def _verify(tmp_path: Path, bundle_pem: str, leaf_pem: str, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "bundle.pem").write_text(bundle_pem)
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            *extra,
            "-CAfile",
            str(tmp_path / "bundle.pem"),
            str(tmp_path / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _leaf_pem(api: ApiClient, issuer_id: str) -> str:
    leaf = api.post("/certificates", leaf_body(issuer_id))
    assert leaf.status == 201, leaf.body
    return str(api.get(f"/certificates/{leaf.body['id']}/bundle").body["certificatePem"])


def _bundle_pem(api: ApiClient, **body: object) -> str:
    created = api.post("/ca-bundles", {"name": "trust", **body})
    assert created.status == 201, created.body
    return str(api.get(f"/ca-bundles/{created.body['id']}/bundle").body["caBundlePem"])


def test_openssl_trusts_a_leaf_of_a_bundled_ca(api: ApiClient, hierarchy: Hierarchy, tmp_path: Path) -> None:
    leaf = _leaf_pem(api, hierarchy.issuing["id"])
    bundle = _bundle_pem(api, caBundlePem=ca_pem("Partner Root"), certificateAuthorityIds=[hierarchy.issuing["id"]])
    result = _verify(tmp_path, bundle, leaf, "-purpose", "sslserver")
    assert result.returncode == 0 and result.stdout.rstrip().endswith(": OK"), result.stdout + result.stderr


def test_without_the_chain_openssl_needs_partial_chain(api: ApiClient, hierarchy: Hierarchy, tmp_path: Path) -> None:
    leaf = _leaf_pem(api, hierarchy.issuing["id"])
    bundle = _bundle_pem(api, certificateAuthorityIds=[hierarchy.issuing["id"]], includeCertificateAuthorityChain=False)
    assert _verify(tmp_path, bundle, leaf).returncode != 0
    partial = _verify(tmp_path, bundle, leaf, "-partial_chain")
    assert partial.returncode == 0, partial.stdout + partial.stderr


def test_openssl_refuses_a_leaf_of_a_ca_outside_the_bundle(
    api: ApiClient, hierarchy: Hierarchy, tmp_path: Path
) -> None:
    leaf = _leaf_pem(api, hierarchy.issuing["id"])
    bundle = _bundle_pem(api, caBundlePem=ca_pem("Partner Root"))
    result = _verify(tmp_path, bundle, leaf)
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stdout + result.stderr

"""CA parity through the real wiring (local runtime: HTTP gateway, moto's stream, the bus): a disabled CA makes the
sweep's renewal fail loudly (RenewalFailed on the bus); an openssl root imported as an external root anchors a
KMS-keyed subordinate whose CSR it signs; a PENDING CA version waits until promoted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.authorities.openssl_root import make_root, sign_csr
from tests.conformance.pki import openssl_verify
from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.wiring.conftest import Wiring
from tests.wiring.conftest import wiring as wiring  # the module's local runtime


@pytest.fixture(autouse=True)
def _aws_environment() -> Iterator[None]:
    """Overrides tests/conftest.py's: the runtime set the process environment (endpoint, credentials)."""
    yield


def test_disabled_ca_makes_the_sweeps_renewal_fail_with_an_alert(wiring: Wiring) -> None:
    root = wiring.post("/certificate-authorities", root_ca_body(name="disable-root"))
    ca = wiring.post("/certificate-authorities", sub_ca_body(root["id"], name="disable-sub"))
    rule = {"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
    leaf = wiring.post("/certificates", leaf_body(ca["id"], name="renews", renewalRule=rule))
    disabled = wiring.post(f"/certificate-authorities/{ca['id']}/actions/disable")
    assert disabled["issuanceState"] == "DISABLED"
    status, refused = wiring.call("POST", "/certificates", leaf_body(ca["id"], name="refused"))
    assert (status, refused["code"]) == (409, "CertificateAuthorityDisabled")
    wiring.settle()

    report = wiring.services_at(datetime.now(UTC) + timedelta(days=21)).sweep.run()
    assert report["failed"] == 1 and report["renewed"] == 0, report
    alert = wiring.wait_for("RenewalFailed", leaf["id"])
    assert alert["reason"].startswith("CertificateAuthorityDisabled"), alert
    status, current = wiring.call("GET", f"/certificates/{leaf['id']}")
    assert status == 200 and current["currentVersion"]["versionNumber"] == 1, current


def test_an_outside_root_anchors_a_subordinate_signed_from_its_kms_csr(wiring: Wiring, tmp_path: Path) -> None:
    root = make_root(tmp_path)
    anchor = wiring.post(
        "/certificate-authorities",
        {"name": "corp-root", "configType": "ROOT_CA_MANAGED_EXTERNALLY", "certificatePem": root.pem},
    )
    body = {
        "name": "cloud-issuing",
        "configType": "SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA",
        "parentCertificateAuthorityId": anchor["id"],
        "subject": {"commonName": "Corp Cloud Issuing CA", "organization": "Corp"},
    }
    pending = wiring.post("/certificate-authorities", body)
    assert pending["lifecycleState"] == "PENDING_ACTIVATION"
    status, csr = wiring.call("GET", f"/certificate-authorities/{pending['id']}/csr")
    assert status == 200, csr
    signed = sign_csr(root, csr["csrPem"], "sub")
    path = f"/certificate-authorities/{pending['id']}/actions/import-certificate"
    status, refused = wiring.call("POST", path, {"certificatePem": root.pem})
    assert (status, refused["code"]) == (400, "KeyMismatch")
    active = wiring.post(path, {"certificatePem": signed, "chainPem": root.pem})
    assert active["lifecycleState"] == "ACTIVE"
    created = wiring.wait_for("CertificateAuthorityCreated", pending["id"])
    assert created["name"] == "cloud-issuing"

    leaf = wiring.post("/certificates", leaf_body(pending["id"], name="behind-outside-root"))
    status, bundle = wiring.call("GET", f"/certificates/{leaf['id']}/bundle")
    assert status == 200, bundle
    (tmp_path / "leaf.pem").write_text(bundle["certificatePem"])
    (tmp_path / "chain.pem").write_text(bundle["certChainPem"])
    verified = openssl_verify(root.certificate, tmp_path / "leaf.pem", tmp_path / "chain.pem")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    status, refused = wiring.call("POST", "/certificates", leaf_body(anchor["id"], name="from-the-anchor"))
    assert (status, refused["code"]) == (409, "ExternallyManagedCertificateAuthority")


def test_a_pending_ca_version_is_promoted_and_announced(wiring: Wiring) -> None:
    root = wiring.post("/certificate-authorities", root_ca_body(name="staged-root"))
    wiring.settle()
    staged = wiring.post(f"/certificate-authorities/{root['id']}/versions", {"stage": "PENDING"})
    assert staged["currentVersion"]["versionNumber"] == 1
    wiring.settle()
    assert wiring.events("CertificateAuthorityVersionCreated", root["id"]) == []
    promoted = wiring.post(f"/certificate-authorities/{root['id']}/versions/2/actions/promote")
    assert promoted["currentVersion"]["stages"] == ["CURRENT", "LATEST"]
    announced = wiring.wait_for("CertificateAuthorityVersionCreated", root["id"])
    assert announced["version_number"] == 2

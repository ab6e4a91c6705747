"""An RSA-PSS CA through the local runtime: the HTTP gateway, KMS (moto) signing with PSS, the stream-fed CRL."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import SignatureAlgorithmOID

from tests.conftest import leaf_body, root_ca_body
from tests.wiring.conftest import Wiring


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=60, check=False)


def test_a_pss_ca_signs_its_leaf_and_its_crl_through_the_real_wiring(wiring: Wiring, tmp_path: Path) -> None:
    body = root_ca_body(name="pss-root", keyAlgorithm="RSA2048", signingAlgorithm="SHA384_WITH_RSA_PSS")
    ca = wiring.post("/certificate-authorities", body)
    assert ca["signingAlgorithm"] == "SHA384_WITH_RSA_PSS"
    leaf = wiring.post("/certificates", leaf_body(ca["id"], name="pss-leaf"))
    status, bundle = wiring.call("GET", f"/certificates/{leaf['id']}/bundle")
    assert status == 200, bundle
    status, ca_bundle = wiring.call("GET", f"/certificate-authorities/{ca['id']}/bundle")
    assert status == 200, ca_bundle
    root = tmp_path / "root.pem"
    root.write_text(ca_bundle["certificatePem"])
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_text(bundle["certificatePem"])
    certificate = x509.load_pem_x509_certificate(bundle["certificatePem"].encode())
    assert certificate.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS
    verified = openssl("verify", "-x509_strict", "-CAfile", root, leaf_file)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    wiring.post(f"/certificates/{leaf['id']}/versions/1/actions/revoke", {"revocationReason": "KEY_COMPROMISE"})
    wiring.wait_for("CertificateVersionRevoked", leaf["id"])
    bucket = wiring.rt.settings.pki_bucket
    s3 = wiring.session.client("s3")
    crl = None
    for _ in range(30):
        wiring.settle()
        body_bytes = s3.get_object(Bucket=bucket, Key=f"crl/{ca['id']}/0.crl")["Body"].read()
        crl = x509.load_der_x509_crl(body_bytes)
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            break
    assert crl is not None and crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
    assert crl.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS
    crl_file = tmp_path / "ca.crl"
    crl_file.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    text = openssl("crl", "-in", crl_file, "-noout", "-text").stdout
    assert "Hash Algorithm: sha384" in text and "Salt Length: 0x30" in text, text
    checked = openssl("verify", "-x509_strict", "-crl_check", "-CAfile", root, "-CRLfile", crl_file, leaf_file)
    assert checked.returncode != 0 and "revoked" in checked.stdout + checked.stderr

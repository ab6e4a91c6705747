"""ROOT_CA_MANAGED_EXTERNALLY through the API handler on the embedded AWS: openssl makes the outside root,
Certwright imports it as a trust anchor (bundles yes, signing no, no CRL), and refuses every unfit root."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from certwright import bootstrap
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.authorities.openssl_root import catch_up, make_root
from tests.conftest import ApiClient, Aws, Clock, leaf_body, sub_ca_body

CA = "/certificate-authorities"


def external_root_body(pem: str, **overrides: Any) -> dict[str, Any]:
    return {"name": "corp-root", "configType": "ROOT_CA_MANAGED_EXTERNALLY", "certificatePem": pem, **overrides}


def test_an_imported_root_is_an_active_trust_anchor_that_signs_nothing(
    api: ApiClient, container: bootstrap.Container, tmp_path: Path, clock: Clock
) -> None:
    root = make_root(tmp_path)
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    answer = api.post(CA, external_root_body(root.pem, description="the offline root"))
    assert answer.status == 201, answer.body
    ca = answer.body
    assert (ca["configType"], ca["lifecycleState"], ca["kmsKeyId"]) == ("ROOT_CA_MANAGED_EXTERNALLY", "ACTIVE", "")
    assert ca["subject"] == {"commonName": "Corp Offline Root", "organization": "Corp", "country": "US"}
    assert ca["keyAlgorithm"] == "ECDSA_P384" and ca["description"] == "the offline root"
    served = api.get(f"{CA}/{ca['id']}/bundle").body
    assert served["certificatePem"] == root.pem and served["certChainPem"] == ""

    for path, body in (("/certificates", leaf_body(ca["id"])), (CA, sub_ca_body(ca["id"]))):
        refused = api.post(path, body)
        assert (refused.status, refused.body["code"]) == (409, "ExternallyManagedCertificateAuthority"), refused.body
    revoke = api.post(f"{CA}/{ca['id']}/versions/1/actions/revoke", {"revocationReason": "SUPERSEDED"})
    assert (revoke.status, revoke.body["code"]) == (409, "CannotRevokeRoot")

    bundle = api.post("/ca-bundles", {"name": "corp", "certificateAuthorityIds": [ca["id"]]})
    assert bundle.status == 201, bundle.body
    pem = api.get(f"/ca-bundles/{bundle.body['id']}/bundle").body["caBundlePem"]
    assert root.pem.strip() in pem

    report = container.crl_publisher.publish_due()
    assert not any(p.startswith(ca["id"]) for p in report.published), report
    assert container.crl_publisher.publish(ca["id"]).skipped


def test_a_reissued_root_is_imported_as_a_new_version(api: ApiClient, tmp_path: Path, clock: Clock) -> None:
    root = make_root(tmp_path)
    reissued = root.reissue("renewed", days=7300)
    other = make_root(tmp_path, "other")
    renamed = root.reissue("renamed", subject="/CN=Another Name")
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    ca = api.post(CA, external_root_body(root.pem)).body
    renewed = api.post(f"{CA}/{ca['id']}/versions", {"certificatePem": reissued})
    assert renewed.status == 201, renewed.body
    assert renewed.body["currentVersion"]["versionNumber"] == 2
    assert [v["stages"] for v in api.get(f"{CA}/{ca['id']}/versions").body["items"]] == [
        ["PREVIOUS"],
        ["CURRENT", "LATEST"],
    ]
    cases = [
        ({"certificatePem": other.pem}, "KeyMismatch"),
        ({"certificatePem": renamed}, "SubjectMismatch"),
        ({}, "InvalidParameter"),
        ({"validityDuration": "P1Y"}, "InvalidParameter"),
    ]
    for body, code in cases:
        answer = api.post(f"{CA}/{ca['id']}/versions", body)
        assert (answer.status, answer.body["code"]) == (400, code), (body, answer.body)


def _expired_root() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Expired Root")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now - timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _tampered(pem: str) -> str:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    der = bytearray(certificate.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature value
    text = base64.encodebytes(bytes(der)).decode().replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def test_unfit_roots_are_refused_with_their_code_and_no_side_effect(
    api: ApiClient, aws: Aws, tmp_path: Path, clock: Clock
) -> None:
    good = make_root(tmp_path)
    leaf_dir = tmp_path / "leaf"
    leaf_dir.mkdir()
    not_ca = make_root(leaf_dir, "leaf", extensions=("basicConstraints=critical,CA:FALSE",))
    cases = {
        "NotACertificateAuthority": [
            not_ca.pem,
            make_root(tmp_path, "lax", extensions=("basicConstraints=CA:TRUE", "keyUsage=keyCertSign")).pem,
            make_root(tmp_path, "nousage", extensions=("basicConstraints=critical,CA:TRUE",)).pem,
            make_root(
                tmp_path, "nosign", extensions=("basicConstraints=critical,CA:TRUE", "keyUsage=digitalSignature")
            ).pem,
        ],
        "UnsupportedKey": [make_root(tmp_path, "weak", key=("-newkey", "rsa:1024")).pem],
        "CertificateExpired": [_expired_root()],
        "NotSelfSigned": [_tampered(good.pem)],
        "InvalidParameter": ["not a certificate"],
    }
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    before = aws.table_items()
    for code, pems in cases.items():
        for pem in pems:
            answer = api.post(CA, external_root_body(pem))
            assert (answer.status, answer.body["code"]) == (400, code), (code, answer.body)
    both = api.post(CA, external_root_body(good.pem + good.pem))
    assert both.status == 400, both.body
    extra = api.post(CA, external_root_body(good.pem, subject={"commonName": "x"}))
    assert extra.status == 400, extra.body
    assert aws.table_items() == before


def test_crl_settings_of_an_imported_root_are_refused_by_patch(api: ApiClient, tmp_path: Path, clock: Clock) -> None:
    root = make_root(tmp_path)
    catch_up(clock)
    ca = api.post(CA, external_root_body(root.pem)).body
    answer = api.call("PATCH", f"{CA}/{ca['id']}", {"crlSettings": {"enabled": False}})
    assert (answer.status, answer.body["code"]) == (409, "CrlNotPublished"), answer.body
    assert api.get(f"{CA}/{ca['id']}").body["crlSettings"] == ca["crlSettings"]

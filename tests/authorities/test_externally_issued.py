"""SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA through the API handler on the embedded AWS: openssl is
the outside root; Certwright's KMS-signed CSR goes out, the signed certificate comes back and is checked, and the
CA then issues leaves that `openssl verify -x509_strict`, Python's ssl and pkilint accept, chained to that root."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from certwright import bootstrap
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.authorities.openssl_root import OpensslRoot, catch_up, make_root, openssl, sign_csr
from tests.conformance.pki import openssl_verify, pkilint_all
from tests.conformance.test_tls_handshake import connect, server_context, tls_server
from tests.conftest import ApiClient, Aws, Clock, leaf_body

CA = "/certificate-authorities"
SUBJECT = {"commonName": "Corp Cloud Issuing CA", "organization": "Corp", "country": "US"}


def _pending(api: ApiClient, root_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "cloud-issuing",
        "configType": "SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA",
        "parentCertificateAuthorityId": root_id,
        "subject": SUBJECT,
        "keyAlgorithm": "ECDSA_P256",
        **overrides,
    }
    answer = api.post(CA, body)
    assert answer.status == 201, answer.body
    return dict(answer.body)


def _anchor(api: ApiClient, tmp_path: Path, clock: Clock, *extensions: str) -> tuple[OpensslRoot, str]:
    root = make_root(tmp_path, extensions=extensions) if extensions else make_root(tmp_path)
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    answer = api.post(CA, {"name": "corp-root", "configType": "ROOT_CA_MANAGED_EXTERNALLY", "certificatePem": root.pem})
    assert answer.status == 201, answer.body
    return root, str(answer.body["id"])


def _csr(api: ApiClient, ca_id: str) -> str:
    answer = api.get(f"{CA}/{ca_id}/csr")
    assert answer.status == 200, answer.body
    return str(answer.body["csrPem"])


NAME_CONSTRAINED = (
    "basicConstraints = critical, CA:TRUE, pathlen:0",
    "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
    "nameConstraints = critical, permitted;DNS:example.com",
)


@pytest.mark.conformance
def test_a_subordinate_signed_by_openssl_issues_leaves_that_verify_to_the_outside_root(
    api: ApiClient, tmp_path: Path, clock: Clock
) -> None:
    root, root_id = _anchor(api, tmp_path, clock)
    pending = _pending(api, root_id)
    assert (pending["lifecycleState"], pending["currentVersion"]) == ("PENDING_ACTIVATION", None)
    refused = api.post("/certificates", leaf_body(pending["id"]))
    assert (refused.status, refused.body["code"]) == (409, "CertificateAuthorityNotActive")

    csr = _csr(api, pending["id"])
    (tmp_path / "check.csr").write_text(csr)
    openssl("req", "-in", "check.csr", "-verify", "-noout", cwd=tmp_path)  # its KMS signature verifies (exit 0)
    signed = sign_csr(root, csr, "sub", extensions=NAME_CONSTRAINED)
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    imported = api.post(
        f"{CA}/{pending['id']}/actions/import-certificate", {"certificatePem": signed, "chainPem": root.pem}
    )
    assert imported.status == 200, imported.body
    ca = imported.body
    assert ca["lifecycleState"] == "ACTIVE" and ca["currentVersion"]["versionNumber"] == 1
    assert ca["rules"]["pathLengthConstraint"] == 0
    assert api.get(f"{CA}/{ca['id']}/csr").body["code"] == "NoPendingCsr"

    # Name constraints inherited from the imported certificate are enforced before signing.
    outside = api.post(
        "/certificates", leaf_body(ca["id"], subjectAlternativeNames=[{"type": "DNS", "value": "a.org"}])
    )
    assert (outside.status, outside.body["code"]) == (422, "NameConstraintViolation")

    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    leaf = api.post(
        "/certificates",
        {
            "name": "web",
            "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": ca["id"],
            "profile": "TLS_SERVER",
            "csrPem": request,
            "subjectAlternativeNames": [{"type": "DNS", "value": "www.example.com"}],
            "validityDuration": "P30D",
        },
    )
    assert leaf.status == 201, leaf.body
    bundle = api.get(f"/certificates/{leaf.body['id']}/bundle").body
    chain = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())
    assert [c.subject.rfc4514_string() for c in chain] == [
        "CN=Corp Cloud Issuing CA,O=Corp,C=US",
        "C=US,O=Corp,CN=Corp Offline Root",
    ]
    files = {name: tmp_path / f"{name}.pem" for name in ("leaf", "sub-only", "fullchain", "key")}
    files["leaf"].write_text(bundle["certificatePem"])
    files["sub-only"].write_text(signed)
    files["fullchain"].write_text(bundle["certificatePem"] + signed)
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    verified = openssl_verify(root.certificate, files["leaf"], files["sub-only"], hostname="www.example.com")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    with tls_server(server_context(files["fullchain"], files["key"])) as (port, served):
        peer, _ = connect(port, ssl.create_default_context(cafile=root.certificate), "www.example.com")
    assert not served.errors and f"{peer.serial_number:x}" == bundle["serialNumber"]

    findings = pkilint_all(
        {
            "subordinate": ("lint_pkix_cert", files["sub-only"]),
            "subordinate issued by root": ("lint_pkix_signer_signee_cert_chain", root.certificate, files["sub-only"]),
            "leaf": ("lint_pkix_cert", files["leaf"]),
            "leaf issued by subordinate": ("lint_pkix_signer_signee_cert_chain", files["sub-only"], files["leaf"]),
        }
    )
    assert {k: [str(f) for f in v] for k, v in findings.items() if v} == {}


def test_renewal_is_a_new_csr_then_an_imported_version(api: ApiClient, tmp_path: Path, clock: Clock) -> None:
    root, root_id = _anchor(api, tmp_path, clock)
    pending = _pending(api, root_id)
    first = sign_csr(root, _csr(api, pending["id"]), "first")
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    assert api.post(f"{CA}/{pending['id']}/actions/import-certificate", {"certificatePem": first}).status == 200

    renewing = api.post(f"{CA}/{pending['id']}/versions", {})
    assert renewing.status == 201, renewing.body
    assert renewing.body["currentVersion"]["versionNumber"] == 1  # still CURRENT until the new one is imported
    second = sign_csr(root, _csr(api, pending["id"]), "second", days=1000)
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    renewed = api.post(f"{CA}/{pending['id']}/actions/import-certificate", {"certificatePem": second})
    assert renewed.status == 200, renewed.body
    assert renewed.body["currentVersion"]["versionNumber"] == 2
    versions = api.get(f"{CA}/{pending['id']}/versions").body["items"]
    assert [v["stages"] for v in versions] == [["PREVIOUS"], ["CURRENT", "LATEST"]]
    assert api.post("/certificates", leaf_body(pending["id"])).status == 201


def _signed_by_root(root: OpensslRoot, public_key: Any, subject: x509.Name, *, days: int, start_days: int = 0) -> str:
    key = serialization.load_pem_private_key(root.key.read_bytes(), password=None)
    issuer = x509.load_pem_x509_certificate(root.pem.encode())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start_days))
        .not_valid_after(now + timedelta(days=start_days + days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA384())  # type: ignore[arg-type]
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_each_bad_import_is_refused_with_its_code_and_no_side_effect(
    api: ApiClient, aws: Aws, tmp_path: Path, clock: Clock
) -> None:
    root, root_id = _anchor(api, tmp_path, clock)
    pending = _pending(api, root_id)
    csr_pem = _csr(api, pending["id"])
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    stranger = make_root(other_dir, subject="/CN=Stranger Root")
    tight_dir = tmp_path / "tight"
    tight_dir.mkdir()
    wrong_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    cases: dict[str, list[dict[str, str]]] = {
        "KeyMismatch": [{"certificatePem": _signed_by_root(root, wrong_key, csr.subject, days=30)}],
        "SubjectMismatch": [
            {"certificatePem": _signed_by_root(root, csr.public_key(), x509.Name([]), days=30)},
        ],
        "ChainDoesNotLink": [
            {"certificatePem": sign_csr(stranger, csr_pem, "stranger"), "chainPem": stranger.pem},
            {"certificatePem": sign_csr(stranger, csr_pem, "stranger2")},
            {"certificatePem": sign_csr(root, csr_pem, "good"), "chainPem": stranger.pem},
        ],
        "NotACertificateAuthority": [
            {
                "certificatePem": sign_csr(
                    root,
                    csr_pem,
                    "notca",
                    extensions=("basicConstraints = critical, CA:FALSE", "keyUsage = critical, digitalSignature"),
                )
            }
        ],
        "CertificateExpired": [
            {"certificatePem": _signed_by_root(root, csr.public_key(), csr.subject, days=30, start_days=2)},
        ],
        "ValidityExceedsIssuer": [{"certificatePem": sign_csr(root, csr_pem, "long", days=4000)}],
        "InvalidParameter": [{"certificatePem": "not a certificate"}],
    }
    # A root whose pathlen:0 allows no CA below it.
    tight = make_root(
        tight_dir,
        "tight",
        extensions=("basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    catch_up(clock)  # openssl dated its certificates after the test clock was read
    tight_id = api.post(
        CA, {"name": "tight", "configType": "ROOT_CA_MANAGED_EXTERNALLY", "certificatePem": tight.pem}
    ).body["id"]
    below_tight = _pending(api, tight_id, name="below-tight")
    path_case = sign_csr(tight, _csr(api, below_tight["id"]), "below-tight")
    catch_up(clock)  # openssl dated its certificates after the test clock was read

    before = aws.table_items()
    for code, bodies in cases.items():
        for body in bodies:
            answer = api.post(f"{CA}/{pending['id']}/actions/import-certificate", body)
            assert answer.body["code"] == code, (code, answer.body)
            assert answer.status == (422 if code == "ValidityExceedsIssuer" else 400), answer.body
    answer = api.post(f"{CA}/{below_tight['id']}/actions/import-certificate", {"certificatePem": path_case})
    assert (answer.status, answer.body["code"]) == (422, "PathLengthExceeded"), answer.body
    assert aws.table_items() == before
    assert api.get(f"{CA}/{pending['id']}").body["lifecycleState"] == "PENDING_ACTIVATION"

    # Only an external root may be the parent; only such a CA takes an imported certificate.
    internal = api.post(
        CA,
        {
            "name": "x",
            "configType": "SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA",
            "parentCertificateAuthorityId": pending["id"],
            "subject": SUBJECT,
        },
    )
    assert (internal.status, internal.body["code"]) == (400, "ParentNotExternalRoot")
    wrong_type = api.post(f"{CA}/{root_id}/actions/import-certificate", {"certificatePem": root.pem})
    assert (wrong_type.status, wrong_type.body["code"]) == (409, "NotExternallyIssued")


def test_a_pending_ca_can_be_abandoned_and_its_kms_key_goes_with_it(
    api: ApiClient, aws: Aws, tmp_path: Path, clock: Clock, container: bootstrap.Container
) -> None:
    _, root_id = _anchor(api, tmp_path, clock)
    pending = _pending(api, root_id)
    path = f"{CA}/{pending['id']}/actions"
    assert api.post(f"{path}/schedule-deletion", {}).body["lifecycleState"] == "PENDING_DELETION"
    assert api.post(f"{path}/cancel-deletion").body["lifecycleState"] == "PENDING_ACTIVATION"
    assert api.post(f"{path}/schedule-deletion", {}).status == 200
    clock.advance(days=31)
    container.deletion.run()
    assert api.get(f"{CA}/{pending['id']}").status == 404
    key = aws.session.client("kms").describe_key(KeyId=pending["kmsKeyId"])["KeyMetadata"]["KeyState"]
    assert key == "PendingDeletion"


def test_an_import_is_refused_once_the_ca_is_retired_and_its_root_cannot_be_retired_meanwhile(
    api: ApiClient, aws: Aws, tmp_path: Path, clock: Clock
) -> None:
    """The CSR is out; the answer arrives after the CA was scheduled for deletion: refused (409), nothing changes.
    The outside root it chains to cannot be retired while the CA waits (a root is not revoked here, and one with
    a live subordinate is not deleted), so the anchor an import checks against is ACTIVE."""
    root, root_id = _anchor(api, tmp_path, clock)
    pending = _pending(api, root_id)
    signed = sign_csr(root, _csr(api, pending["id"]), "late")
    catch_up(clock)
    assert api.post(f"{CA}/{root_id}/actions/schedule-deletion", {}).body["code"] == "CertificateAuthorityInUse"
    assert api.post(f"{CA}/{root_id}/versions/1/actions/revoke", {}).body["code"] == "CannotRevokeRoot"

    assert api.post(f"{CA}/{pending['id']}/actions/schedule-deletion", {}).status == 200
    before = {(i["pk"]["S"], i["sk"]["S"]) for i in aws.table_items()}
    refused = api.post(f"{CA}/{pending['id']}/actions/import-certificate", {"certificatePem": signed})
    assert (refused.status, refused.body["code"]) == (409, "CertificateAuthorityNotActive"), refused.body
    added = {(i["pk"]["S"], i["sk"]["S"]) for i in aws.table_items()} - before
    assert all(pk.startswith("AUDIT#") for pk, _ in added), added  # at most the refusal on the record
    shown = api.get(f"{CA}/{pending['id']}").body
    assert (shown["lifecycleState"], shown.get("currentVersion")) == ("PENDING_DELETION", None)

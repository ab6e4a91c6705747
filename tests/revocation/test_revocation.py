"""Revocation on the embedded AWS: refused input writes nothing, events from the stream, CDP/AIA and partitions
(the service behaviour runs on the fakes: tests/services/test_revocation.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from certwright import bootstrap
from certwright.services.context import Runtime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body, sub_ca_body
from tests.lifecycle.table_stream import TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"


def _issue(api: ApiClient, issuer_id: str, **overrides: Any) -> dict[str, Any]:
    created = api.post("/certificates", leaf_body(issuer_id, **overrides))
    assert created.status == 201, created.body
    return created.body


def _revoke(api: ApiClient, certificate_id: str, number: int, reason: str | None = None) -> Any:
    body = {} if reason is None else {"revocationReason": reason}
    return api.post(f"/certificates/{certificate_id}/versions/{number}/actions/revoke", body)


def _revoked_serials(container: bootstrap.Container, ca_id: str) -> set[str]:
    return {e.serial_number for e in container.store.revoked_entries(ca_id)}


def _csr(key: ec.EllipticCurvePrivateKey, name: str = "csr.example.com") -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("CA_COMPROMISE", "InvalidRevocationReason"),  # a CA's reason, not a leaf's
        ("AA_COMPROMISE", "InvalidRevocationReason"),
        ("CERTIFICATE_HOLD", "InvalidRevocationReason"),  # holds are not offered: revocation is final
        ("keyCompromise", "InvalidRevocationReason"),
        ("", "InvalidRevocationReason"),
    ],
)
def test_a_reason_that_does_not_fit_is_refused_and_nothing_is_written(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, reason: str, code: str
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    before = len(aws.table_items())
    answer = _revoke(api, certificate["id"], 1, reason)
    assert (answer.status, answer.body["code"]) == (400, code)
    assert len(aws.table_items()) == before


def _self_signed_import() -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Outside CA")])
    now = datetime.now(UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outside.example.com")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("outside.example.com")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return {
        "name": "outside",
        "configType": "IMPORTED",
        "certificatePem": leaf.public_bytes(pem).decode(),
        "certChainPem": ca.public_bytes(pem).decode(),
        "privateKeyPem": key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    }


def test_revocations_become_one_event_each_from_the_stream(api: ApiClient, hierarchy: Hierarchy, aws: Aws) -> None:
    stream = TableStream(aws)
    certificate = _issue(api, hierarchy.issuing["id"])
    stream.skip()
    assert _revoke(api, certificate["id"], 1, "SUPERSEDED").status == 200
    assert api.post(f"/certificate-authorities/{hierarchy.issuing['id']}/versions/1/actions/revoke", {}).status == 200
    events = [e for r in stream.read() for e in r.events()]
    kinds = [e.detail_type for e in events]
    assert kinds.count("CertificateVersionRevoked") == 1
    assert kinds.count("CertificateAuthorityVersionRevoked") == 1
    revoked = next(e for e in events if e.detail_type == "CertificateVersionRevoked")
    detail = revoked.to_detail()
    assert detail["issuer_ca_id"] == hierarchy.issuing["id"] and detail["reason"] == "SUPERSEDED"
    ca_revoked = next(e for e in events if e.detail_type == "CertificateAuthorityVersionRevoked").to_detail()
    assert ca_revoked["issuer_ca_id"] == hierarchy.root["id"]


def test_issued_certificates_name_their_crl_partition_and_issuer_url(aws: Aws, clock: Clock) -> None:
    settings = replace(aws.settings, pki_base_url="http://pki.test/certwright-pki", crl_partition_size=2)
    container = bootstrap.build(settings, session=aws.session, runtime=Runtime(clock=clock))
    bootstrap.install(container)
    try:
        from tests.conftest import root_ca_body

        api = ApiClient()
        root = api.post("/certificate-authorities", root_ca_body()).body
        issuing = api.post("/certificate-authorities", sub_ca_body(root["id"])).body
        leaves = [_issue(api, issuing["id"], name=f"web-{n}") for n in range(3)]
    finally:
        bootstrap.install(None)

    def urls(pem: str) -> tuple[list[str], list[str]]:
        cert = x509.load_pem_x509_certificate(pem.encode())
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        return (
            [str(n.value) for p in points for n in (p.full_name or [])],
            [
                str(a.access_location.value)
                for a in access
                if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS
            ],
        )

    base = "http://pki.test/certwright-pki"
    pems = [container.store.get_version(leaf["id"], 1).certificate_pem for leaf in leaves]  # type: ignore[union-attr]
    assert [urls(p)[0] for p in pems] == [
        [f"{base}/crl/{issuing['id']}/0.crl"],
        [f"{base}/crl/{issuing['id']}/0.crl"],
        [f"{base}/crl/{issuing['id']}/1.crl"],
    ]
    assert urls(pems[0])[1] == [f"{base}/ca/{issuing['id']}.cer"]
    sub = container.store.get_authority(issuing["id"])
    assert sub is not None and sub.current_version is not None
    assert urls(sub.current_version.certificate_pem) == (
        [f"{base}/crl/{root['id']}/0.crl"],
        [f"{base}/ca/{root['id']}.cer"],
    )
    assert [v.crl_partition for v in (container.store.get_version(leaf["id"], 1) for leaf in leaves) if v] == [0, 0, 1]

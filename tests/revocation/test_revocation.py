"""Revocation through the API: reasons, state rules, the revoked list, compromised keys, replacement, CDP/AIA."""

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
from tests.consenting import consent
from tests.lifecycle.table_stream import TableStream

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


def test_a_revoked_version_is_listed_for_its_issuer_with_its_reason_and_audited(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    answer = _revoke(api, certificate["id"], 1, "SUPERSEDED")
    assert answer.status == 200, answer.body
    assert answer.body["revocationStatus"]["revocationReason"] == "SUPERSEDED"
    assert answer.body["replacement"] is None  # nothing uses it

    (entry,) = container.store.revoked_entries(hierarchy.issuing["id"])
    assert entry.serial_number == certificate["currentVersion"]["serialNumber"]
    assert entry.reason.value == "SUPERSEDED" and entry.resource_id == certificate["id"]
    version = api.get(f"/certificates/{certificate['id']}/versions/1").body
    assert version["revocationStatus"]["revocationReason"] == "SUPERSEDED"
    actions = [r.action for r in container.store.list_for(certificate["id"], 10)]
    assert "RevokeCertificateVersion" in actions


def test_revoking_twice_is_a_conflict_and_adds_nothing(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    assert _revoke(api, certificate["id"], 1).status == 200
    again = _revoke(api, certificate["id"], 1, "KEY_COMPROMISE")
    assert (again.status, again.body["code"]) == (409, "AlreadyRevoked")
    (entry,) = container.store.revoked_entries(hierarchy.issuing["id"])
    assert entry.reason.value == "UNSPECIFIED"


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


def test_unknown_fields_versions_and_certificates_are_refused(api: ApiClient, hierarchy: Hierarchy) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    extra = api.post(f"/certificates/{certificate['id']}/versions/1/actions/revoke", {"reason": "SUPERSEDED"})
    assert (extra.status, extra.body["code"]) == (400, "UnknownField")
    assert _revoke(api, certificate["id"], 2).status == 404
    assert _revoke(api, "cert-nope", 1).status == 404
    assert _revoke(api, certificate["id"], 0).status == 400


def test_an_imported_certificate_cannot_be_revoked_here(api: ApiClient) -> None:
    created = api.post("/certificates", _self_signed_import())
    assert created.status == 201, created.body
    answer = _revoke(api, created.body["id"], 1)
    assert (answer.status, answer.body["code"]) == (409, "RevocationNotSupported")


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


def test_a_key_revoked_for_key_compromise_is_refused_in_later_csrs(api: ApiClient, hierarchy: Hierarchy) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    body = leaf_body(
        hierarchy.issuing["id"],
        configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        csrPem=_csr(key),
        subject={"commonName": "csr.example.com"},
        subjectAlternativeNames=[],
    )
    body.pop("keyAlgorithm")
    created = api.post("/certificates", body)
    assert created.status == 201, created.body
    assert _revoke(api, created.body["id"], 1, "KEY_COMPROMISE").status == 200

    renewal = api.post(f"/certificates/{created.body['id']}/versions", {"csrPem": _csr(key)})
    assert (renewal.status, renewal.body["code"]) == (422, "KeyCompromised")
    other = api.post("/certificates", {**body, "name": "again"})
    assert (other.status, other.body["code"]) == (422, "KeyCompromised")
    fresh = api.post(
        f"/certificates/{created.body['id']}/versions", {"csrPem": _csr(ec.generate_private_key(ec.SECP256R1()))}
    )
    assert fresh.status == 201, fresh.body


def test_revoking_the_current_version_of_a_certificate_in_use_issues_a_replacement(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    consent(None, HOST_ROLE, certificate["id"])
    association = api.post("/associations", {"certificateId": certificate["id"], "associatedResourceId": HOST_ROLE})
    assert association.status == 201, association.body

    answer = _revoke(api, certificate["id"], 1, "KEY_COMPROMISE")
    assert answer.status == 200, answer.body
    assert answer.body["replacement"]["state"] == "CREATED"
    assert answer.body["replacement"]["versionNumber"] == 2
    now = api.get(f"/certificates/{certificate['id']}").body
    assert now["currentVersion"]["versionNumber"] == 2
    assert now["currentVersion"]["serialNumber"] != certificate["currentVersion"]["serialNumber"]
    # The revoked version keeps its history and can never come back.
    old = api.get(f"/certificates/{certificate['id']}/versions/1").body
    assert old["stages"] == ["PREVIOUS"] and old["revocationStatus"]["revocationReason"] == "KEY_COMPROMISE"
    back = api.post(f"/certificates/{certificate['id']}/versions/1/actions/promote")
    assert (back.status, back.body["code"]) == (409, "VersionRevoked")


def test_a_csr_managed_certificate_in_use_is_told_to_send_a_new_csr(api: ApiClient, hierarchy: Hierarchy) -> None:
    body = leaf_body(
        hierarchy.issuing["id"],
        configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        csrPem=_csr(ec.generate_private_key(ec.SECP256R1())),
        subject={"commonName": "csr.example.com"},
        subjectAlternativeNames=[],
    )
    body.pop("keyAlgorithm")
    created = api.post("/certificates", body).body
    assert api.post("/associations", {"certificateId": created["id"], "associatedResourceId": HOST_ROLE}).status == 201
    answer = _revoke(api, created["id"], 1)
    assert answer.body["replacement"]["state"] == "NEEDS_CSR"
    assert "/versions" in answer.body["replacement"]["message"]


def test_cessation_of_operation_retires_the_certificate(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(
        api, hierarchy.issuing["id"], renewalRule={"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
    )
    answer = _revoke(api, certificate["id"], 1, "CESSATION_OF_OPERATION")
    assert answer.status == 200
    renewal = api.post(f"/certificates/{certificate['id']}/versions", {})
    assert (renewal.status, renewal.body["code"]) == (409, "CertificateRevoked")
    stored = container.store.get_certificate(certificate["id"])
    assert stored is not None and not stored.renews_itself and stored.next_check_at is None


def test_a_revoked_previous_version_does_not_touch_the_current_one(api: ApiClient, hierarchy: Hierarchy) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    assert api.post(f"/certificates/{certificate['id']}/versions", {}).status == 201
    answer = _revoke(api, certificate["id"], 1, "CESSATION_OF_OPERATION")
    assert answer.status == 200 and answer.body["replacement"] is None
    # Retiring reasons only retire the certificate when its CURRENT version is revoked.
    assert api.post(f"/certificates/{certificate['id']}/versions", {}).status == 201


def test_a_revoked_subordinate_ca_issues_nothing_more(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    issuing = hierarchy.issuing
    answer = api.post(
        f"/certificate-authorities/{issuing['id']}/versions/1/actions/revoke", {"revocationReason": "CA_COMPROMISE"}
    )
    assert answer.status == 200, answer.body
    assert answer.body["currentVersion"]["revocationStatus"]["revocationReason"] == "CA_COMPROMISE"
    (entry,) = container.store.revoked_entries(hierarchy.root["id"])
    assert entry.serial_number == issuing["currentVersion"]["serialNumber"]
    refused = api.post("/certificates", leaf_body(issuing["id"]))
    assert (refused.status, refused.body["code"]) == (409, "CertificateAuthorityRevoked")
    below = api.post("/certificate-authorities", sub_ca_body(issuing["id"], name="below"))
    assert (below.status, below.body["code"]) == (409, "CertificateAuthorityRevoked")


def test_a_root_cannot_be_revoked_and_ca_reasons_are_checked(api: ApiClient, hierarchy: Hierarchy) -> None:
    root = api.post(f"/certificate-authorities/{hierarchy.root['id']}/versions/1/actions/revoke", {})
    assert (root.status, root.body["code"]) == (409, "CannotRevokeRoot")
    odd = api.post(
        f"/certificate-authorities/{hierarchy.issuing['id']}/versions/1/actions/revoke",
        {"revocationReason": "AFFILIATION_CHANGED"},
    )
    assert (odd.status, odd.body["code"]) == (400, "InvalidRevocationReason")
    missing = api.post(f"/certificate-authorities/{hierarchy.issuing['id']}/versions/2/actions/revoke", {})
    assert missing.status == 404


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


def test_revoking_a_renewed_subordinate_revokes_every_version_that_still_vouches_for_its_key(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    issuing = hierarchy.issuing
    assert api.post(f"/certificate-authorities/{issuing['id']}/versions", {}).status == 201
    answer = api.post(
        f"/certificate-authorities/{issuing['id']}/versions/2/actions/revoke", {"revocationReason": "KEY_COMPROMISE"}
    )
    assert answer.status == 200, answer.body
    versions = api.get(f"/certificate-authorities/{issuing['id']}/versions").body["items"]
    assert [v["revocationStatus"]["revocationReason"] for v in versions] == ["KEY_COMPROMISE", "KEY_COMPROMISE"]
    listed = {e.serial_number for e in container.store.revoked_entries(hierarchy.root["id"])}
    assert listed == {v["serialNumber"] for v in versions}
